"""Agents answer reviews: acknowledge or dispute a coach's verdict on a step; another reviewer upholds or overturns.

Every change of state is a row of ``review_events`` (who, in which role, when, with what comment), never updated or
deleted, so the history of a step is its events in order. A reviewed step's state is its latest event:

    (no answer) --agent--> acknowledged                      (final)
    (no answer) --agent--> disputed --reviewer--> upheld     (final: the verdict stands)
                                    --reviewer--> overturned (final: the resolver's verdict is recorded)

The verdict an agent answers is the newest coach verdict on the step. A dispute is resolved by a coach other than
the one whose verdict is disputed, or by a QA lead (any dispute). Overturning records the resolver's verdict with
``record_verdicts``, like any review, so everything computed from coach verdicts follows it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.review.coach_verdicts import (
    MAX_COMMENT,
    StepVerdict,
    UnknownAuditError,
    overturned_status,
    record_verdicts,
    reviews_of,
)
from auditor.review.people import Person
from auditor.store.tables import AuditRow, ReviewEventRow, StepReviewRow, audit_row, utc_now

Answer = Literal["acknowledged", "disputed"]
Resolution = Literal["upheld", "overturned"]
FINAL = frozenset({"acknowledged", "upheld", "overturned"})
DECIDED = ("done", "missing", "late", "out_of_order", "not_applicable", "violated")


class NotAllowedError(PermissionError):
    """The person's role does not allow this (an agent resolving a dispute, a coach resolving one of their own)."""


class StateError(ValueError):
    """The step is not in a state that allows this (not reviewed yet, already answered, no open dispute)."""


class InputError(ValueError):
    """A field that cannot be taken as given (an unknown step, a dispute without a comment, an unknown status);
    the message starts with the field's name."""


@dataclass(frozen=True)
class Event:
    id: int
    audit_id: int
    step_id: str
    kind: str
    actor: str
    role: str
    reviewer: str
    status: str
    comment: str
    at: datetime


@dataclass
class ReviewedStep:
    """A step of an audit with a coach verdict: the newest verdict, the step's state and its history."""

    step_id: str
    name: str
    critical: bool
    auditor_status: str
    reviewer: str
    coach_status: str
    verdict_comment: str
    reviewed_at: datetime
    state: str | None
    """None (not answered yet), acknowledged, disputed, upheld or overturned."""
    history: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class AgentConversation:
    audit_id: int
    conversation_id: str
    sop_id: str
    when: datetime
    outcome: str
    reviewed: int
    to_answer: int
    disputed: int


@dataclass(frozen=True)
class Dispute:
    audit_id: int
    conversation_id: str
    agent_id: str | None
    sop_id: str
    step: ReviewedStep
    may_resolve: bool
    """Whether the person asking may resolve it (not a coach's own verdict)."""


def _event(row: ReviewEventRow) -> Event:
    return Event(
        row.id, row.audit_id, row.step_id, row.kind, row.actor, row.role, row.reviewer, row.status, row.comment, row.at
    )


def _visible_audit(session: Session, person: Person, audit_id: int) -> AuditRow:
    """The audit, if this person may see it; another agent's audit is as unknown as a missing one."""
    audit = audit_row(session, audit_id)
    if audit is None or not person.may_see(audit.agent_id):
        raise UnknownAuditError(audit_id)
    return audit


def _events(session: Session, audit: AuditRow) -> dict[str, list[ReviewEventRow]]:
    rows = session.scalars(
        select(ReviewEventRow)
        .where(ReviewEventRow.conversation_pk == audit.conversation_pk, ReviewEventRow.sop_id == audit.sop_id)
        .order_by(ReviewEventRow.at, ReviewEventRow.id)
    )
    grouped: dict[str, list[ReviewEventRow]] = defaultdict(list)
    for row in rows:
        grouped[row.step_id].append(row)
    return grouped


def reviewed_steps(session: Session, audit: AuditRow) -> list[ReviewedStep]:
    """The audit's steps that carry a coach verdict, in SOP order, each with its newest verdict, state and history."""
    newest: dict[str, StepReviewRow] = {}
    for review in reviews_of(session, audit):
        current = newest.get(review.step_id)
        if current is None or (review.updated_at, review.id) >= (current.updated_at, current.id):
            newest[review.step_id] = review
    names = {s["step_id"]: s.get("name") or s["step_id"] for s in audit.result.get("steps", [])}
    events = _events(session, audit)
    steps = []
    for step in audit.steps:
        if step.step_id not in newest:
            continue
        review = newest[step.step_id]
        history = [_event(row) for row in events.get(step.step_id, [])]
        steps.append(
            ReviewedStep(
                step.step_id,
                names.get(step.step_id, step.step_id),
                step.critical,
                step.status,
                review.reviewer,
                review.coach_status,
                review.comment,
                review.updated_at,
                history[-1].kind if history else None,
                history,
            )
        )
    return steps


def agent_conversations(session: Session, person: Person) -> list[AgentConversation]:
    """The newest audits of this agent's conversations that a coach reviewed, newest conversation first."""
    if person.agent_id is None:
        return []
    audits = session.scalars(
        select(AuditRow).where(AuditRow.latest.is_(True), AuditRow.agent_id == person.agent_id).order_by(AuditRow.id)
    )
    found = []
    for audit in audits:
        steps = reviewed_steps(session, audit)
        if not steps:
            continue
        found.append(
            AgentConversation(
                audit.id,
                audit.conversation.conversation_id,
                audit.sop_id,
                audit.conversation_date or audit.audited_at,
                audit.outcome,
                len(steps),
                sum(step.state is None for step in steps),
                sum(step.state == "disputed" for step in steps),
            )
        )
    return sorted(found, key=lambda item: item.when, reverse=True)


