"""Alembic environment: runs on the connection ``open_store`` hands over, or on ``sqlalchemy.url`` from the CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from auditor.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///audits.db")
    with engine.begin() as owned:
        _run(owned)
    engine.dispose()


def _run(connection) -> None:
    # batch mode lets later migrations alter SQLite tables (SQLite has no ALTER COLUMN)
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
