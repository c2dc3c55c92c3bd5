"""Model folders on disk: a skops file plus metadata.json, loaded without pickle and only with trusted types.

Also the shipped linear models applied as plain numpy (:class:`FoldedLogistic`): scikit-learn checks its inputs on
every call, which costs more than the arithmetic when one conversation or one turn is scored at a time. Their folded
numbers are also kept beside the skops file (``<model file>.folded.json``, tied to the skops file by its SHA-256),
so a process that only scores (every batch worker, the API) loads a few numbers instead of importing scikit-learn
and skops (about a second of start-up each); the estimators themselves are read from the skops file on first use
(:class:`ModelFolder`).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from auditor.resources import MODELS_DIR

_SKIPPED_SHIMS = ("sklearn.externals.array_api_compat.torch", "sklearn.externals.array_api_compat.dask")


class ModelFileError(RuntimeError):
    """A model folder is missing, incomplete, or holds types that are not trusted."""


MODELS_DIR_ENV = "AUDITOR_MODELS_DIR"
"""The environment variable (``AuditorSettings.models_dir``) naming another folder of models."""


@dataclass(frozen=True)
class ModelKind:
    """One kind of model folder: where it sits under the models folder, its files, how it is made and loaded.

    Every shipped kind is in ``MODEL_KINDS``; the loaders take their file names from here, and the folder from
    ``folder(models_dir)``, ``models_dir`` being ``AuditorSettings.models_dir`` (None: the shipped package data).
    """

    name: str
    folder_name: str
    """Its folder under the models folder."""
    model_file: str
    made_by: str
    """What writes such a folder (named in errors)."""
    loaded_by: str
    """What reads it."""
    metadata_file: str = "metadata.json"
    card_file: str = "model_card.md"

    @property
    def files(self) -> tuple[str, str, str]:
        """(model, metadata, card): what ``SingleLinearModel.save_folder`` writes."""
        return self.model_file, self.metadata_file, self.card_file

    def folder(self, models_dir: Path | None = None) -> Path:
        """This kind's folder under ``models_dir`` (None: the shipped models, ``auditor/models``)."""
        return Path(models_dir if models_dir is not None else MODELS_DIR) / self.folder_name

    def present(self, folder: Path) -> bool:
        return (folder / self.model_file).is_file() and (folder / self.metadata_file).is_file()

    def required(self, models_dir: Path | None = None) -> Path:
        """This kind's folder under ``models_dir``, which must hold its model and metadata files; else a
        ModelFileError naming the path and how to fix it (never a silent fallback)."""
        folder = self.folder(models_dir)
        if not self.present(folder):
            fix = (
                f"reinstall sop-auditor (its wheel ships models/{self.folder_name}/) or set {MODELS_DIR_ENV} to a "
                f"folder holding {self.folder_name}/"
                if models_dir is None
                else f"put {self.folder_name}/ in that models folder ({MODELS_DIR_ENV}, --models-dir) or unset it "
                "for the shipped ones"
            )
            raise ModelFileError(
                f"no {self.name} model at {folder} (expected {self.model_file} and {self.metadata_file}): {fix}; "
                f"one is made by {self.made_by}"
            )
        return folder

    def open(self, folder: Path, trusted: Sequence[str], names: Sequence[str] | None = None) -> ModelFolder:
        """The folder opened for scoring (``ModelFolder``)."""
        return ModelFolder(folder, self.model_file, self.metadata_file, trusted, self.made_by, names=names)

    def load(self, folder: Path, trusted: Sequence[str]) -> tuple[Any, dict[str, Any]]:
        """The estimator(s) and metadata (``load_model_folder``)."""
        return load_model_folder(folder, self.model_file, self.metadata_file, trusted, self.made_by)


STEP_SCORER = ModelKind(
    "step-scorer", "step-scorer", "step_scorer.skops", "`auditor train`", "auditor.detection.scorers.choose_scorer"
)
STEP_SCORER_BEST = ModelKind(
    "step-scorer-best",
    "step-scorer-best",
    "step_scorer.skops",
    "`auditor train --second-encoder`",
    "auditor.service.load_models (accuracy best)",
)
ACT_MODEL = ModelKind(
    "act-model",
    "act-model",
    "act_model.skops",
    "`python -m bench.act_model --write`",
    "auditor.detection.act_model.load_act_model",
)
ANOMALY = ModelKind(
    "anomaly",
    "anomaly",
    "anomaly_detector.skops",
    "fit_anomaly_detector / auditor train-anomaly",
    "auditor.anomaly.detector.load_default_detector",
)
DISSATISFACTION = ModelKind(
    "dissatisfaction",
    "dissatisfaction",
    "dissatisfaction.skops",
    "auditor train-dissatisfaction",
    "auditor.dissatisfaction.model.DissatisfactionScorer.load",
)
MODEL_KINDS = (STEP_SCORER, STEP_SCORER_BEST, ACT_MODEL, ANOMALY, DISSATISFACTION)
"""Every kind of model the auditor ships (``auditor/models/<folder_name>``)."""


