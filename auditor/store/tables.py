"""The tables (SQLAlchemy 2 declarative models); the Alembic migrations in ``migrations/`` create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


def utc_now() -> datetime:
    """Naive UTC: SQLite keeps no time zone, so every timestamp in the store is UTC without one."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ConversationRow(Base):
    """A transcript, once per conversation id; ``turns`` is None when only its results were imported."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(200), unique=True)
    agent_id: Mapped[str | None] = mapped_column(String(200))
    lang: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    turns: Mapped[list[Any] | None] = mapped_column(JSON)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)

    audits: Mapped[list[AuditRow]] = relationship(back_populates="conversation", cascade="all, delete-orphan")


class AuditRow(Base):
    """One result: a conversation audited against one SOP version by one set of models.

    Saving the same (conversation, SOP id, SOP version, models) again replaces the row's result instead of adding
    a row, so re-auditing is idempotent; ``latest`` marks the newest audit of a conversation against an SOP id.
    """

    __tablename__ = "audits"
    __table_args__ = (
        UniqueConstraint("conversation_pk", "sop_id", "sop_version", "models_key", name="uq_audit_identity"),
        Index("ix_audits_queue", "latest", "risk"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_pk: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sop_id: Mapped[str] = mapped_column(String(100), index=True)
    sop_version: Mapped[str] = mapped_column(String(50))
    models_key: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(200), index=True)
    conversation_date: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(20))
    """passed / failed / needs_review; rows stored before outcomes existed were filled from ``passed``."""
    risk: Mapped[float] = mapped_column(Float)
    critical_misses: Mapped[int] = mapped_column(Integer, default=0)
    dissatisfaction: Mapped[float | None] = mapped_column(Float)
    anomaly: Mapped[float | None] = mapped_column(Float)
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    latest: Mapped[bool] = mapped_column(Boolean, default=True)
    audited_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    final_score: Mapped[float] = mapped_column(Float)
    """The score after coach review (``auditor.store.final_results``); the automatic ``score`` when not reviewed."""
    final_outcome: Mapped[str] = mapped_column(String(20))
    """The outcome after coach review; the automatic ``outcome`` when not reviewed."""
    reviewed_steps: Mapped[int] = mapped_column(Integer, default=0)
    """How many of its steps coaches reviewed (0: not reviewed)."""
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    """When the last coach verdict on it was given."""
    scoring: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """The SOP's rules for scoring reviewed verdicts, when the SOP was known at saving: ``{"weights": {step: w},
    "pass_score": p}`` (``auditor.store.final_results.scoring_rules``); None: a built-in SOP's, else weight 1 each."""

    conversation: Mapped[ConversationRow] = relationship(back_populates="audits")
    steps: Mapped[list[AuditStepRow]] = relationship(
        back_populates="audit", cascade="all, delete-orphan", order_by="AuditStepRow.position"
    )


