"""A coach's verdicts on an audit's steps: checked against the audit, then stored one row per coach and step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.result import StepStatus
from auditor.store.final_results import refresh_finals
from auditor.store.tables import AuditRow, StepReviewRow, audit_row, utc_now

Decision = Literal["confirm", "overturn"]
PERFORMED = frozenset({"done", "late", "out_of_order"})
AT_A_TURN = PERFORMED | {"violated"}
"""Coach statuses that happened at a turn (a forbidden step said is said somewhere)."""
UNDECIDED = "uncertain"
"""The auditor's abstention: a coach decides it (overturns it to a decided status); never a coach's status."""
MAX_COMMENT = 2000
MAX_REVIEWER = 100


class StepVerdict(BaseModel):
    """The coach confirms the auditor's status of a step, or overturns it with the status it should have had.

    A step the auditor left ``uncertain`` cannot be confirmed: the coach overturns it to the status they decide
    (done, missing, late, out of order, not applicable or violated)."""

    model_config = ConfigDict(extra="forbid")

    step_id: str = Field(min_length=1, max_length=100)
    verdict: Decision
    status: StepStatus | None = Field(
        None,
        description="The right status when overturning (default: done for a missing or violated step, else missing; "
        "an uncertain step needs it). Never 'uncertain': the coach decides.",
    )
    turn_index: int | None = Field(
        None, ge=0, le=2**31 - 1, description="Where the step was performed, when the coach says so."
    )
    comment: str = Field("", max_length=MAX_COMMENT)

    @field_validator("comment")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class VerdictError(ValueError):
    """Verdicts that cannot be recorded; ``problems`` name each field (``verdicts[1].status``) and why."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class UnknownAuditError(LookupError):
    def __init__(self, audit_id: int):
        super().__init__(f"no audit {audit_id}")
        self.audit_id = audit_id


@dataclass(frozen=True)
class RecordedVerdict:
    step_id: str
    auditor_status: str
    verdict: str
    coach_status: str
    turn_index: int | None
    comment: str


def overturned_status(auditor_status: str) -> str | None:
    """What 'the auditor was wrong' means when the coach names no status: a missing step was done, a forbidden step
    said was not said (done); else missing. None for an uncertain step: the coach must say what they decide."""
    if auditor_status == UNDECIDED:
        return None
    return "done" if auditor_status in {"missing", "not_applicable", "violated"} else "missing"


def check_reviewer(reviewer: str) -> str:
    name = " ".join(reviewer.split())
    if not name:
        raise VerdictError(["reviewer: give the coach's name"])
    if len(name) > MAX_REVIEWER:
        raise VerdictError([f"reviewer: at most {MAX_REVIEWER} characters"])
    return name


def record_verdicts(
    session: Session, audit_id: int, reviewer: str, verdicts: Sequence[StepVerdict]
) -> list[RecordedVerdict]:
    """Store a coach's verdicts on an audit; a coach who reviews a step again replaces their earlier verdict. The
    final verdicts, score and outcome of the conversation's audits against this SOP are refreshed with them.

    Every verdict is checked before any is stored: an unknown step, a confirm that names another status, an
    overturn to the same status, or a turn outside the transcript is reported with its position in the list.
    """
    audit = audit_row(session, audit_id)
    if audit is None:
        raise UnknownAuditError(audit_id)
    name = check_reviewer(reviewer)
    statuses = {step.step_id: step.status for step in audit.steps}
    evidence = {s["step_id"]: s.get("evidence") or [] for s in audit.result.get("steps", [])}
    turns = len(audit.conversation.turns) if audit.conversation.turns is not None else None
    problems: list[str] = []
    checked: list[RecordedVerdict] = []
    seen: set[str] = set()
    for number, verdict in enumerate(verdicts):
        where = f"verdicts[{number}]"
        if verdict.step_id not in statuses:
            known = ", ".join(statuses)
            problems.append(f"{where}.step_id: no step {verdict.step_id!r} in this audit (steps: {known})")
            continue
        if verdict.step_id in seen:
            problems.append(f"{where}.step_id: {verdict.step_id!r} is given twice")
            continue
        seen.add(verdict.step_id)
        shown = statuses[verdict.step_id]
        if verdict.status == UNDECIDED:
            problems.append(f"{where}.status: 'uncertain' is not a verdict; decide done, missing or another status")
            continue
        if verdict.verdict == "confirm" and shown == UNDECIDED:
            problems.append(
                f"{where}.verdict: the auditor could not decide {verdict.step_id!r}; overturn it with the status you "
                "decide (done, missing, ...)"
            )
            continue
        if verdict.verdict == "confirm":
            if verdict.status is not None and verdict.status != shown:
                problems.append(
                    f"{where}.status: confirming keeps the auditor's status {shown!r}; "
                    f"overturn to set {verdict.status!r}"
                )
                continue
            coach_status = shown
        else:
            decided = verdict.status or overturned_status(shown)
            if decided is None:
                problems.append(
                    f"{where}.status: the auditor could not decide {verdict.step_id!r}; say what you decide "
                    "(done, missing, late, out_of_order, not_applicable, violated)"
                )
                continue
            coach_status = decided
            if coach_status == shown:
                problems.append(f"{where}.status: overturning needs a status other than the auditor's {shown!r}")
                continue
        turn = verdict.turn_index
        if turn is not None and turns is not None and turn >= turns:
            problems.append(f"{where}.turn_index: {turn} is past the last turn ({turns - 1})")
            continue
        if coach_status not in AT_A_TURN:
            turn = None  # a step not performed happened nowhere
        elif turn is None and evidence.get(verdict.step_id):
            turn = int(evidence[verdict.step_id][0]["turn_index"])  # the auditor's best evidence, as shown
        checked.append(RecordedVerdict(verdict.step_id, shown, verdict.verdict, coach_status, turn, verdict.comment))
    if problems:
        raise VerdictError(problems)
    for item in checked:
        _upsert(session, audit, name, item)
    session.flush()
    refresh_finals(session, audit.conversation_pk, audit.sop_id)  # the final verdicts change in the same transaction
    session.flush()
    return checked


def _upsert(session: Session, audit: AuditRow, reviewer: str, item: RecordedVerdict) -> None:
    row = session.scalars(
        select(StepReviewRow).where(
            StepReviewRow.conversation_pk == audit.conversation_pk,
            StepReviewRow.sop_id == audit.sop_id,
            StepReviewRow.step_id == item.step_id,
            StepReviewRow.reviewer == reviewer,
        )
    ).one_or_none()
    if row is None:
        row = StepReviewRow(
            conversation_pk=audit.conversation_pk, sop_id=audit.sop_id, step_id=item.step_id, reviewer=reviewer
        )
        session.add(row)
    row.audit_id = audit.id
    row.auditor_status = item.auditor_status
    row.verdict = "confirmed" if item.verdict == "confirm" else "overturned"
    row.coach_status = item.coach_status
    row.turn_index = item.turn_index
    row.comment = item.comment
    row.updated_at = utc_now()


def reviews_of(session: Session, audit: AuditRow) -> list[StepReviewRow]:
    """Every coach's verdicts on the conversation against this audit's SOP, oldest reviewer first."""
    return list(
        session.scalars(
            select(StepReviewRow)
            .where(StepReviewRow.conversation_pk == audit.conversation_pk, StepReviewRow.sop_id == audit.sop_id)
            .order_by(StepReviewRow.created_at, StepReviewRow.id)
        )
    )