def agent_view(session: Session, person: Person, audit_id: int) -> tuple[AuditRow, list[ReviewedStep]]:
    """An audit and its reviewed steps, as the person may see it (UnknownAuditError: not theirs, or no such audit)."""
    audit = _visible_audit(session, person, audit_id)
    return audit, reviewed_steps(session, audit)


def _step(session: Session, audit: AuditRow, step_id: str) -> ReviewedStep:
    for step in reviewed_steps(session, audit):
        if step.step_id == step_id:
            return step
    known = {step.step_id for step in audit.steps}
    if step_id not in known:
        raise InputError(f"step_id: no step {step_id!r} in this audit")
    raise StateError(f"step_id: no coach has reviewed {step_id!r} yet")


def _comment(comment: str) -> str:
    text = comment.strip()
    if len(text) > MAX_COMMENT:
        raise InputError(f"comment: at most {MAX_COMMENT} characters")
    return text


def _record(
    session: Session, audit: AuditRow, step: ReviewedStep, person: Person, kind: str, status: str, comment: str
) -> Event:
    row = ReviewEventRow(
        conversation_pk=audit.conversation_pk,
        audit_id=audit.id,
        sop_id=audit.sop_id,
        step_id=step.step_id,
        kind=kind,
        actor=person.name,
        role=person.role,
        reviewer=step.reviewer,
        status=status,
        comment=comment,
        at=utc_now(),
    )
    session.add(row)
    session.flush()
    return _event(row)


def answer(session: Session, person: Person, audit_id: int, step_id: str, kind: Answer, comment: str = "") -> Event:
    """The agent of the conversation acknowledges or disputes the newest verdict on a step (a dispute says why)."""
    audit = _visible_audit(session, person, audit_id)
    if person.role != "agent":
        raise NotAllowedError("only the conversation's agent acknowledges or disputes its reviews")
    step = _step(session, audit, step_id)
    text = _comment(comment)
    if step.state is not None:
        raise StateError(f"step_id: {step_id!r} is already {step.state}")
    if kind == "disputed" and not text:
        raise InputError("comment: say why you dispute the verdict")
    return _record(session, audit, step, person, kind, step.coach_status, text)


def resolve(
    session: Session,
    person: Person,
    audit_id: int,
    step_id: str,
    outcome: Resolution,
    comment: str = "",
    status: str | None = None,
) -> Event:
    """Uphold or overturn an open dispute. Overturning records the resolver's verdict (``status``, by default the
    opposite of the disputed one: done for missing, missing for done) through ``record_verdicts``."""
    audit = _visible_audit(session, person, audit_id)
    if not person.reviews:
        raise NotAllowedError("only coaches and QA leads resolve disputes")
    step = _step(session, audit, step_id)
    if step.state != "disputed":
        raise StateError(f"step_id: {step_id!r} has no open dispute" + (f" (it is {step.state})" if step.state else ""))
    if person.role == "coach" and person.name.casefold() == step.history[-1].reviewer.casefold():
        raise NotAllowedError("a dispute of your own verdict goes to another coach or a QA lead")
    text = _comment(comment)
    if outcome == "upheld":
        return _record(session, audit, step, person, "upheld", step.coach_status, text)
    new_status = status or overturned_status(step.coach_status) or "done"
    if new_status not in DECIDED:
        raise InputError(f"status: {new_status!r} is not a decided status ({', '.join(DECIDED)})")
    if new_status == step.coach_status:
        raise InputError(f"status: overturning needs a status other than the disputed {step.coach_status!r}")
    confirm = new_status == step.auditor_status
    verdict = StepVerdict(
        step_id=step_id,
        verdict="confirm" if confirm else "overturn",
        status=None if confirm else new_status,
        comment=text,
    )
    event = _record(session, audit, step, person, "overturned", new_status, text)  # first: the final result reads it
    record_verdicts(session, audit.id, person.name, [verdict])
    return event


def disputes(session: Session, person: Person, state: Literal["open", "resolved", "all"] = "open") -> list[Dispute]:
    """Disputed steps (open: still disputed; resolved: upheld or overturned), oldest dispute first."""
    if not person.reviews:
        return []
    audit_ids = session.scalars(
        select(ReviewEventRow.audit_id).where(ReviewEventRow.kind == "disputed").distinct()
    ).all()
    found: list[tuple[datetime, Dispute]] = []
    for audit_id in sorted(audit_ids):
        audit = audit_row(session, audit_id)
        if audit is None:
            continue
        for step in reviewed_steps(session, audit):
            disputed = [event for event in step.history if event.kind == "disputed"]
            if not disputed or disputed[-1].audit_id != audit_id:
                continue
            is_open = step.state == "disputed"
            if (state == "open" and not is_open) or (state == "resolved" and is_open):
                continue
            own = person.role == "coach" and person.name.casefold() == disputed[-1].reviewer.casefold()
            item = Dispute(
                audit.id, audit.conversation.conversation_id, audit.agent_id, audit.sop_id, step, is_open and not own
            )
            found.append((disputed[-1].at, item))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]
