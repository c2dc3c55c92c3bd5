"""Audits get their three-way outcome (passed / failed / needs_review); rows stored before are read from ``passed``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
    audits = sa.table("audits", sa.column("passed", sa.Boolean()), sa.column("outcome", sa.String(length=20)))
    op.execute(audits.update().values(outcome=sa.case((audits.c.passed.is_(True), "passed"), else_="failed")))
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.alter_column("outcome", existing_type=sa.String(length=20), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.drop_column("outcome")