def load_model_folder(
    folder: Path, model_file: str, metadata_file: str, trusted: Sequence[str], made_by: str
) -> tuple[Any, dict[str, Any]]:
    """The estimator(s) and the metadata of a model folder; any type in the file outside ``trusted`` is refused.

    skops lists the types it would need to trust; they are checked against the caller's explicit list (kept next
    to the model card), so a model file handed over by someone else cannot run code on load.
    """
    skops_io = import_skops_io()
    model_path, metadata_path = Path(folder) / model_file, Path(folder) / metadata_file
    if not model_path.exists() or not metadata_path.exists():
        raise ModelFileError(f"{folder}: expected {model_file} and {metadata_file} (made by {made_by})")
    untrusted = [name for name in skops_io.get_untrusted_types(file=model_path) if name not in trusted]
    if untrusted:
        raise ModelFileError(f"{model_path}: refusing to load untrusted types {untrusted}")
    estimator = skops_io.load(model_path, trusted=list(trusted))
    return estimator, json.loads(metadata_path.read_text(encoding="utf-8"))


FOLDED_SUFFIX = ".folded.json"
FOLDED_FORMAT = 1


class ModelFolder:
    """A model folder opened for scoring: its metadata, its linear models folded to numpy, and the estimator(s)
    read from the skops file (with the trusted-type check) only when something asks for them.

    ``names`` are the keys of the mapping of estimators the skops file holds; ``None`` when it holds a single
    estimator (whose folded model is then ``folded[SINGLE]``). A folded model is None when the estimator is not a
    logistic regression that folds.
    """

    SINGLE = "model"

    def __init__(
        self,
        folder: Path,
        model_file: str,
        metadata_file: str,
        trusted: Sequence[str],
        made_by: str,
        names: Sequence[str] | None = None,
    ):
        self.folder = Path(folder)
        self.model_path = self.folder / model_file
        self._metadata_file, self._trusted, self._made_by = metadata_file, list(trusted), made_by
        self._estimator: Any = None
        self._loaded = False
        keys = list(names) if names is not None else [self.SINGLE]
        metadata_path = self.folder / metadata_file
        if not self.model_path.exists() or not metadata_path.exists():
            raise ModelFileError(f"{folder}: expected {model_file} and {metadata_file} (made by {made_by})")
        folded = read_folded(self.model_path, keys)
        if folded is None:
            estimator, self.metadata = self._load()
            estimators = estimator if names is not None else {self.SINGLE: estimator}
            if not isinstance(estimators, Mapping):
                raise ModelFileError(f"{self.model_path}: expected a mapping of estimators")
            self.folded: dict[str, FoldedLogistic | None] = {
                key: FoldedLogistic.of(estimators[key]) if key in estimators else None for key in keys
            }
        else:
            self.metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
            self.folded = dict(folded)

    @property
    def estimator(self) -> Any:
        """What the skops file holds (an estimator, or a mapping of them), loaded on first use."""
        if not self._loaded:
            self._estimator, _ = self._load()
        return self._estimator

    def _load(self) -> tuple[Any, dict[str, Any]]:
        estimator, metadata = load_model_folder(
            self.folder, self.model_path.name, self._metadata_file, self._trusted, self._made_by
        )
        self._estimator, self._loaded = estimator, True
        return estimator, metadata


def folded_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + FOLDED_SUFFIX)


def write_folded(model_path: Path, models: Mapping[str, FoldedLogistic | None]) -> None:
    """Keep the folded numbers of the models in ``model_path`` beside it; none when one of them does not fold."""
    target = folded_path(model_path)
    if any(model is None for model in models.values()):
        target.unlink(missing_ok=True)
        return
    payload = {
        "format": FOLDED_FORMAT,
        "model_file": model_path.name,
        "model_sha256": _sha256(model_path),
        "models": {
            name: {"weights": model.weights.tolist(), "bias": model.bias}
            for name, model in models.items()
            if model is not None
        },
    }
    target.write_text(json.dumps(payload) + "\n", encoding="utf-8")


