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


MAX_ROW_ID = 2**31 - 1
"""The largest id an ``Integer`` primary key holds on every backend (PostgreSQL's ``integer`` is 32 bits)."""


def audit_row(session: Session, audit_id: int) -> AuditRow | None:
    """The audit with this id, or None; an id no row can have (0, negative, past 32 bits) is simply not found, on
    PostgreSQL as on SQLite, instead of a database error."""
    if not 1 <= audit_id <= MAX_ROW_ID:
        return None
    return session.get(AuditRow, audit_id)
