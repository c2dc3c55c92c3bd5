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
from auditor.model_files import ModelFileError, load_model_folder

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

    def __init__(self, estimator: Any, metadata: ScorerMetadata):
        if list(metadata.feature_names) != list(FEATURE_NAMES):
            raise ModelFileError(
                f"model was trained on features {metadata.feature_names}, this auditor computes {list(FEATURE_NAMES)}"
            )
        self.estimator = estimator
        self._linear = _folded_linear(estimator)
        self.metadata = metadata

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
        if self._linear is not None:  # the same numbers as predict_proba, without sklearn's per-call checks
            weights, bias = self._linear
            return np.asarray(1.0 / (1.0 + np.exp(-(features.matrix @ weights + bias))))
        return np.asarray(self.estimator.predict_proba(features.matrix)[:, 1])

    def save(self, folder: Path, card: str) -> None:
        import skops.io

        folder.mkdir(parents=True, exist_ok=True)
        skops.io.dump(self.estimator, folder / MODEL_FILE)
        (folder / METADATA_FILE).write_text(json.dumps(asdict(self.metadata), indent=2) + "\n", encoding="utf-8")
        (folder / CARD_FILE).write_text(card, encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TrainedStepScorer:
        estimator, metadata = load_model_folder(folder, MODEL_FILE, METADATA_FILE, TRUSTED_TYPES, "`auditor train`")
        return cls(estimator, ScorerMetadata(**metadata))


def _folded_linear(estimator: Any) -> tuple[np.ndarray, float] | None:
    """A binary scale -> logistic pipeline folded into one weight vector and bias, or None for anything else.

    sklearn checks its inputs on every call (about 1 ms); a live session scores after every turn, so the shipped
    pipeline is applied as plain numpy: sigmoid(((x - mean) / scale) @ coef + intercept).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if not isinstance(estimator, Pipeline) or len(estimator.steps) != 2:
        return None
    scaler, classifier = estimator.steps[0][1], estimator.steps[1][1]
    if not isinstance(scaler, StandardScaler) or not isinstance(classifier, LogisticRegression):
        return None
    if classifier.coef_.shape[0] != 1:
        return None
    mean = scaler.mean_ if scaler.with_mean and scaler.mean_ is not None else 0.0
    scale = scaler.scale_ if scaler.with_std and scaler.scale_ is not None else 1.0
    weights = classifier.coef_[0] / scale
    bias = float(classifier.intercept_[0] - np.sum(weights * mean))
    return np.asarray(weights, dtype=np.float64), bias
