"""A crash of `auditor serve` loses no stored audit: the process is killed (SIGKILL) while clients are storing audits,
restarted on the same SQLite database, and every audit whose request was answered 2xx is there, exactly once; the
database is consistent, the server serves as before, and clients retrying their unanswered requests store each audit
once."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from auditor.api.settings import hash_key
from auditor.privacy.policy import RedactionPolicy
from tests.api.conftest import CALL, HEADERS, KEY
from tests.api.test_serve_process import free_port, wait_until_ready

pytestmark = pytest.mark.process

CLIENTS = 4


@contextmanager
def serving(sop_dir: Path, database: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`auditor serve` on a free loopback port with the hashing embedder and this database, once it is ready; its
    log goes to a file beside the database (a pipe nobody reads would block the server once full)."""
    port = free_port()
    env = os.environ | {
        "AUDITOR_API_KEYS": f"sha256:{hash_key(KEY)}",
        "AUDITOR_ANOMALIES": "false",
        "AUDITOR_RATE_LIMIT_PER_SECOND": "10000",
        "AUDITOR_RATE_LIMIT_BURST": "10000",
    }
    command = [sys.executable, "-m", "auditor.cli", "serve", "--port", str(port), "--embedder", "hashing"]
    command += ["--sop-dir", str(sop_dir), "--db", f"sqlite:///{database}", "--log-level", "warning"]
    log = database.with_name(f"serve-{port}.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process, lambda: Path(log.name).read_text(errors="replace"))
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        log.close()


class Clients:
    """Clients storing audits in a loop, some audited by the server, some sent as results made elsewhere."""

    def __init__(self, base: str, result: dict):
        self.base = base
        self.result = result  # a result of CALL, re-labelled per conversation for /v1/review/results
        self.numbers = itertools.count()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answered: dict[str, int] = {}  # conversation id -> audit id, for each 2xx
        self.unanswered: set[str] = set()  # in flight when the server died
        self.refused: list[str] = []

    def store(self, client: httpx.Client, conversation_id: str) -> tuple[int, dict]:
        """(status, the stored audit: audit_id, conversation_id, created), through one of the two store routes."""
        transcript = {"id": conversation_id, "agent_id": "a-7", "turns": CALL}
        if int(conversation_id.rsplit("-", 1)[1]) % 2:
            response = client.post("/v1/review/audit", params={"sop": "card-check"}, json=transcript)
            return response.status_code, response.json()
        result = self.result | {"conversation_id": conversation_id}
        response = client.post("/v1/review/results", json={"results": [result], "transcripts": [transcript]})
        return response.status_code, response.json()[0] if response.is_success else response.json()

    def loop(self) -> None:
        with httpx.Client(base_url=self.base, headers=HEADERS, timeout=30) as client:
            while not self.stop.is_set():
                conversation_id = f"crash-{next(self.numbers)}"
                try:
                    status, body = self.store(client, conversation_id)
                except httpx.TransportError:
                    with self.lock:
                        self.unanswered.add(conversation_id)
                    return
                with self.lock:
                    if status == 200:
                        self.answered[conversation_id] = body["audit_id"]
                    else:
                        self.refused.append(f"{conversation_id}: {status} {body}")


def test_a_killed_server_restarts_with_every_acknowledged_audit_stored_once(sop_dir, tmp_path):
    database = tmp_path / "audits.db"
    with serving(sop_dir, database) as (base, process):
        result = httpx.post(f"{base}/v1/audit", params={"sop": "card-check"}, json={"turns": CALL}, headers=HEADERS)
        clients = Clients(base, result.json())
        threads = [threading.Thread(target=clients.loop) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(clients.answered) < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)  # no shutdown: requests in flight, the database as the crash left it
        process.wait(timeout=30)
        clients.stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert len(clients.answered) >= 30 and not clients.refused
    assert clients.unanswered, "the server should have died with requests in flight"

    connection = sqlite3.connect(database)
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    stored = dict(connection.execute("SELECT conversation_id, COUNT(*) FROM conversations GROUP BY conversation_id"))
    audits = connection.execute(
        "SELECT c.conversation_id, a.id, a.latest, (SELECT COUNT(*) FROM audit_steps s WHERE s.audit_id = a.id) "
        "FROM audits a JOIN conversations c ON c.id = a.conversation_pk"
    ).fetchall()
    connection.close()
    assert set(clients.answered) <= set(stored) <= set(clients.answered) | clients.unanswered
    assert set(stored.values()) == {1}  # each conversation once
    assert sorted(conversation for conversation, *_ in audits) == sorted(stored)  # one audit each
    assert {conversation: audit_id for conversation, audit_id, *_ in audits if conversation in clients.answered} == (
        clients.answered
    )
    assert {(latest, steps) for _, _, latest, steps in audits} == {(1, 4)}  # latest, with its 4 step rows

    with serving(sop_dir, database) as (base, process), httpx.Client(base_url=base, headers=HEADERS) as client:
        for conversation_id, audit_id in clients.answered.items():
            stored_audit = client.get(f"/v1/review/audits/{audit_id}").json()
            assert stored_audit["result"]["conversation_id"] == conversation_id
            stored_texts = [turn["text"] for turn in stored_audit["turns"]]
            assert stored_texts == RedactionPolicy().redact_turns([turn["text"] for turn in CALL])  # stored redacted
        retried = {name: clients.store(client, name) for name in sorted(clients.unanswered | set(clients.answered))}
        assert {status for status, _ in retried.values()} == {200}
        assert {name: retried[name][1]["audit_id"] for name in clients.answered} == clients.answered  # same audit
        assert not any(retried[name][1]["created"] for name in clients.answered)  # not stored a second time
        queue = client.get("/v1/review/queue", params={"state": "all", "limit": 500}).json()
        assert sorted(item["conversation_id"] for item in queue["items"]) == sorted(retried)  # each once
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
