"""A learned check beside the act cues: P(an agent turn only talks about an action instead of doing it).

Cue words miss mentions with no cue ("Some customers set up alerts in the app", "Refunds usually take a week") and
promises phrased as plans. This binary logistic regression over the turn's embedding, trained on the project's act
corpus (``corpora/acts/``, other service domains than the built-in SOPs), flags such turns; the act check then
leaves the step ``uncertain`` with the model's probability as the reason. Stored like the other models: a skops file
with an explicit list of trusted types, its folded numbers beside it, metadata and a model card
(``python -m bench.act_model --write`` trains and measures it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from auditor.model_files import ACT_MODEL, ModelFolder, SingleLinearModel

TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
]
"""Everything an act-model file may contain besides plain numpy and builtins; anything else is refused."""

PERFORMING = frozenset({"performed"})
"""Corpus labels of turns that do the action; every other label only talks about it."""


@dataclass
class ActModelMetadata:
    embedder: str
    threshold: float
    """A turn the cues read as a plain performance is left uncertain from this probability up."""
    trained_on: str
    created: str
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


class ActModel(SingleLinearModel):
    """P(the turn only talks about the action) from its unit vector."""

    name = "act-model"
    version = "1"

    def __init__(self, estimator: Any, metadata: ActModelMetadata, *, folder: ModelFolder | None = None):
        super().__init__(estimator, folder=folder)
        self.metadata = metadata

    @property
    def threshold(self) -> float:
        return self.metadata.threshold

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """P(talks about it, does not do it) for each row of unit vectors."""
        if not len(vectors):
            return np.zeros(0)
        return self.positive_probabilities(vectors)

    def save(self, folder: Path, card: str) -> None:
        self.save_folder(folder, ACT_MODEL.files, asdict(self.metadata), card)

    @classmethod
    def load(cls, folder: Path | None = None) -> ActModel:
        """A folder of the ``ACT_MODEL`` kind (None: the shipped one)."""
        opened = ACT_MODEL.open(folder if folder is not None else ACT_MODEL.folder(), TRUSTED_TYPES)
        return cls(None, ActModelMetadata(**opened.metadata), folder=opened)


def fit_act_model(
    vectors: np.ndarray, labels: list[str], *, embedder: str, threshold: float, trained_on: str, created: str
) -> ActModel:
    """A scaled, L2-regularised logistic regression of 'talks about it' (every label but performed)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    target = np.asarray([label not in PERFORMING for label in labels], dtype=int)
    estimator = Pipeline(
        [("scale", StandardScaler()), ("classify", LogisticRegression(C=0.05, max_iter=2000, class_weight="balanced"))]
    )
    estimator.fit(vectors, target)
    return ActModel(estimator, ActModelMetadata(embedder, threshold, trained_on, created))


def load_act_model(embedder_name: str, folder: Path | None = None) -> ActModel | None:
    """The act model in ``folder`` (None: the shipped one, ``ACT_MODEL.required()``) when it was trained with this
    embedder; None when it was trained with another (the cues still apply). A missing or unusable folder raises
    ModelFileError."""
    folder = folder if folder is not None else ACT_MODEL.required()
    model_path = folder / ACT_MODEL.model_file
    model = _load_cached(folder.resolve(), model_path.stat().st_mtime if model_path.exists() else 0.0)
    return model if model.metadata.embedder == embedder_name else None


_CACHE: dict[tuple[Path, float], ActModel] = {}


def _load_cached(folder: Path, modified: float) -> ActModel:
    key = (folder, modified)
    if key not in _CACHE:
        _CACHE[key] = ActModel.load(folder)
    return _CACHE[key]