class AuditStepRow(Base):
    """A step verdict of an audit, as its own row so the queue filters by step and agreement joins on it."""

    __tablename__ = "audit_steps"
    __table_args__ = (UniqueConstraint("audit_id", "step_id", name="uq_audit_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float] = mapped_column(Float)
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    final_status: Mapped[str] = mapped_column(String(20))
    """The coaches' status when reviewed (majority, ties the latest), else ``status``."""
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)

    audit: Mapped[AuditRow] = relationship(back_populates="steps")


class StepReviewRow(Base):
    """A coach's verdict on one step of a conversation audited against an SOP.

    One row per (conversation, SOP id, step, reviewer): a coach who reviews again (after a re-audit, say) updates
    their verdict. ``audit_id`` and ``auditor_status`` record which audit and which status the coach was shown.
    """

    __tablename__ = "step_reviews"
    __table_args__ = (
        UniqueConstraint("conversation_pk", "sop_id", "step_id", "reviewer", name="uq_step_review"),
        Index("ix_step_reviews_sop_step", "sop_id", "step_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_pk: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    sop_id: Mapped[str] = mapped_column(String(100))
    step_id: Mapped[str] = mapped_column(String(100))
    reviewer: Mapped[str] = mapped_column(String(100))
    auditor_status: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str] = mapped_column(String(20))
    coach_status: Mapped[str] = mapped_column(String(20))
    turn_index: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class CalibrationSessionRow(Base):
    """A calibration session: several coaches review the same conversations blind, then compare.

    Its verdicts are kept in ``calibration_verdicts``, apart from the everyday ``step_reviews``: they never change a
    conversation's result, the agreement report or retraining. ``created_by`` is the session's lead (sees the results
    at any time, closes it); the others see the results once it is closed. ``hide_auditor`` hides the automatic
    verdicts from the coaches while it is open.
    """

    __tablename__ = "calibration_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    hide_auditor: Mapped[bool] = mapped_column(Boolean, default=True)

    conversations: Mapped[list[CalibrationConversationRow]] = relationship(
        cascade="all, delete-orphan", order_by="CalibrationConversationRow.position"
    )
    coaches: Mapped[list[CalibrationCoachRow]] = relationship(
        cascade="all, delete-orphan", order_by="CalibrationCoachRow.position"
    )


class CalibrationConversationRow(Base):
    """A conversation of a calibration session: the audit every coach of the session reviews."""

    __tablename__ = "calibration_conversations"
    __table_args__ = (UniqueConstraint("session_id", "audit_id", name="uq_calibration_conversation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id", ondelete="CASCADE"), index=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)


class CalibrationCoachRow(Base):
    """A coach named in a calibration session (by the name they sign in with)."""

    __tablename__ = "calibration_coaches"
    __table_args__ = (UniqueConstraint("session_id", "coach", name="uq_calibration_coach"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id", ondelete="CASCADE"), index=True)
    coach: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)


class CalibrationVerdictRow(Base):
    """A coach's status for one step of one conversation within a calibration session (one row per coach and step;
    reviewing again replaces it). ``auditor_status`` is the automatic verdict at the time, for the comparison."""

    __tablename__ = "calibration_verdicts"
    __table_args__ = (UniqueConstraint("session_id", "audit_id", "step_id", "coach", name="uq_calibration_verdict"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id", ondelete="CASCADE"), index=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(100))
    coach: Mapped[str] = mapped_column(String(100))
    auditor_status: Mapped[str] = mapped_column(String(20))
    coach_status: Mapped[str] = mapped_column(String(20))
    turn_index: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class ReviewEventRow(Base):
    """A change of state of a reviewed step, kept for good: an agent acknowledged or disputed the verdict, another
    reviewer upheld or overturned the dispute. Who (``actor`` and their ``role``), when (``at``), whose verdict was
    answered (``reviewer``) and the status it gave (``status``; an overturn's new status)."""

    __tablename__ = "review_events"
    __table_args__ = (Index("ix_review_events_step", "conversation_pk", "sop_id", "step_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_pk: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    sop_id: Mapped[str] = mapped_column(String(100))
    step_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    """acknowledged / disputed / upheld / overturned"""
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    reviewer: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class ReviewSampleRow(Base):
    """A sample of audits drawn for review (auditor/review/sampling.py): of the ``population`` latest audits matching
    ``filters`` when drawn, the ``risk_ranked`` top of the risk-ranked queue (each taken for sure) and ``random_drawn``
    uniformly at random from the rest (``seed`` reproduces the draw), so estimates from its reviews can be weighted."""

    __tablename__ = "review_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drawn_by: Mapped[str] = mapped_column(String(100))
    drawn_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seed: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    random_share: Mapped[float] = mapped_column(Float)
    population: Mapped[int] = mapped_column(Integer)
    risk_ranked: Mapped[int] = mapped_column(Integer)
    random_drawn: Mapped[int] = mapped_column(Integer)

    assignments: Mapped[list[AssignmentRow]] = relationship(
        cascade="all, delete-orphan", order_by="AssignmentRow.position"
    )


class AssignmentRow(Base):
    """An audit of a sample assigned to a coach: by whom and when, how it entered the sample (``risk_ranked`` or
    ``random``) with its inclusion probability, and when the coach reviewed it (``done_at``, None while open)."""

    __tablename__ = "review_assignments"
    __table_args__ = (UniqueConstraint("sample_id", "audit_id", name="uq_review_assignment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("review_samples.id", ondelete="CASCADE"), index=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    coach: Mapped[str] = mapped_column(String(100), index=True)
    assigned_by: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    how: Mapped[str] = mapped_column(String(20))
    """risk_ranked (from the top of the queue, probability 1) or random (from the rest)"""
    inclusion_probability: Mapped[float] = mapped_column(Float)


MAX_ROW_ID = 2**31 - 1
"""The largest id an ``Integer`` primary key holds on every backend (PostgreSQL's ``integer`` is 32 bits)."""


def storable_text(value: str) -> str:
    """Text the store can keep on every backend: PostgreSQL refuses NUL in text (SQLite would keep it), and text that
    is not valid Unicode (an unpaired surrogate) cannot be encoded; both are refused (422) on both stores."""
    if "\x00" in value:
        raise ValueError("holds a NUL character, which the store cannot keep")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode text (an unpaired surrogate)") from None
    return value


def storable_texts(value: Any) -> Any:
    """``storable_text`` for a text, or each text of a list; None as it is (for optional and list fields)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [storable_text(item) if isinstance(item, str) else item for item in value]
    return storable_text(value) if isinstance(value, str) else value


def audit_row(session: Session, audit_id: int) -> AuditRow | None:
    """The audit with this id, or None; an id no row can have (0, negative, past 32 bits) is simply not found, on
    PostgreSQL as on SQLite, instead of a database error."""
    if not 1 <= audit_id <= MAX_ROW_ID:
        return None
    return session.get(AuditRow, audit_id)
