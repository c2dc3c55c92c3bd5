"""Calibration sessions: several coaches review the same conversations blind, then compare.

A lead names the session, its coaches and its conversations (audits). While the session is open each coach sees
only their own verdicts in it (never the others' statuses or comments) and, unless the lead chose otherwise, not
the automatic verdicts either (``hide_auditor``). A coach gives each step the status they find (done, missing, ...).
Calibration verdicts are kept apart from the everyday coach verdicts: they change no conversation's result, the
agreement report or retraining.

The results (the lead's at any time, everyone's once the session is closed): Fleiss' kappa over all coaches, per
step and overall; Cohen's kappa per pair of coaches; each coach's agreement with the consensus (the status most
coaches gave a step, none on a tie) and with the automatic verdicts; and the disagreements to discuss, with each
coach's status and comment.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.result import StepStatus
from auditor.review.agreement import ALL_STEPS, Agreement, agreement, fleiss_kappa
from auditor.review.coach_verdicts import AT_A_TURN, MAX_COMMENT, UNDECIDED, VerdictError, check_reviewer
from auditor.store.tables import (
    MAX_ROW_ID,
    AuditRow,
    CalibrationCoachRow,
    CalibrationConversationRow,
    CalibrationSessionRow,
    CalibrationVerdictRow,
    storable_texts,
    utc_now,
)

MAX_CONVERSATIONS = 50
MAX_COACHES = 20
CONSENSUS = "consensus"
AUDITOR = "auditor"


class NewCalibration(BaseModel):
    """A calibration session to open: its name, lead, coaches (at least two) and conversations (audit ids)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    created_by: str = Field(min_length=1, max_length=100, description="The lead: sees the results at any time.")
    coaches: list[str] = Field(min_length=2, max_length=MAX_COACHES)
    audit_ids: list[int] = Field(min_length=1, max_length=MAX_CONVERSATIONS)
    hide_auditor: bool = Field(True, description="Hide the automatic verdicts from the coaches while it is open.")

    _storable = field_validator("name", "created_by", "coaches", mode="before")(storable_texts)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("give the session a name")
        return value


