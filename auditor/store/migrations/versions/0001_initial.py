"""The first schema: conversations (transcripts), audits (results), their step verdicts, coaches' step reviews.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("agent_id", sa.String(length=200), nullable=True),
        sa.Column("lang", sa.String(length=20), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("turns", sa.JSON(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id"),
    )
    op.create_table(
        "audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_pk", sa.Integer(), nullable=False),
        sa.Column("sop_id", sa.String(length=100), nullable=False),
        sa.Column("sop_version", sa.String(length=50), nullable=False),
        sa.Column("models_key", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=200), nullable=True),
        sa.Column("conversation_date", sa.DateTime(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("critical_misses", sa.Integer(), nullable=False),
        sa.Column("dissatisfaction", sa.Float(), nullable=True),
        sa.Column("anomaly", sa.Float(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("latest", sa.Boolean(), nullable=False),
        sa.Column("audited_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_pk"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_pk", "sop_id", "sop_version", "models_key", name="uq_audit_identity"),
    )
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audits_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audits_conversation_date"), ["conversation_date"], unique=False)
        batch_op.create_index("ix_audits_queue", ["latest", "risk"], unique=False)
        batch_op.create_index(batch_op.f("ix_audits_sop_id"), ["sop_id"], unique=False)

    op.create_table(
        "audit_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("audit_id", "step_id", name="uq_audit_step"),
    )
    with op.batch_alter_table("audit_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_steps_audit_id"), ["audit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_steps_step_id"), ["step_id"], unique=False)

    op.create_table(
        "step_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_pk", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("sop_id", sa.String(length=100), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("auditor_status", sa.String(length=20), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("coach_status", sa.String(length=20), nullable=False),
        sa.Column("turn_index", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["conversation_pk"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_pk", "sop_id", "step_id", "reviewer", name="uq_step_review"),
    )
    with op.batch_alter_table("step_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_step_reviews_audit_id"), ["audit_id"], unique=False)
        batch_op.create_index("ix_step_reviews_sop_step", ["sop_id", "step_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("step_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_step_reviews_sop_step")
        batch_op.drop_index(batch_op.f("ix_step_reviews_audit_id"))

    op.drop_table("step_reviews")
    with op.batch_alter_table("audit_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_steps_step_id"))
        batch_op.drop_index(batch_op.f("ix_audit_steps_audit_id"))

    op.drop_table("audit_steps")
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audits_sop_id"))
        batch_op.drop_index("ix_audits_queue")
        batch_op.drop_index(batch_op.f("ix_audits_conversation_date"))
        batch_op.drop_index(batch_op.f("ix_audits_agent_id"))

    op.drop_table("audits")
    op.drop_table("conversations")
