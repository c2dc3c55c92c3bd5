"""`auditor serve` as a user starts it, against clients that misbehave: connections trickling a request head are
closed after the head timeout while others are served, guessed keys get 429, and the process's own log lines keep
no query string."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from auditor.api.settings import hash_key
from bench.api_load import trickle
from tests.api.conftest import KEY
from tests.api.test_serve_process import free_port, wait_until_ready

pytestmark = [pytest.mark.slow, pytest.mark.process]


@pytest.fixture(scope="module")
def server(sop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    port = free_port()
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    env = os.environ | {
        "AUDITOR_API_KEYS": f"sha256:{hash_key(KEY)}",
        "AUDITOR_ANOMALIES": "false",
        "AUDITOR_DATABASE_URL": f"sqlite:///{sop_dir / 'hardening.db'}",
        "AUDITOR_HEADER_TIMEOUT_SECONDS": "1",
    }
    command = [sys.executable, "-m", "auditor.cli", "serve", "--port", str(port), "--embedder", "hashing"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--sop-dir", str(sop_dir)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base, process, lambda: log.read_text(encoding="utf-8", errors="replace"))
        yield base, port, log
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_trickling_connections_are_closed_after_the_head_timeout(server) -> None:
    base, port, _ = server

    async def scenario() -> tuple[list[float], int]:
        slow = asyncio.create_task(trickle(port, 50, 0.2, 20.0))
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(base_url=base) as client:
            served = (await client.get("/v1/sops", headers={"X-API-Key": KEY})).status_code
        return await slow, served

    held, served = asyncio.run(scenario())
    assert served == 200  # a normal client is served meanwhile
    assert max(held) < 3.0 and min(held) >= 0.9  # closed after 1 s, not when the client gives up (20 s)


def test_guessed_keys_get_429_and_logs_keep_no_query_string(server) -> None:
    base, _, log = server
    with httpx.Client(base_url=base) as client:
        statuses = [client.get("/v1/sops", headers={"X-API-Key": "guess"}).status_code for _ in range(7)]
        assert statuses == [401] * 6 + [429]
        blocked = client.get("/v1/sops", headers={"X-API-Key": KEY})
        assert blocked.status_code == 429 and blocked.headers["retry-after"] == "1"
        assert blocked.headers["x-frame-options"] == "DENY"
        assert client.get("/healthz", params={"api_key": "sa_leaked_key", "phone": "13912345678"}).status_code == 200
    written = log.read_text(encoding="utf-8")
    assert '"GET /healthz HTTP/1.1" 200' in written
    assert "sa_leaked_key" not in written and "13912345678" not in written and "api_key" not in written
