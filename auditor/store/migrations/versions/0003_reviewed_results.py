"""Reviewed results: the final step verdicts, score and outcome of an audit after coach review.

Adds ``final_score``, ``final_outcome``, ``reviewed_steps`` and ``reviewed_at`` to ``audits`` and ``final_status``
and ``reviewed`` to ``audit_steps``, filled with the automatic values; audits whose conversation and SOP coaches had
already reviewed get their final values from those verdicts (``auditor.store.final_results``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

AUDITS = sa.table(
    "audits",
    sa.column("id", sa.Integer()),
    sa.column("conversation_pk", sa.Integer()),
    sa.column("sop_id", sa.String()),
    sa.column("score", sa.Float()),
    sa.column("outcome", sa.String()),
    sa.column("result", sa.JSON()),
    sa.column("final_score", sa.Float()),
    sa.column("final_outcome", sa.String()),
    sa.column("reviewed_steps", sa.Integer()),
    sa.column("reviewed_at", sa.DateTime()),
)
STEPS = sa.table(
    "audit_steps",
    sa.column("audit_id", sa.Integer()),
    sa.column("step_id", sa.String()),
    sa.column("status", sa.String()),
    sa.column("final_status", sa.String()),
    sa.column("reviewed", sa.Boolean()),
)
REVIEWS = sa.table(
    "step_reviews",
    sa.column("id", sa.Integer()),
    sa.column("conversation_pk", sa.Integer()),
    sa.column("sop_id", sa.String()),
    sa.column("step_id", sa.String()),
    sa.column("coach_status", sa.String()),
    sa.column("turn_index", sa.Integer()),
    sa.column("updated_at", sa.DateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("final_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("final_outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("reviewed_steps", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("audit_steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("final_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("reviewed", sa.Boolean(), nullable=True))
    op.execute(AUDITS.update().values(final_score=AUDITS.c.score, final_outcome=AUDITS.c.outcome, reviewed_steps=0))
    op.execute(STEPS.update().values(final_status=STEPS.c.status, reviewed=False))
    _reviewed_audits()
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.alter_column("final_score", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("final_outcome", existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column("reviewed_steps", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("audit_steps", schema=None) as batch_op:
        batch_op.alter_column("final_status", existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column("reviewed", existing_type=sa.Boolean(), nullable=False)


def _reviewed_audits() -> None:
    """Audits already reviewed get the final values their coaches' verdicts give."""
    from auditor.result import ConversationResult
    from auditor.store.final_results import consensus, final_result

    connection = op.get_bind()
    grouped: dict[tuple[int, str], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    latest: dict[tuple[int, str], datetime] = {}
    reviews = connection.execute(sa.select(REVIEWS).order_by(REVIEWS.c.updated_at, REVIEWS.c.id))
    for review in reviews:
        key = (review.conversation_pk, review.sop_id)
        grouped[key][review.step_id].append(SimpleNamespace(coach_status=review.coach_status, turn_index=None))
        latest[key] = review.updated_at
    if not grouped:
        return
    audits = connection.execute(sa.select(AUDITS.c.id, AUDITS.c.conversation_pk, AUDITS.c.sop_id, AUDITS.c.result))
    for audit in audits.all():
        key = (audit.conversation_pk, audit.sop_id)
        if key not in grouped:
            continue
        decided = {step_id: consensus(group)[0] for step_id, group in grouped[key].items()}
        final = final_result(ConversationResult.model_validate(audit.result), decided, latest[key])
        connection.execute(
            AUDITS.update()
            .where(AUDITS.c.id == audit.id)
            .values(
                final_score=final.score,
                final_outcome=final.outcome,
                reviewed_steps=final.reviewed_steps,
                reviewed_at=final.reviewed_at if final.reviewed else None,
            )
        )
        for step in final.steps:
            if step.reviewed:
                connection.execute(
                    STEPS.update()
                    .where(STEPS.c.audit_id == audit.id, STEPS.c.step_id == step.step_id)
                    .values(final_status=step.final, reviewed=True)
                )


def downgrade() -> None:
    with op.batch_alter_table("audit_steps", schema=None) as batch_op:
        batch_op.drop_column("reviewed")
        batch_op.drop_column("final_status")
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_steps")
        batch_op.drop_column("final_outcome")
        batch_op.drop_column("final_score")
