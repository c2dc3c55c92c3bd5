"""The same store on PostgreSQL: a throwaway cluster on a Unix socket (skipped where PostgreSQL is not installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from auditor.review.agreement import agreement_report
from auditor.review.queue import QueueFilters, review_queue
from auditor.review.verdicts import StepVerdict, record_verdicts
from auditor.store.audits import save_results
from auditor.store.database import current_revision, open_store
from auditor.store.tables import AuditRow
from tests.review.factories import audited

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(command: list[str]) -> subprocess.CompletedProcess[str]:
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(runner + command, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb = BIN / "initdb"
    if not initdb.exists() or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("PostgreSQL 15 is not installed here (apt-get install postgresql)")
    pytest.importorskip("psycopg")
    folder = Path(tempfile.mkdtemp(prefix="auditor-pg-"))
    os.chmod(folder, 0o777)
    data, socket = folder / "data", folder
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    done = _as_postgres([str(initdb), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    if done.returncode != 0:
        pytest.skip(f"initdb failed: {done.stderr[-300:]}")
    options = f"-c listen_addresses='' -c unix_socket_directories={socket} -c fsync=off"
    log = folder / "server.log"
    started = _as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"])
    assert started.returncode == 0, started.stderr
    try:
        created = _as_postgres([str(BIN / "createdb"), "-h", str(socket), "-U", "postgres", "reviews"])
        assert created.returncode == 0, created.stderr
        yield f"postgresql+psycopg://postgres@/reviews?host={socket}"
    finally:
        _as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_the_store_works_on_postgresql(postgres_url: str) -> None:
    results, conversations = audited()
    store = open_store(postgres_url)
    assert current_revision(store.engine) == "0002"
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
