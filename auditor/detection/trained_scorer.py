"""A step scorer learned from labelled transcripts (``auditor train``), stored with skops and a model card.

The file is loaded with skops and an explicit list of trusted types, never with pickle, so a model file from
an untrusted place cannot run code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from auditor.detection.pair_features import FEATURE_NAMES, PairFeatures
from auditor.model_files import FoldedLogistic, ModelFileError, ModelFolder, import_skops_io, write_folded

MODEL_FILE = "step_scorer.skops"
CARD_FILE = "model_card.md"
METADATA_FILE = "metadata.json"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "step-scorer"

TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
]
"""Everything a step-scorer file may contain besides plain numpy and builtins; anything else is refused."""


@dataclass
class ScorerMetadata:
    """What a trained scorer needs at run time, and what it was trained and measured on."""

    embedder: str
    description_offset: float
    threshold: float
    done_threshold: float
    feature_names: list[str]
    trained_on: str
    created: str
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


class TrainedStepScorer:
    """A fitted scikit-learn pipeline over pair features, with its thresholds."""

    name = "trained-step-scorer"
    version = "1"

    def __init__(self, estimator: Any, metadata: ScorerMetadata, *, folder: ModelFolder | None = None):
        """``estimator``: a fitted pipeline; or None with ``folder``, the opened model folder it is read from when
        something needs it (scoring needs only the folded numbers)."""
        if list(metadata.feature_names) != list(FEATURE_NAMES):
            raise ModelFileError(
                f"model was trained on features {metadata.feature_names}, this auditor computes {list(FEATURE_NAMES)}"
            )
        if estimator is None and folder is None:
            raise ValueError("a TrainedStepScorer needs an estimator or the model folder it comes from")
        self._estimator = estimator
        self._folder = folder
        # the same numbers as predict_proba, without sklearn's checks on every call
        self._linear = FoldedLogistic.of(estimator) if folder is None else folder.folded[ModelFolder.SINGLE]
        self.metadata = metadata

    @property
    def estimator(self) -> Any:
        if self._estimator is None and self._folder is not None:
            self._estimator = self._folder.estimator
        return self._estimator

    @property
    def description_offset(self) -> float:
        return self.metadata.description_offset

    @property
    def threshold(self) -> float:
        return self.metadata.threshold

    @property
    def done_threshold(self) -> float:
        return self.metadata.done_threshold

    @property
    def summary(self) -> str:
        return f"{self.metadata.trained_on}; created {self.metadata.created}"

    def probabilities(self, features: PairFeatures) -> np.ndarray:
        if self._linear is not None:
            return self._linear.probabilities(features.matrix)
        return np.asarray(self.estimator.predict_proba(features.matrix)[:, 1])

    def save(self, folder: Path, card: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        import_skops_io().dump(self.estimator, folder / MODEL_FILE)
        write_folded(folder / MODEL_FILE, {ModelFolder.SINGLE: FoldedLogistic.of(self.estimator)})
        (folder / METADATA_FILE).write_text(json.dumps(asdict(self.metadata), indent=2) + "\n", encoding="utf-8")
        (folder / CARD_FILE).write_text(card, encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TrainedStepScorer:
        opened = ModelFolder(folder, MODEL_FILE, METADATA_FILE, TRUSTED_TYPES, "`auditor train`")
        return cls(None, ScorerMetadata(**opened.metadata), folder=opened)
