"""The auditor: one SOP and one embedder, turning conversations into results (the data flow of DESIGN.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auditor.anomaly.attach import with_anomalies
from auditor.anomaly.detector import AnomalyDetector
from auditor.checklist.bands import band_for
from auditor.checklist.conditions import ConditionOutcome, builtin_conditions
from auditor.checklist.verdicts import ChecklistOutcome, UncertainBand, evaluate_checklist
from auditor.conversation import Conversation
from auditor.detection.act_model import ActModel, load_act_model
from auditor.detection.calibration import StepScorer
from auditor.detection.evidence_acts import ActCheck
from auditor.detection.hits import StepHit
from auditor.detection.hybrid import merge_hits
from auditor.detection.pair_features import PairFeatures, pair_features
from auditor.detection.phrase import PhraseDetector
from auditor.detection.registry import StepDetector, named_detectors
from auditor.detection.scorers import choose_scorer
from auditor.detection.semantic import SemanticDetector
from auditor.detection.sop_index import build_sop_index
from auditor.dissatisfaction.model import DissatisfactionOutcome, DissatisfactionScorer
from auditor.embeddings.base import Embedder
from auditor.privacy.policy import POLICY_KEY, RedactionPolicy
from auditor.result import ConversationResult
from auditor.sop_format import Sop
from auditor.text.artifacts import ArtifactBuilder, ConversationArtifacts
from auditor.text.pipelines import TextPipelines

DISSATISFIED_FLAG = "dissatisfied"


class Auditor:
    """Audits conversations against one SOP; build once, reuse for many conversations."""

    def __init__(
        self,
        sop: Sop,
        embedder: Embedder,
        *,
        pipelines: TextPipelines | None = None,
        scorer: StepScorer | None = None,
        anomaly_detector: AnomalyDetector | None = None,
        dissatisfaction: DissatisfactionScorer | None = None,
        redaction: RedactionPolicy | None = None,
        band: UncertainBand | None = None,
        act_model: ActModel | None = None,
        learned_acts: bool = True,
    ):
        """``band``: step probabilities left to a person (``uncertain``); None: the band measured for the
        embedder and scorer (``auditor/checklist/uncertain_bands.json``); ``act_model``: the learned act check
        (None: the shipped one when it was trained with this embedder; ``learned_acts=False``: the cues alone)."""
        self.sop = sop
        self.redaction = redaction if redaction is not None else RedactionPolicy()
        """Personal data hidden in the results (evidence text, passed-through metadata); on by default."""
        self.embedder = embedder
        self.pipelines = pipelines or TextPipelines()
        self.index = build_sop_index(sop, embedder)
        self.builder = ArtifactBuilder(embedder, self.pipelines)
        self.semantic = SemanticDetector(scorer or choose_scorer(embedder.name))
        chosen = self.semantic.scorer
        self.band = band or band_for(embedder.name, chosen.name, chosen.done_threshold)
        learned = act_model or (load_act_model(embedder.name) if learned_acts else None)
        self.acts = ActCheck(self.index, embedder, description_offset=chosen.description_offset, act_model=learned)
        self.phrase = PhraseDetector(self.pipelines)
        self.named_detectors = named_detectors(step.detector for step in sop.steps if step.detector)
        """The registry's detectors the SOP's steps name (``detector:``); each finds the steps that name it."""
        self.detectors: list[StepDetector] = [self.phrase, *self.named_detectors]
        """The step detectors, in the order their hits merge (the semantic scorer stage's after the keywords')."""
        self.conditions = builtin_conditions()
        if unknown := [name for name in self.needed_conditions if name not in self.conditions]:
            known = ", ".join(self.conditions)
            raise ValueError(f"no built-in condition {', '.join(map(repr, unknown))} (known: {known})")
        self.anomaly_detector = anomaly_detector
        if dissatisfaction is not None:
            dissatisfaction.check_embedder(embedder.name)
        self.dissatisfaction = dissatisfaction

    @property
    def models(self) -> dict[str, str]:
        """Names and versions of everything that shaped a result, so an audit can be reproduced."""
        scorer = self.semantic.scorer
        detectors = [(self.phrase.name, self.phrase.version), (self.semantic.name, self.semantic.version)]
        detectors += [(self.acts.name, self.acts.version)]
        if self.acts.act_model is not None:
            detectors += [(self.acts.act_model.name, self.acts.act_model.version)]
        detectors += [(d.name, d.version) for d in self.named_detectors]
        return (
            {
                "embedder": f"{self.embedder.name} ({self.embedder.version})",
                "detectors": ",".join(sorted({f"{name}@{version}" for name, version in detectors})),
                "step_scorer": f"{scorer.name}@{scorer.version} ({scorer.summary})",
                "uncertain_band": f"{self.band.low:g}-{self.band.high:g}",
                "conditions": ",".join(f"{c.name}@{c.version}" for c in self.conditions.values()),
            }
            | (self.dissatisfaction.models if self.dissatisfaction is not None else {})
            | {POLICY_KEY: self.redaction.record}
        )

    def audit(self, conversation: Conversation) -> ConversationResult:
        return self.audit_many([conversation])[0]

    def audit_many(self, conversations: Sequence[Conversation]) -> list[ConversationResult]:
        """Audit a batch; texts of the whole batch are embedded in one call."""
        built = self.builder.build_many(conversations)
        self.acts.prefetch(built)
        results = [self.score_artifacts(artifacts) for artifacts in built]
        return self.attach_anomalies(conversations, results)

    def attach_anomalies(
        self, conversations: Sequence[Conversation], results: list[ConversationResult]
    ) -> list[ConversationResult]:
        """Fill the results' ``anomaly`` blocks against the auditor's baseline, when it has one."""
        if self.anomaly_detector is None:
            return results
        return with_anomalies(self.anomaly_detector, conversations, results)

    def score_artifacts(self, artifacts: ConversationArtifacts, *, dissatisfaction: bool = True) -> ConversationResult:
        """The result of one conversation from its artifacts (anomalies excepted: they need the baseline pass).

        Detection runs on the original text; the result's evidence text and metadata are redacted with
        ``self.redaction``. ``dissatisfaction=False`` leaves the dissatisfaction block out. A live session keeps
        the per-turn parts of this as turns arrive (``auditor.live.incremental``) and calls ``verdicts`` and
        ``result`` itself.
        """
        features = pair_features(artifacts, self.index, self.semantic.scorer.description_offset)
        detected = [detector.detect(artifacts, self.index) for detector in self.detectors]
        conditions = {
            name: self.conditions[name].evaluate(artifacts, self.embedder) for name in self.needed_conditions
        }
        outcome = self.verdicts(artifacts, features, detected, conditions)
        scorer = self.dissatisfaction if dissatisfaction else None
        unhappy = scorer.score(artifacts) if scorer is not None else None
        return self.result(artifacts, outcome, unhappy)

    @property
    def needed_conditions(self) -> list[str]:
        """The named conditions (``when``) the SOP's steps use."""
        return sorted({step.when for step in self.sop.steps if step.when})

    def verdicts(
        self,
        artifacts: ConversationArtifacts,
        features: PairFeatures,
        detected: Sequence[Sequence[StepHit]],
        conditions: Mapping[str, ConditionOutcome],
    ) -> ChecklistOutcome:
        """Every step's verdict from the pair features (the semantic scorer stage), the hits of each of
        ``self.detectors`` (``detected``, in that order) and the conditions.

        Hits merge in the order of ``self.detectors`` with the semantic hits after the first (the keywords'): the
        order an evidence's ``method`` names them in, e.g. ``phrase+semantic+account_details``.
        """
        scorer = self.semantic.scorer
        floor = min(scorer.threshold, scorer.done_threshold, self.band.low)
        semantic_hits, closest = self.semantic.hits_and_closest(features, artifacts, self.index, floor)
        keywords, *named = detected
        hits = merge_hits([keywords, semantic_hits, *named])
        hits = self.acts.annotate(hits, artifacts)
        return evaluate_checklist(
            self.sop, hits, closest, artifacts, conditions, done_threshold=scorer.done_threshold, band=self.band
        )

    def result(
        self,
        artifacts: ConversationArtifacts,
        outcome: ChecklistOutcome,
        unhappy: DissatisfactionOutcome | None,
        *,
        redact: bool = True,
    ) -> ConversationResult:
        """The result contract's object from the verdicts and the dissatisfaction outcome (None: no block);
        ``redact=False`` keeps the evidence text as said (for a caller that shows none of it)."""
        conversation = artifacts.conversation
        metadata = dict(conversation.metadata)
        if conversation.source:
            metadata.setdefault("source", conversation.source)
        if conversation.started_at:  # trends, date filters and repeat contacts work from results.jsonl alone
            metadata.setdefault("started_at", conversation.started_at)
        flags, block = list(outcome.flags), None
        if unhappy is not None:
            block = unhappy.block.model_copy(update={"trajectory": unhappy.trajectory.as_dict()})
            flags += [DISSATISFIED_FLAG] if block.flagged else []
        result = ConversationResult(
            conversation_id=conversation.id,
            agent_id=conversation.agent_id,
            sop_id=self.sop.id,
            sop_version=self.sop.version,
            lang=conversation.lang or artifacts.lang,
            score=outcome.score,
            passed=outcome.passed,
            outcome=outcome.outcome,
            steps=outcome.steps,
            dissatisfaction=block,
            flags=flags,
            models=self.models,
            metadata=metadata,
        )
        return self.redaction.redact_result(result) if redact else result
