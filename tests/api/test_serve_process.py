"""`auditor serve` as a user starts it: a real uvicorn process on loopback, called with real HTTP and WebSocket
clients, stopped cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from websockets.sync.client import connect

from auditor.api.settings import hash_key
from tests.api.conftest import CALL, KEY

pytestmark = pytest.mark.process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(base: str, process: subprocess.Popen, output: Callable[[], str], timeout: float = 90) -> None:
    """Wait until `auditor serve` at ``base`` answers /readyz; if it exits or the time runs out, kill it and fail
    with the tail of its ``output``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    process.wait(timeout=30)
    pytest.fail("auditor serve did not become ready: " + output()[-2000:])


@pytest.fixture(scope="module")
def server(sop_dir) -> Iterator[str]:
    port = free_port()
    env = os.environ | {
        "AUDITOR_API_KEYS": f"sha256:{hash_key(KEY)}",
        "AUDITOR_ANOMALIES": "false",
        "AUDITOR_DATABASE_URL": f"sqlite:///{sop_dir / 'serve.db'}",
    }
    command = [sys.executable, "-m", "auditor.cli", "serve", "--port", str(port), "--embedder", "hashing"]
    process = subprocess.Popen([*command, "--sop-dir", str(sop_dir)], env=env, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    wait_until_ready(base, process, lambda: process.stderr.read().decode())
    yield base
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


def test_real_http_audit_and_docs(server):
    with httpx.Client(base_url=server, headers={"X-API-Key": KEY}) as client:
        body = {"id": "call-1", "agent_id": "a-7", "turns": CALL}
        response = client.post("/v1/audit", params={"sop": "card-check"}, json=body)
        assert response.status_code == 200
        assert response.headers["server-timing"].startswith("app;dur=")
        assert all(step["status"] == "done" for step in response.json()["steps"])
        assert client.get("/docs").status_code == 200
        assert "/v1/sessions/{session_id}/turns" in client.get("/openapi.json").json()["paths"]


def test_real_websocket_session(server):
    headers = {"X-API-Key": KEY}
    opened = httpx.post(f"{server}/v1/sessions", json={"sop_id": "card-check"}, headers=headers).json()
    url = server.replace("http://", "ws://") + f"/v1/sessions/{opened['session_id']}/stream"
    with connect(url, additional_headers=headers) as socket_:
        for turn in CALL:
            socket_.send(json.dumps(turn))
            update = json.loads(socket_.recv())
        assert update["done"] == ["greet", "verify", "discuss", "close"]
        socket_.send(json.dumps({"type": "close"}))
        assert json.loads(socket_.recv())["type"] == "result"