class CalibrationVerdict(BaseModel):
    """A coach's status for one step, given blind (no confirm or overturn: the coach says what they find)."""

    model_config = ConfigDict(extra="forbid")

    step_id: str = Field(min_length=1, max_length=100)
    status: StepStatus
    turn_index: int | None = Field(None, ge=0, le=MAX_ROW_ID)
    comment: str = Field("", max_length=MAX_COMMENT)

    _storable = field_validator("step_id", "comment", mode="before")(storable_texts)

    @field_validator("comment")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class CalibrationError(ValueError):
    """A session or verdicts that cannot be recorded; ``problems`` name each field and why."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class UnknownCalibrationError(LookupError):
    def __init__(self, session_id: int):
        super().__init__(f"no calibration session {session_id}")
        self.session_id = session_id


class NotAllowedError(PermissionError):
    """The coach may not do this in this session (not one of its coaches, not its lead, the session closed)."""


def _coach_name(value: str, where: str) -> str:
    try:
        return check_reviewer(value)
    except VerdictError as error:
        raise CalibrationError([p.replace("reviewer", where, 1) for p in error.problems]) from error


def create_calibration(session: Session, new: NewCalibration) -> CalibrationSessionRow:
    """Open a session; every audit must exist, coaches are named once each (in the order given)."""
    lead = _coach_name(new.created_by, "created_by")
    problems: list[str] = []
    coaches: list[str] = []
    for number, coach in enumerate(new.coaches):
        try:
            name = _coach_name(coach, f"coaches[{number}]")
        except CalibrationError as error:
            problems += error.problems
            continue
        if name not in coaches:
            coaches.append(name)
    if len(coaches) < 2 and not problems:
        problems.append("coaches: name at least two different coaches")
    audit_ids = list(dict.fromkeys(new.audit_ids))
    known = (
        set(session.scalars(select(AuditRow.id).where(AuditRow.id.in_([a for a in audit_ids if 1 <= a <= MAX_ROW_ID]))))
        if audit_ids
        else set()
    )
    for number, audit_id in enumerate(new.audit_ids):
        if audit_id not in known:
            problems.append(f"audit_ids[{number}]: no audit {audit_id}")
    if problems:
        raise CalibrationError(problems)
    row = CalibrationSessionRow(name=new.name, created_by=lead, hide_auditor=new.hide_auditor, created_at=utc_now())
    row.coaches = [CalibrationCoachRow(coach=name, position=i) for i, name in enumerate(coaches)]
    row.conversations = [CalibrationConversationRow(audit_id=a, position=i) for i, a in enumerate(audit_ids)]
    session.add(row)
    session.flush()
    return row


def calibration(session: Session, session_id: int) -> CalibrationSessionRow:
    row = session.get(CalibrationSessionRow, session_id) if 1 <= session_id <= MAX_ROW_ID else None
    if row is None:
        raise UnknownCalibrationError(session_id)
    return row


def coaches_of(row: CalibrationSessionRow) -> list[str]:
    return [c.coach for c in row.coaches]


def audit_ids_of(row: CalibrationSessionRow) -> list[int]:
    return [c.audit_id for c in row.conversations]


def may_see_results(row: CalibrationSessionRow, coach: str, qa_lead: bool = False) -> bool:
    """Everyone once the session is closed; its lead (or a QA lead) at any time."""
    return row.closed_at is not None or coach == row.created_by or qa_lead


def may_review(row: CalibrationSessionRow, coach: str) -> bool:
    return row.closed_at is None and coach in coaches_of(row)


def shows_auditor(row: CalibrationSessionRow) -> bool:
    """Whether the coaches see the automatic verdicts now: not while the session is open and hides them (its lead
    neither, when reviewing as one of its coaches)."""
    return not row.hide_auditor or row.closed_at is not None


@dataclass(frozen=True)
class CalibrationSummary:
    id: int
    name: str
    created_by: str
    created_at: str
    closed: bool
    hide_auditor: bool
    coaches: list[str]
    audit_ids: list[int]
    reviewed: dict[str, int]
    """Coach -> how many step verdicts they gave in the session (counts only: nobody sees another's verdicts)."""
    steps: int
    """Step verdicts each coach has to give: the steps of all the session's conversations."""


def summary(session: Session, row: CalibrationSessionRow) -> CalibrationSummary:
    counts = dict(
        session.execute(
            select(CalibrationVerdictRow.coach, func.count())
            .where(CalibrationVerdictRow.session_id == row.id)
            .group_by(CalibrationVerdictRow.coach)
        ).all()
    )
    audits = [session.get(AuditRow, a) for a in audit_ids_of(row)]
    return CalibrationSummary(
        id=row.id,
        name=row.name,
        created_by=row.created_by,
        created_at=row.created_at.isoformat(timespec="seconds"),
        closed=row.closed_at is not None,
        hide_auditor=row.hide_auditor,
        coaches=coaches_of(row),
        audit_ids=audit_ids_of(row),
        reviewed={coach: int(counts.get(coach, 0)) for coach in coaches_of(row)},
        steps=sum(len(a.steps) for a in audits if a is not None),
    )


def list_calibrations(session: Session) -> list[CalibrationSummary]:
    rows = session.scalars(select(CalibrationSessionRow).order_by(CalibrationSessionRow.id.desc()))
    return [summary(session, row) for row in rows]


def record_calibration_verdicts(
    session: Session, session_id: int, audit_id: int, coach: str, verdicts: Sequence[CalibrationVerdict]
) -> list[CalibrationVerdictRow]:
    """Store a coach's statuses for steps of one of the session's conversations; again on a step replaces it.

    Only the session's coaches, only while it is open; every verdict is checked before any is stored."""
    row = calibration(session, session_id)
    name = _coach_name(coach, "coach")
    if row.closed_at is not None:
        raise NotAllowedError(f"calibration session {session_id} is closed")
    if name not in coaches_of(row):
        raise NotAllowedError(f"{name} is not a coach of calibration session {session_id}")
    if audit_id not in audit_ids_of(row):
        raise CalibrationError([f"audit_id: audit {audit_id} is not in calibration session {session_id}"])
    audit = session.get_one(AuditRow, audit_id)
    statuses = {step.step_id: step.status for step in audit.steps}
    turns = len(audit.conversation.turns) if audit.conversation.turns is not None else None
    problems: list[str] = []
    seen: set[str] = set()
    for number, verdict in enumerate(verdicts):
        where = f"verdicts[{number}]"
        if verdict.step_id not in statuses:
            problems.append(
                f"{where}.step_id: no step {verdict.step_id!r} in this audit (steps: {', '.join(statuses)})"
            )
        elif verdict.step_id in seen:
            problems.append(f"{where}.step_id: {verdict.step_id!r} is given twice")
        elif verdict.status == UNDECIDED:
            problems.append(f"{where}.status: 'uncertain' is not a verdict; decide done, missing or another status")
        elif verdict.turn_index is not None and turns is not None and verdict.turn_index >= turns:
            problems.append(f"{where}.turn_index: {verdict.turn_index} is past the last turn ({turns - 1})")
        seen.add(verdict.step_id)
    if problems:
        raise CalibrationError(problems)
    stored = []
    for verdict in verdicts:
        existing = session.scalars(
            select(CalibrationVerdictRow).where(
                CalibrationVerdictRow.session_id == row.id,
                CalibrationVerdictRow.audit_id == audit_id,
                CalibrationVerdictRow.step_id == verdict.step_id,
                CalibrationVerdictRow.coach == name,
            )
        ).one_or_none()
        if existing is None:
            existing = CalibrationVerdictRow(
                session_id=row.id, audit_id=audit_id, step_id=verdict.step_id, coach=name, created_at=utc_now()
            )
            session.add(existing)
        existing.auditor_status = statuses[verdict.step_id]
        existing.coach_status = verdict.status
        existing.turn_index = verdict.turn_index if verdict.status in AT_A_TURN else None
        existing.comment = verdict.comment
        existing.updated_at = utc_now()
        stored.append(existing)
    session.flush()
    return stored


def own_verdicts(
    session: Session, session_id: int, coach: str, audit_id: int | None = None
) -> list[CalibrationVerdictRow]:
    """One coach's verdicts in a session (what the blind review shows them): never another coach's."""
    if not 1 <= session_id <= MAX_ROW_ID:
        return []
    query = select(CalibrationVerdictRow).where(
        CalibrationVerdictRow.session_id == session_id, CalibrationVerdictRow.coach == coach
    )
    if audit_id is not None:
        query = query.where(CalibrationVerdictRow.audit_id == audit_id)
    return list(session.scalars(query.order_by(CalibrationVerdictRow.audit_id, CalibrationVerdictRow.id)))


def close_calibration(session: Session, session_id: int, coach: str, qa_lead: bool = False) -> CalibrationSessionRow:
    """The lead (or a QA lead) closes the session: the verdicts are final and everyone sees the results."""
    row = calibration(session, session_id)
    if coach != row.created_by and not qa_lead:
        raise NotAllowedError(f"only the session's lead ({row.created_by}) closes it")
    if row.closed_at is None:
        row.closed_at = utc_now()
        session.flush()
    return row


# --- results ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepKappa:
    sop_id: str
    step_id: str
    name: str
    items: int
    """Conversations where at least two coaches gave this step a status."""
    kappa: float | None
    """Fleiss' kappa over all coaches (None when undefined: every coach always gave the same status)."""
    unanimous: float
    """Share of those conversations where every coach gave the same status."""


@dataclass(frozen=True)
class CoachAgreement:
    coach: str
    verdicts: int
    with_consensus: float | None
    """Share of the steps with a consensus where this coach gave it."""
    consensus_n: int
    auditor: Agreement
    """This coach against the automatic verdicts (Cohen's kappa; steps the auditor left uncertain counted apart)."""


@dataclass(frozen=True)
class CoachVerdict:
    status: str
    comment: str
    turn_index: int | None


@dataclass(frozen=True)
class Disagreement:
    audit_id: int
    conversation_id: str
    sop_id: str
    step_id: str
    name: str
    auditor_status: str
    consensus: str | None
    verdicts: dict[str, CoachVerdict]
    """Coach -> their status and comment (coaches who gave none are absent)."""


@dataclass
class CalibrationReport:
    session: CalibrationSummary
    items: int
    """(Conversation, step) units rated by at least two coaches."""
    kappa: float | None
    """Fleiss' kappa over all coaches and all steps."""
    unanimous: float
    steps: list[StepKappa]
    pairs: list[Agreement]
    """Cohen's kappa per pair of coaches, over the steps both rated."""
    coaches: list[CoachAgreement]
    consensus_vs_auditor: Agreement
    disagreements: list[Disagreement]
    missing: dict[str, int] = field(default_factory=dict)
    """Coach -> step verdicts not given yet (the results so far, while the session is open)."""


def consensus_of(statuses: Sequence[str]) -> str | None:
    """The status most coaches gave; None on a tie (nothing to agree with)."""
    ranked = Counter(statuses).most_common()
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def calibration_report(session: Session, session_id: int) -> CalibrationReport:
    row = calibration(session, session_id)
    info = summary(session, row)
    coaches = coaches_of(row)
    audits = {a: session.get_one(AuditRow, a) for a in audit_ids_of(row)}
    verdicts = list(session.scalars(select(CalibrationVerdictRow).where(CalibrationVerdictRow.session_id == row.id)))
    given: dict[tuple[int, str], dict[str, CalibrationVerdictRow]] = defaultdict(dict)
    for verdict in verdicts:
        if verdict.coach in coaches:
            given[(verdict.audit_id, verdict.step_id)][verdict.coach] = verdict
    units: list[tuple[AuditRow, str, str, str, dict[str, CalibrationVerdictRow]]] = []
    for audit_id, audit in audits.items():
        names = {s["step_id"]: s.get("name") or "" for s in audit.result.get("steps", [])}
        for step in audit.steps:
            units.append(
                (audit, step.step_id, names.get(step.step_id, ""), step.status, given.get((audit_id, step.step_id), {}))
            )

    rated = [u for u in units if len(u[4]) >= 2]
    by_step: dict[tuple[str, str], list[list[str]]] = defaultdict(list)
    step_names: dict[tuple[str, str], str] = {}
    for audit, step_id, name, _, by_coach in rated:
        by_step[(audit.sop_id, step_id)].append([v.coach_status for v in by_coach.values()])
        step_names.setdefault((audit.sop_id, step_id), name)
    steps = [
        StepKappa(sop, step, step_names[(sop, step)], len(items), fleiss_kappa(items), _unanimous(items))
        for (sop, step), items in by_step.items()
    ]
    all_items = [[v.coach_status for v in u[4].values()] for u in rated]

    pairs = []
    for a, b in combinations(coaches, 2):
        both = [(u[4][a].coach_status, u[4][b].coach_status) for u in units if a in u[4] and b in u[4]]
        pairs.append(agreement("", ALL_STEPS, both, a, b))

    consensus = {(u[0].id, u[1]): consensus_of([v.coach_status for v in u[4].values()]) for u in rated}
    per_coach = []
    for coach in coaches:
        mine = [u for u in units if coach in u[4]]
        agreed = [
            u[4][coach].coach_status == consensus[(u[0].id, u[1])] for u in mine if consensus.get((u[0].id, u[1]))
        ]
        per_coach.append(
            CoachAgreement(
                coach=coach,
                verdicts=len(mine),
                with_consensus=round(sum(agreed) / len(agreed), 4) if agreed else None,
                consensus_n=len(agreed),
                auditor=agreement("", ALL_STEPS, [(u[3], u[4][coach].coach_status) for u in mine], AUDITOR, coach),
            )
        )
    decided = [(u[3], consensus[(u[0].id, u[1])]) for u in rated]
    consensus_vs_auditor = agreement("", ALL_STEPS, [(a, c) for a, c in decided if c], AUDITOR, CONSENSUS)

    disagreements = [
        Disagreement(
            audit_id=audit.id,
            conversation_id=audit.conversation.conversation_id,
            sop_id=audit.sop_id,
            step_id=step_id,
            name=name,
            auditor_status=status,
            consensus=consensus[(audit.id, step_id)],
            verdicts={
                c: CoachVerdict(by_coach[c].coach_status, by_coach[c].comment, by_coach[c].turn_index)
                for c in coaches
                if c in by_coach
            },
        )
        for audit, step_id, name, status, by_coach in rated
        if len({v.coach_status for v in by_coach.values()}) > 1
    ]
    return CalibrationReport(
        session=info,
        items=len(rated),
        kappa=fleiss_kappa(all_items),
        unanimous=_unanimous(all_items),
        steps=steps,
        pairs=pairs,
        coaches=per_coach,
        consensus_vs_auditor=consensus_vs_auditor,
        disagreements=disagreements,
        missing={c: info.steps - info.reviewed.get(c, 0) for c in coaches if info.steps > info.reviewed.get(c, 0)},
    )


def _unanimous(items: Sequence[Sequence[str]]) -> float:
    return round(sum(len(set(labels)) == 1 for labels in items) / len(items), 4) if items else 0.0
