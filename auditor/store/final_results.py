"""Reviewed results: an audit's final step verdicts, score and outcome once coaches have reviewed it.

The coaches' status of a step replaces the auditor's (several coaches: the majority, ties the latest); the score and
outcome are then worked out with the checklist's own rules (``auditor.checklist.verdicts``): the weighted share of
the required, applicable, decided steps done; a critical step missing, out of order or violated fails the call; a
step still uncertain keeps it to decide. The automatic verdicts stay in the result beside them.

The final values are stored on the audit (``final_score``, ``final_outcome``, ``reviewed_steps``, ``reviewed_at``)
and its step rows (``final_status``) whenever an audit is saved or a coach's verdicts are recorded, so every reader
(the queue, the pages, the API, exports, rollups) reads the same ones in the same transaction.

The weights and pass score are the SOP's when it is a built-in SOP of the same version; otherwise every step weighs 1
and a call passes at 0.8 (the SOP format's defaults).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.checklist.verdicts import conversation_outcome, weighted_score
from auditor.outcome import outcome_of, read_outcome
from auditor.result import ConversationResult, Outcome, StepResult
from auditor.sop_format import Sop, Step
from auditor.store.tables import AuditRow, ReviewEventRow, StepReviewRow

DEFAULT_PASS_SCORE = 0.8


class CoachStatus(Protocol):
    @property
    def coach_status(self) -> str: ...

    @property
    def turn_index(self) -> int | None: ...


def consensus(reviews: Sequence[CoachStatus]) -> tuple[str, int | None]:
    """Majority status of the coaches' verdicts on one step (``reviews`` oldest first; ties: the latest), and the
    turn the latest coach with that status named."""
    counts = Counter(review.coach_status for review in reviews)
    top = max(counts.values())
    latest_first = list(reversed(reviews))
    status = next(review.coach_status for review in latest_first if counts[review.coach_status] == top)
    turn = next((r.turn_index for r in latest_first if r.coach_status == status and r.turn_index is not None), None)
    return status, turn


@dataclass(frozen=True)
class FinalStep:
    step_id: str
    automatic: str
    """The auditor's status."""
    final: str
    """The coaches' status when reviewed, else the auditor's."""
    reviewed: bool
    critical: bool = False
    required: bool = True

    @property
    def overturned(self) -> bool:
        return self.reviewed and self.final != self.automatic


@dataclass(frozen=True)
class FinalResult:
    score: float
    outcome: Outcome
    automatic_score: float
    automatic_outcome: Outcome
    steps: tuple[FinalStep, ...]
    reviewed_steps: int = 0
    reviewed_at: datetime | None = None

    @property
    def reviewed(self) -> bool:
        return self.reviewed_steps > 0

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    @property
    def changed(self) -> bool:
        """The coaches changed the outcome or the score."""
        return self.outcome != self.automatic_outcome or self.score != self.automatic_score

    def step(self, step_id: str) -> FinalStep | None:
        return next((step for step in self.steps if step.step_id == step_id), None)


@lru_cache(maxsize=64)
def _builtin_rules(sop_id: str, version: str) -> tuple[tuple[tuple[str, float], ...], float] | None:
    from auditor.sop.loading import SopError, builtin_sop_paths, load_sop

    path = builtin_sop_paths().get(sop_id)
    if path is None:
        return None
    try:
        sop = load_sop(path)
    except (SopError, OSError):
        return None
    if str(sop.version) != version:
        return None
    return tuple((step.id, step.weight) for step in sop.steps), sop.pass_score


def scoring_rules(sop: Sop) -> dict[str, Any]:
    """What an audit records of its SOP to score reviewed verdicts later: each step's weight and the pass score."""
    return {"weights": {step.id: step.weight for step in sop.steps}, "pass_score": sop.pass_score}


def scoring_sop(result: ConversationResult, recorded: Mapping[str, Any] | None = None) -> Sop:
    """The SOP's weights and pass score as an (unvalidated) Sop for the checklist's rules: those ``recorded`` with the
    audit (``scoring_rules``), else the built-in SOP's of this id and version, else weight 1 per step and pass score
    0.8."""
    if recorded:
        found: tuple[Any, float] | None = (tuple(recorded["weights"].items()), float(recorded["pass_score"]))
    else:
        found = _builtin_rules(result.sop_id, str(result.sop_version))
    weights = dict(found[0]) if found else {}
    pass_score = found[1] if found else DEFAULT_PASS_SCORE
    steps = [
        Step.model_construct(id=step.step_id, name=step.name or step.step_id, weight=weights.get(step.step_id, 1.0))
        for step in result.steps
    ]
    return Sop.model_construct(id=result.sop_id, name=result.sop_id, pass_score=pass_score, steps=steps)


