"""The same store on PostgreSQL: a throwaway cluster on a Unix socket (tests/pg.py; Debian's postgresql package is
installed when missing, never skipped)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from auditor.review.agreement import agreement_report
from auditor.review.coach_verdicts import StepVerdict, record_verdicts
from auditor.review.queue import QueueFilters, review_queue
from auditor.store.audits import save_results
from auditor.store.database import current_revision, head_revision, open_store
from auditor.store.tables import AuditRow
from tests.pg import PostgresCluster
from tests.review.factories import audited


@pytest.fixture(scope="module")
def postgres_url(postgres: PostgresCluster) -> str:
    return postgres.database("store")


@pytest.mark.slow
def test_the_store_works_on_postgresql(postgres_url: str) -> None:
    results, conversations = audited()
    store = open_store(postgres_url)
    assert current_revision(store.engine) == head_revision() == "0007"
    with store.session() as session:
        first = save_results(session, results, conversations)
    with store.session() as session:
        again = save_results(session, results, conversations)
        assert [s.created for s in again] == [False, False, False]
        assert session.scalar(select(func.count()).select_from(AuditRow)) == 3
        page = review_queue(session, QueueFilters(step_id="verify"))
        assert [item.conversation_id for item in page.items] == ["en-no-verify", "zh-call"]
        record_verdicts(session, first[1].audit_id, "Mei", [StepVerdict(step_id="verify", verdict="overturn")])
    with store.session() as session:
        report = agreement_report(session)
        assert report.auditor[0].disagreements == {"missing -> done": 1}
    store.close()
