"""A step scorer learned from labelled transcripts (``auditor train``), stored with skops and a model card.

The file is loaded with skops and an explicit list of trusted types, never with pickle, so a model file from
an untrusted place cannot run code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from auditor.detection.pair_features import FEATURE_NAMES, SECOND_FEATURE_NAMES, PairFeatures, second_encoder_columns
from auditor.embeddings.base import Embedder
from auditor.model_files import STEP_SCORER, ModelFileError, ModelFolder, SingleLinearModel

TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._polynomial.PolynomialFeatures",
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
    second_encoder: str | None = None
    """The second encoder whose similarities the model also reads (``SECOND_FEATURE_NAMES``), or None."""


def expected_features(second_encoder: str | None) -> list[str]:
    """The feature columns a scorer trained with (or without) a second encoder reads, in order."""
    return list(FEATURE_NAMES) + (list(SECOND_FEATURE_NAMES) if second_encoder else [])


class TrainedStepScorer(SingleLinearModel):
    """A fitted scikit-learn pipeline over pair features, with its thresholds."""

    name = "trained-step-scorer"
    version = "1"

    def __init__(
        self,
        estimator: Any,
        metadata: ScorerMetadata,
        *,
        folder: ModelFolder | None = None,
        second: Embedder | None = None,
    ):
        """``estimator``: a fitted pipeline; or None with ``folder``, the opened model folder it is read from when
        something needs it (scoring needs only the folded numbers). ``second``: the second encoder, for a model
        trained with one (``metadata.second_encoder``); None there makes one (``make_second_encoder``) when first
        needed."""
        expected = expected_features(metadata.second_encoder)
        if list(metadata.feature_names) != expected:
            raise ModelFileError(
                f"model was trained on features {metadata.feature_names}, this auditor computes {expected}"
            )
        super().__init__(estimator, folder=folder)
        self.metadata = metadata
        self._second = second
        if metadata.second_encoder:  # its own name: the uncertain band measured for USE-m alone is not its band
            self.name = f"{TrainedStepScorer.name}+{metadata.second_encoder}"

    @property
    def second(self) -> Embedder | None:
        """The second encoder the model reads, or None (USE-m alone)."""
        if self.metadata.second_encoder and self._second is None:
            from auditor.embeddings.provider import make_second_encoder

            self._second = make_second_encoder(self.metadata.second_encoder)
        return self._second

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
        second = f"; second encoder {self.metadata.second_encoder}" if self.metadata.second_encoder else ""
        return f"{self.metadata.trained_on}; created {self.metadata.created}{second}"

    def probabilities(self, features: PairFeatures) -> np.ndarray:
        second = self.second
        if second is None or not len(features.matrix):
            return self.positive_probabilities(features.matrix)
        return self.positive_probabilities(np.hstack([features.matrix, second_encoder_columns(features, second)]))

    def save(self, folder: Path, card: str) -> None:
        self.save_folder(folder, STEP_SCORER.files, asdict(self.metadata), card)

    @classmethod
    def load(cls, folder: Path, second: Embedder | None = None) -> TrainedStepScorer:
        """A folder of the ``STEP_SCORER`` kind (the best-mode one has the same files)."""
        opened = STEP_SCORER.open(folder, TRUSTED_TYPES)
        return cls(None, ScorerMetadata(**opened.metadata), folder=opened, second=second)
