"""The audit and review store: audits, transcripts and coach verdicts in SQLite (default) or PostgreSQL.

``open_store(url)`` connects and brings the schema up to date with the Alembic migrations in ``migrations/``;
``auditor.store.audits`` saves results (idempotently) and ``auditor.store.reviews`` records verdicts.
"""
