"""What a long-running process holds: the models loaded once and one Auditor per SOP it may audit against.

The HTTP API builds one of these in its lifespan; the command line builds the same models through
``load_models`` so both audit identically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.anomaly.detector import AnomalyDetector, load_default_detector
from auditor.checklist.verdicts import UncertainBand
from auditor.detection.calibration import StepScorer
from auditor.detection.scorers import choose_scorer
from auditor.dissatisfaction.model import DEFAULT_MODEL_DIR, DissatisfactionModelError, DissatisfactionScorer
from auditor.embeddings.base import Embedder
from auditor.embeddings.provider import make_embedder
from auditor.engine import Auditor
from auditor.privacy.policy import RedactionPolicy
from auditor.privacy.redaction import redact_echoed
from auditor.sop.loading import SopError, builtin_sop_paths, load_sop
from auditor.sop.schema import Sop
from auditor.text.pipelines import TextPipelines


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
) -> SharedModels:
    """Load the embedder, the step scorer and the shipped dissatisfaction and anomaly models.

    A missing embedder or step model raises (ModelUnavailableError / ModelFileError, naming what to install or
    train); an unusable optional model is left out with a note, and the audit goes on without that block.
    ``threads`` is the embedder's own parallelism: 2 for batches, 1 for a service encoding a turn at a time
    (measured on 2 cores: one sentence p50 2.1 ms with 1 thread, 14 ms with 2 when the cores are busy).
    ``redaction``: the personal data hidden in results (None: the default policy). ``band``: the uncertain band
    (None: the one measured for the embedder and scorer, ``auditor/checklist/uncertain_bands.json``).
    """
    embedding = make_embedder(embedder, threads=threads)
    models = SharedModels(embedder=embedding, scorer=choose_scorer(embedding.name, step_model))
    if redaction is not None:
        models.redaction = redaction
    models.band = band
    if DEFAULT_MODEL_DIR.exists():
        try:
            scorer = DissatisfactionScorer.load(DEFAULT_MODEL_DIR)
            scorer.check_embedder(embedding.name)
            models.dissatisfaction = scorer
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
