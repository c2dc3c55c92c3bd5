"""Try an SOP on sample transcripts before rollout: per step, which turns count as evidence and near misses.

An owner tunes examples by seeing what the auditor would accept for each step (evidence) and what it
almost accepted (the closest turns below the threshold, in conversations where the step came out missing).
For a forbidden step the evidence is the violations, and the near misses are the turns closest to one in
conversations where the agent complied (status ``done``): what the auditor let through.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor.auditor import Auditor
from auditor.conversation import Conversation
from auditor.result import ConversationResult

PERFORMED = ("done", "late", "out_of_order")


@dataclass(frozen=True)
class TrialTurn:
    """A turn the auditor counts (or nearly counted) for a step."""

    conversation_id: str
    turn_index: int
    text: str
    confidence: float
    method: str
    status: str


@dataclass
class StepTrial:
    """How one step fared on the sample: statuses, accepted evidence, and near misses."""

    step_id: str
    name: str
    forbidden: bool = False
    statuses: Counter[str] = field(default_factory=Counter)
    evidence: list[TrialTurn] = field(default_factory=list)
    near_misses: list[TrialTurn] = field(default_factory=list)

    @property
    def performed(self) -> int:
        return sum(self.statuses[status] for status in PERFORMED)

    @property
    def applicable(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != "not_applicable")


def trial_sop(auditor: Auditor, conversations: Sequence[Conversation], batch_size: int = 32) -> list[StepTrial]:
    """Audit ``conversations`` and collect, per step, every evidence turn and the near misses of missing steps."""
    trials = {step.id: StepTrial(step.id, step.name, step.forbidden) for step in auditor.sop.steps}
    for start in range(0, len(conversations), batch_size):
        batch = conversations[start : start + batch_size]
        results = auditor.audit_many(batch)
        near = _closest_candidates(auditor, batch, results)
        for result in results:
            for step in result.steps:
                trial = trials[step.step_id]
                trial.statuses[step.status] += 1
                trial.evidence += [
                    TrialTurn(
                        result.conversation_id,
                        evidence.turn_index,
                        evidence.text,
                        evidence.confidence if evidence.confidence is not None else evidence.score,
                        evidence.method,
                        step.status,
                    )
                    for evidence in step.evidence
                ]
                if (result.conversation_id, step.step_id) in near:
                    trial.near_misses.append(near[(result.conversation_id, step.step_id)])
    for trial in trials.values():
        trial.evidence.sort(key=lambda turn: -turn.confidence)
        trial.near_misses.sort(key=lambda turn: -turn.confidence)
    return list(trials.values())


def _closest_candidates(
    auditor: Auditor, conversations: Sequence[Conversation], results: Sequence[ConversationResult]
) -> dict[tuple[str, str], TrialTurn]:
    """The most probable (turn, step) pair of each missing step, and of each forbidden step complied with.

    Texts are cached: nothing is re-embedded.
    """
    forbidden = {step.id for step in auditor.sop.steps if step.forbidden}
    missing = {
        (r.conversation_id, s.step_id)
        for r in results
        for s in r.steps
        if s.status == ("done" if s.step_id in forbidden else "missing")
    }
    closest: dict[tuple[str, str], TrialTurn] = {}
    if not missing:
        return closest
    for artifacts in auditor.builder.build_many(conversations):
        conversation_id = artifacts.conversation.id
        for hit in auditor.semantic.candidates(artifacts, auditor.index):
            key = (conversation_id, hit.step_id)
            if key in missing and (key not in closest or hit.confidence > closest[key].confidence):
                text = auditor.redaction.redact(hit.text)  # shown like evidence: with personal data hidden
                status = "done" if hit.step_id in forbidden else "missing"
                closest[key] = TrialTurn(conversation_id, hit.turn_index, text, hit.confidence, hit.method, status)
    return closest