def read_folded(model_path: Path, names: Sequence[str]) -> dict[str, FoldedLogistic | None] | None:
    """The folded models kept beside ``model_path``, or None when there are none, they were made from another
    file (the skops file changed since), or the file is not what ``write_folded`` writes."""
    path = folded_path(model_path)
    if not path.exists():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("format") != FOLDED_FORMAT or payload.get("model_sha256") != _sha256(model_path):
            return None
        models = payload["models"]
        folded: dict[str, FoldedLogistic | None] = {}
        for name in names:
            weights, bias = models[name]["weights"], models[name]["bias"]
            numbers = [*weights, bias]
            if not weights or not all(_finite_number(x) for x in numbers):
                return None
            folded[name] = FoldedLogistic(np.asarray(weights, dtype=np.float64), float(bias))
        return folded
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_skops_io() -> types.ModuleType:
    """``skops.io``, imported without importing torch and dask.array on the way.

    On import skops lists scikit-learn's estimators (``sklearn.utils.all_estimators``), which imports every
    package under ``sklearn``, the array-API shims for torch and dask included; those import torch and dask.array
    (about 1.3 s of the 2.3 s import here, the largest part of a batch audit's start-up) though no model of the
    auditor uses them. While skops imports, the two shims are stand-in modules, so the walk does not enter them
    (it skips ``externals`` when listing estimators anyway: the trusted-type list comes out the same, a test
    checks it); afterwards they are removed, so anything that needs a shim later imports the real one.
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn  # noqa: F401  (the shims' parent packages must be real before the stand-ins go in)

    placed = {name: types.ModuleType(name) for name in _SKIPPED_SHIMS if name not in sys.modules}
    sys.modules.update(placed)
    try:
        import skops.io
    finally:
        for name, stand_in in placed.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
            parent = sys.modules.get(name.rpartition(".")[0])
            if parent is not None and getattr(parent, name.rpartition(".")[2], None) is stand_in:
                delattr(parent, name.rpartition(".")[2])
    return skops.io


class FoldedLogistic:
    """A binary logistic regression, optionally behind a StandardScaler, as one weight vector and a bias.

    ``probabilities(X)`` = sigmoid(((X - mean) / scale) @ coef + intercept), equal to ``predict_proba(X)[:, 1]``
    to rounding (about 1e-15; tests compare them). Build with :meth:`of`, which returns None for anything else.
    """

    def __init__(self, weights: np.ndarray, bias: float):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = float(bias)

    @classmethod
    def of(cls, estimator: Any) -> FoldedLogistic | None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        scaler, classifier = None, estimator
        if isinstance(estimator, Pipeline):
            if len(estimator.steps) != 2:
                return None
            scaler, classifier = estimator.steps[0][1], estimator.steps[1][1]
            if not isinstance(scaler, StandardScaler):
                return None
        if not isinstance(classifier, LogisticRegression) or classifier.coef_.shape[0] != 1:
            return None
        mean, scale = 0.0, 1.0
        if scaler is not None:
            mean = scaler.mean_ if scaler.with_mean and scaler.mean_ is not None else 0.0
            scale = scaler.scale_ if scaler.with_std and scaler.scale_ is not None else 1.0
        weights = classifier.coef_[0] / scale
        return cls(weights, float(classifier.intercept_[0] - np.sum(weights * mean)))

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-(np.asarray(matrix, dtype=np.float64) @ self.weights + self.bias))))


class SingleLinearModel:
    """A model of one fitted (scaled) logistic regression: scored through its folded numbers, its estimator read
    from the model folder only when something asks for it, saved as skops + folded numbers + metadata + card."""

    def __init__(self, estimator: Any, *, folder: ModelFolder | None = None):
        """``estimator``: a fitted pipeline; or None with ``folder``, the opened model folder it is read from."""
        if estimator is None and folder is None:
            raise ValueError(f"a {type(self).__name__} needs an estimator or the model folder it comes from")
        self._estimator = estimator
        self._folder = folder
        # the same numbers as predict_proba, without sklearn's checks on every call
        self._linear = FoldedLogistic.of(estimator) if folder is None else folder.folded[ModelFolder.SINGLE]

    @property
    def estimator(self) -> Any:
        if self._estimator is None and self._folder is not None:
            self._estimator = self._folder.estimator
        return self._estimator

    def positive_probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """P(class 1) for every row."""
        if self._linear is not None:
            return self._linear.probabilities(matrix)
        return np.asarray(self.estimator.predict_proba(matrix)[:, 1])

    def save_folder(
        self, folder: Path, files: tuple[str, str, str], metadata: Mapping[str, Any], card: str
    ) -> None:
        """Write ``files`` = (model, metadata, card) into ``folder``: skops, folded numbers, JSON, Markdown."""
        model_file, metadata_file, card_file = files
        folder.mkdir(parents=True, exist_ok=True)
        import_skops_io().dump(self.estimator, folder / model_file)
        write_folded(folder / model_file, {ModelFolder.SINGLE: FoldedLogistic.of(self.estimator)})
        (folder / metadata_file).write_text(json.dumps(dict(metadata), indent=2) + "\n", encoding="utf-8")
        (folder / card_file).write_text(card, encoding="utf-8")
