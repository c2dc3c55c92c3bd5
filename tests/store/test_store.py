"""The store: migrations build the schema the models describe, saving is idempotent, and bad URLs are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from auditor.privacy.policy import RedactionPolicy
from auditor.review.coach_verdicts import StepVerdict, record_verdicts
from auditor.store.audits import audit_result, save_result, save_results, stored_conversation
from auditor.store.database import StoreError, current_revision, head_revision, open_store
from auditor.store.tables import AuditRow, Base, ConversationRow, StepReviewRow
from tests.review.factories import audited


@pytest.fixture(scope="module")
def audits():  # type: ignore[no-untyped-def]
    return audited()


def test_migrations_create_exactly_the_tables_the_models_describe(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'new' / 'audits.db'}")
    assert (tmp_path / "new" / "audits.db").exists()
    assert current_revision(store.engine) == head_revision() == "0007"
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []  # a model change without a migration fails here
    store.close()


def test_opening_again_keeps_the_data(tmp_path: Path, audits) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'audits.db'}"
    results, conversations = audits
    store = open_store(url)
    with store.session() as session:
        save_results(session, results, conversations)
    store.close()
    again = open_store(url)
    with again.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditRow)) == 3
    again.close()


def test_saving_the_same_audit_twice_keeps_one_row_and_the_reviews(audits) -> None:  # type: ignore[no-untyped-def]
    results, conversations = audits
    store = open_store("sqlite://")
    with store.session() as session:
        first = save_results(session, results, conversations)
        record_verdicts(session, first[1].audit_id, "Mei", [StepVerdict(step_id="verify", verdict="confirm")])
    with store.session() as session:
        second = save_results(session, results, conversations)
        assert [s.created for s in first] == [True, True, True]
        assert [s.created for s in second] == [False, False, False]
        assert [s.audit_id for s in second] == [s.audit_id for s in first]
        assert session.scalar(select(func.count()).select_from(AuditRow)) == 3
        assert session.scalar(select(func.count()).select_from(ConversationRow)) == 3
        assert session.scalar(select(func.count()).select_from(StepReviewRow)) == 1


def test_new_models_add_an_audit_and_only_the_newest_is_latest(audits) -> None:  # type: ignore[no-untyped-def]
    results, conversations = audits
    store = open_store("sqlite://")
    retrained = results[0].model_copy(update={"models": results[0].models | {"step_scorer": "retrained"}})
    with store.session() as session:
        old = save_result(session, results[0], conversations[results[0].conversation_id])
        new = save_result(session, retrained)
        assert new.created and new.audit_id != old.audit_id
        latest = session.scalars(select(AuditRow.id).where(AuditRow.latest.is_(True))).all()
        assert latest == [new.audit_id]
        row = session.get(AuditRow, new.audit_id)
        assert row is not None
        assert stored_conversation(row.conversation) is not None  # the transcript stored first is kept
        assert audit_result(row).models["step_scorer"] == "retrained"


def test_transcript_round_trips_with_turn_indices_and_dates(audits) -> None:  # type: ignore[no-untyped-def]
    results, conversations = audits
    store = open_store("sqlite://")
    with store.session() as session:
        saved = save_results(session, results, conversations)
        row = session.get(AuditRow, saved[2].audit_id)
        assert row is not None
        conversation = stored_conversation(row.conversation)
        assert conversation is not None
        original = RedactionPolicy().redact_conversation(conversations["zh-call"])  # stored redacted
        assert [(t.index, t.role, t.text) for t in conversation.turns] == [
            (t.index, t.role, t.text) for t in original.turns
        ]
        assert row.conversation_date is not None and row.conversation_date.hour == 6  # 14:00 +08:00 in UTC


@pytest.mark.parametrize(
    ("url", "expected"),
    [("nosuchdb://x", "nosuchdb"), ("sqlite:////proc/no/such/dir/audits.db", "/proc/no/such/dir")],
)
def test_bad_database_urls_are_named(url: str, expected: str) -> None:
    with pytest.raises(StoreError, match=expected):
        open_store(url)


def test_the_password_never_shows_in_errors() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql+psycopg://coach:s3cret@127.0.0.1:1/reviews")
    assert "s3cret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)
