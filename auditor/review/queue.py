"""The review queue: the newest audit of each conversation, those that need review first (a person must decide
them), then riskiest first; filtered by agent, SOP, step, date. Each item shows its final outcome and score (the
coaches' once reviewed, ``auditor.store.final_results``) beside the auditor's."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from auditor.outcome import UNCERTAIN
from auditor.result import ConversationResult, Outcome
from auditor.risk import FLAGGED_STATUSES, UNCERTAIN_BELOW, assess
from auditor.store.final_results import stored_final
from auditor.store.tables import AuditRow, AuditStepRow, ConversationRow, StepReviewRow

ReviewState = Literal["todo", "reviewed", "all"]
MAX_PAGE = 500


@dataclass(frozen=True)
class QueueFilters:
    """``step``: conversations where the auditor flagged that step (missing, misplaced, violated), could not decide it
    (uncertain) or decided it with low confidence. Dates are inclusive and
    compare the conversation's ``started_at`` (the audit time when the transcript carries none)."""

    agent_id: str | None = None
    sop_id: str | None = None
    step_id: str | None = None
    since: date | None = None
    until: date | None = None
    state: ReviewState = "todo"


@dataclass(frozen=True)
class QueueItem:
    audit_id: int
    conversation_id: str
    agent_id: str | None
    sop_id: str
    sop_version: str
    lang: str | None
    when: datetime
    dated: bool
    """True when ``when`` is the conversation's start; False when it is the audit time."""
    score: float
    passed: bool
    risk: float
    reasons: tuple[str, ...]
    flags: tuple[str, ...]
    reviewers: tuple[str, ...]
    outcome: Outcome = "failed"
    """The final outcome: the coaches' when reviewed, else the auditor's (``score`` and ``passed`` likewise)."""
    to_decide: tuple[str, ...] = ()
    """The steps the auditor left ``uncertain`` and no coach decided yet."""
    automatic_score: float | None = None
    automatic_outcome: Outcome | None = None
    """The auditor's score and outcome, kept beside the final ones."""
    reviewed: bool = False
    reviewed_steps: int = 0
    reviewed_at: datetime | None = None


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int
    offset: int
    limit: int


@dataclass
class QueueChoices:
    """What the filters can take, from what is stored."""

    agents: list[str] = field(default_factory=list)
    sops: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


def _conditions(filters: QueueFilters) -> list[ColumnElement[bool]]:
    when = func.coalesce(AuditRow.conversation_date, AuditRow.audited_at)
    conditions: list[ColumnElement[bool]] = [AuditRow.latest.is_(True)]
    if filters.agent_id:
        conditions.append(AuditRow.agent_id == filters.agent_id)
    if filters.sop_id:
        conditions.append(AuditRow.sop_id == filters.sop_id)
    if filters.step_id:
        conditions.append(
            exists().where(
                AuditStepRow.audit_id == AuditRow.id,
                AuditStepRow.step_id == filters.step_id,
                or_(
                    AuditStepRow.status.in_(FLAGGED_STATUSES),
                    and_(AuditStepRow.status != "not_applicable", AuditStepRow.confidence < UNCERTAIN_BELOW),
                ),
            )
        )
    if filters.since:
        conditions.append(when >= datetime.combine(filters.since, time.min))
    if filters.until and filters.until < date.max:  # until 9999-12-31 bounds nothing (and has no next day)
        conditions.append(when < datetime.combine(filters.until + timedelta(days=1), time.min))
    reviewed = exists().where(
        StepReviewRow.conversation_pk == AuditRow.conversation_pk, StepReviewRow.sop_id == AuditRow.sop_id
    )
    if filters.state == "todo":
        conditions.append(~reviewed)
    elif filters.state == "reviewed":
        conditions.append(reviewed)
    return conditions


def review_queue(session: Session, filters: QueueFilters, *, limit: int = 50, offset: int = 0) -> QueuePage:
    """One page of the queue: audits that need review first, then riskiest first (then newest), with each item's
    risk reasons, the steps to decide and the reviewers."""
    limit = max(1, min(limit, MAX_PAGE))
    conditions = _conditions(filters)
    total = session.scalar(select(func.count()).select_from(AuditRow).where(*conditions)) or 0
    rows = session.execute(
        select(AuditRow, ConversationRow.conversation_id, ConversationRow.lang)
        .join(ConversationRow, ConversationRow.id == AuditRow.conversation_pk)
        .where(*conditions)
        .order_by(
            case((AuditRow.final_outcome == "needs_review", 0), else_=1),
            AuditRow.risk.desc(),
            func.coalesce(AuditRow.conversation_date, AuditRow.audited_at).desc(),
        )
        .order_by(AuditRow.id)
        .limit(limit)
        .offset(max(offset, 0))
        .options(selectinload(AuditRow.steps))
    ).all()
    reviewers = _reviewers(session, [(audit.conversation_pk, audit.sop_id) for audit, _, _ in rows])
    items = []
    for audit, conversation_id, lang in rows:
        result = ConversationResult.model_validate(audit.result)
        final = stored_final(audit)
        items.append(
            QueueItem(
                audit_id=audit.id,
                conversation_id=conversation_id,
                agent_id=audit.agent_id,
                sop_id=audit.sop_id,
                sop_version=audit.sop_version,
                lang=lang or result.lang,
                when=audit.conversation_date or audit.audited_at,
                dated=audit.conversation_date is not None,
                score=final.score,
                passed=final.passed,
                risk=audit.risk,
                reasons=assess(result).reasons,
                flags=tuple(audit.flags),
                reviewers=tuple(reviewers.get((audit.conversation_pk, audit.sop_id), ())),
                outcome=final.outcome,
                to_decide=tuple(step.step_id for step in final.steps if step.final == UNCERTAIN),
                automatic_score=final.automatic_score,
                automatic_outcome=final.automatic_outcome,
                reviewed=final.reviewed,
                reviewed_steps=final.reviewed_steps,
                reviewed_at=final.reviewed_at,
            )
        )
    return QueuePage(items, total, offset, limit)


def queue_choices(session: Session) -> QueueChoices:
    latest = AuditRow.latest.is_(True)
    agents = session.scalars(select(AuditRow.agent_id).where(latest, AuditRow.agent_id.is_not(None)).distinct())
    sops = session.scalars(select(AuditRow.sop_id).where(latest).distinct())
    steps = session.scalars(
        select(AuditStepRow.step_id).join(AuditRow, AuditRow.id == AuditStepRow.audit_id).where(latest).distinct()
    )
    return QueueChoices(sorted(a for a in agents if a), sorted(sops), sorted(steps))


def _reviewers(session: Session, keys: list[tuple[int, str]]) -> dict[tuple[int, str], list[str]]:
    found: dict[tuple[int, str], list[str]] = defaultdict(list)
    conversation_pks = {pk for pk, _ in keys}
    if not conversation_pks:
        return found
    rows = session.execute(
        select(StepReviewRow.conversation_pk, StepReviewRow.sop_id, StepReviewRow.reviewer)
        .where(StepReviewRow.conversation_pk.in_(conversation_pks))
        .distinct()
        .order_by(StepReviewRow.reviewer)
    )
    for pk, sop_id, reviewer in rows:
        found[(pk, sop_id)].append(reviewer)
    return found