def final_result(
    result: ConversationResult,
    decided: Mapping[str, str],
    reviewed_at: datetime | None = None,
    scoring: Mapping[str, Any] | None = None,
) -> FinalResult:
    """The result's final verdicts given the coaches' status of each reviewed step (``decided``: step id -> status;
    steps not in the result are ignored). Nothing reviewed: the automatic score and outcome, unchanged."""
    automatic_outcome = outcome_of(result)
    known = {step.step_id for step in result.steps}
    reviewed = {step_id: status for step_id, status in decided.items() if step_id in known}
    steps = tuple(
        FinalStep(
            step.step_id,
            step.status,
            reviewed.get(step.step_id, step.status),
            step.step_id in reviewed,
            step.critical,
            step.required,
        )
        for step in result.steps
    )
    if not reviewed:
        return FinalResult(result.score, automatic_outcome, result.score, automatic_outcome, steps)
    final_steps: list[StepResult] = [
        step.model_copy(update={"status": reviewed[step.step_id]}) if step.step_id in reviewed else step
        for step in result.steps
    ]
    sop = scoring_sop(result, scoring)
    # a person reviewed the call: the steps decide, not the automatic "who is the agent is a guess" flag
    return FinalResult(
        weighted_score(sop, final_steps),
        conversation_outcome(sop, final_steps),
        result.score,
        automatic_outcome,
        steps,
        len(reviewed),
        reviewed_at,
    )


def coach_statuses(reviews: Iterable[StepReviewRow]) -> tuple[dict[str, str], datetime | None]:
    """Each reviewed step's consensus status, and when the last verdict was given (``reviews`` in any order)."""
    by_step: dict[str, list[StepReviewRow]] = {}
    for review in sorted(reviews, key=lambda r: (r.updated_at, r.id or 0)):
        by_step.setdefault(review.step_id, []).append(review)
    latest = max((r.updated_at for group in by_step.values() for r in group), default=None)
    return {step_id: consensus(group)[0] for step_id, group in by_step.items()}, latest


def settled_disputes(session: Session, audit: AuditRow) -> dict[str, str]:
    """Steps whose latest dispute resolution overturned the verdict: the resolver's status settles the step, whatever
    the majority of earlier coach verdicts said (an agent's dispute upheld leaves the coaches' consensus)."""
    events = session.scalars(
        select(ReviewEventRow)
        .where(
            ReviewEventRow.conversation_pk == audit.conversation_pk,
            ReviewEventRow.sop_id == audit.sop_id,
            ReviewEventRow.kind.in_(("upheld", "overturned")),
        )
        .order_by(ReviewEventRow.at, ReviewEventRow.id)
    ).all()
    latest = {event.step_id: event for event in events}
    return {step_id: event.status for step_id, event in latest.items() if event.kind == "overturned"}


def refresh_final(session: Session, audit: AuditRow) -> FinalResult:
    """Work out the audit's final verdicts from the coaches' verdicts on its conversation and SOP, and store them on
    the audit and its step rows."""
    reviews = session.scalars(
        select(StepReviewRow).where(
            StepReviewRow.conversation_pk == audit.conversation_pk, StepReviewRow.sop_id == audit.sop_id
        )
    ).all()
    decided, reviewed_at = coach_statuses(reviews)
    decided |= settled_disputes(session, audit)
    final = final_result(ConversationResult.model_validate(audit.result), decided, reviewed_at, audit.scoring)
    audit.final_score = final.score
    audit.final_outcome = final.outcome
    audit.reviewed_steps = final.reviewed_steps
    audit.reviewed_at = final.reviewed_at if final.reviewed else None
    finals = {step.step_id: step for step in final.steps}
    for row in audit.steps:
        step = finals.get(row.step_id)
        row.final_status = step.final if step else row.status
        row.reviewed = bool(step and step.reviewed)
    return final


def refresh_finals(session: Session, conversation_pk: int, sop_id: str) -> None:
    """Refresh every audit of a conversation against an SOP (the coaches' verdicts apply to each)."""
    for audit in session.scalars(
        select(AuditRow).where(AuditRow.conversation_pk == conversation_pk, AuditRow.sop_id == sop_id)
    ):
        refresh_final(session, audit)


def stored_final(audit: AuditRow) -> FinalResult:
    """The final verdicts as stored on the audit (no query)."""
    steps = tuple(
        FinalStep(
            row.step_id, row.status, row.final_status or row.status, bool(row.reviewed), row.critical, row.required
        )
        for row in audit.steps
    )
    automatic_outcome = read_outcome(audit.outcome, audit.passed)
    return FinalResult(
        audit.final_score if audit.final_score is not None else audit.score,
        read_outcome(audit.final_outcome, audit.passed) if audit.final_outcome else automatic_outcome,
        audit.score,
        automatic_outcome,
        steps,
        audit.reviewed_steps or 0,
        audit.reviewed_at,
    )
