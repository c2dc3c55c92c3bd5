"""Hardening a user notices: guessing keys or coach logins is slowed down (429 with Retry-After), WebSocket turns
count against the key's rate, no page can be framed by another site, /docs works offline, the models are warm before
/readyz says ready, and log lines keep no personal data and no query string."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from auditor.api.app import create_app
from auditor.api.dependencies import get_auth_throttle
from auditor.api.limits import FailureThrottle
from auditor.privacy.logs import logging_config
from auditor.privacy.policy import RedactionPolicy
from tests.api.conftest import CALL, HEADERS, KEY, make_settings, transcript


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def throttled(sop_dir: Path) -> Iterator[tuple[TestClient, Clock]]:
    clock = Clock()
    app = create_app(make_settings(sop_dir))
    throttle = FailureThrottle(allowed=3, ceiling=60, clock=clock)
    app.dependency_overrides[get_auth_throttle] = lambda: throttle  # the API and the review login both use it
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, clock


def test_wrong_keys_from_one_address_are_slowed_down(throttled) -> None:
    client, clock = throttled
    wrong = {"X-API-Key": "guess"}
    assert [client.get("/v1/sops", headers=wrong).status_code for _ in range(3)] == [401, 401, 401]
    blocked = client.get("/v1/sops", headers=wrong)
    assert blocked.status_code == 401  # the 4th failure is answered, then the address waits 1 s
    refused = client.get("/v1/sops", headers=HEADERS)  # even the right key: a blocked guesser learns nothing
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_failures"
    assert refused.headers["retry-after"] == "1"
    clock.now += 1.01
    assert client.get("/v1/sops", headers=wrong).status_code == 401  # 5th failure: now 2 s
    assert client.get("/v1/sops", headers=wrong).headers["retry-after"] == "2"
    clock.now += 2.01
    assert client.get("/v1/sops", headers=HEADERS).status_code == 200  # a success clears the address
    assert [client.get("/v1/sops", headers=wrong).status_code for _ in range(3)] == [401, 401, 401]
    assert client.get("/v1/sops", headers={}).status_code == 401  # a missing key is not a guess


def test_backoff_doubles_up_to_its_ceiling() -> None:
    clock = Clock()
    throttle = FailureThrottle(allowed=2, base=1, ceiling=8, clock=clock)
    waits = [throttle.failed("10.0.0.1") for _ in range(8)]
    assert waits == [None, None, 1, 2, 4, 8, 8, 8]
    assert throttle.wait("10.0.0.2") is None  # per address
    throttle.succeeded("10.0.0.1")
    assert throttle.wait("10.0.0.1") is None


def test_failed_review_logins_are_slowed_down(throttled) -> None:
    client, clock = throttled
    form = {"reviewer": "Mei", "key": "guess", "next": "/review"}
    statuses = [client.post("/review/login", data=form).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    blocked = client.post("/review/login", data=form | {"key": KEY}, follow_redirects=False)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins" in blocked.text
    clock.now += 60
    assert client.post("/review/login", data=form | {"key": KEY}, follow_redirects=False).status_code == 303


def test_websocket_turns_count_against_the_key_rate(sop_dir: Path) -> None:
    settings = make_settings(sop_dir, rate_limit_per_second=0.01, rate_limit_burst=3)
    with TestClient(create_app(settings)) as client:
        opened = client.post("/v1/sessions", json={"sop_id": "card-check"}, headers=HEADERS).json()  # 1 token
        with client.websocket_connect(f"/v1/sessions/{opened['session_id']}/stream", headers=HEADERS) as socket:
            answers = []
            for turn in CALL[:3]:
                socket.send_text(json.dumps(turn))
                answers.append(socket.receive_json())
            assert [a["type"] for a in answers] == ["update", "update", "error"]
            assert answers[2]["error"]["code"] == "rate_limited" and answers[2]["error"]["retry_after"] >= 1
            assert answers[1]["turns"] == 2  # the refused turn was not pushed
        assert client.get(f"/v1/sessions/{opened['session_id']}", headers=HEADERS).status_code == 429


def test_no_answer_can_be_framed_by_another_site(client: TestClient, sop_dir: Path) -> None:
    answers = [
        client.get("/healthz"),
        client.get("/docs"),
        client.get("/openapi.json"),
        client.get("/review/login"),
        client.get("/review", follow_redirects=False),
        client.get("/v1/sops"),  # 401
        client.post("/v1/audit", params={"sop": "nope"}, json=transcript(), headers=HEADERS),  # 404
        client.post("/v1/audit", params={"sop": "card-check"}, content=b"x" * 3_000_000, headers=HEADERS),  # 413
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 303, 401, 404, 413]
    for answer in answers:
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_docs_are_served_from_this_server_not_a_cdn(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"url: ?'([^']+)'", html)
        assert "cdn." not in html and "https://" not in html.replace("https://fastapi", "")
        assert assets, html
        for asset in assets:
            assert asset.startswith("/"), asset
            fetched = client.get(asset)
            assert fetched.status_code == 200 and len(fetched.content) > 100, asset


def test_models_are_warmed_up_before_ready(sop_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="auditor.api")
    with TestClient(create_app(make_settings(sop_dir))) as client:
        assert client.get("/readyz").json()["status"] == "ready"
    assert any(r.getMessage().startswith("models warmed up in") for r in caplog.records)
    caplog.clear()
    with TestClient(create_app(make_settings(sop_dir, warm_up=False))) as client:
        assert client.get("/readyz").json()["status"] == "ready"
    assert not any("warmed up" in r.getMessage() for r in caplog.records)


@pytest.fixture
def served_logs() -> Iterator[io.StringIO]:
    """The logging set-up `auditor serve` hands uvicorn, its handlers writing into one buffer; restored after."""
    buffer = io.StringIO()
    config = logging_config(RedactionPolicy(), "info")
    for handler in config["handlers"].values():
        handler["stream"] = buffer
    names = ["uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy.engine.Engine", ""]
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level) for name in names}
    propagate = {name: logging.getLogger(name).propagate for name in names}
    logging.config.dictConfig(config)
    try:
        yield buffer
    finally:
        for name, (handlers, level) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate[name]


def test_every_log_line_is_redacted_and_keeps_no_query_string(served_logs: io.StringIO) -> None:
    try:
        raise ValueError(
            "(psycopg.errors.DataError) value too long [SQL: INSERT INTO conversations] "
            "[parameters: {'turns': 'call me on 13912345678 or mei.chen@example.com'}]"
        )
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/v1/sops?api_key=sa_secret&phone=13912345678", "1.1", 200
    )
    logging.getLogger("sqlalchemy.engine.Engine").warning("retrying with %s", "+86 139 1234 5678")
    written = served_logs.getvalue()
    assert "Exception in ASGI application" in written and "Traceback" in written
    assert "[parameters: {'turns': 'call me on [PHONE] or [EMAIL]'}]" in written
    assert '"GET /v1/sops HTTP/1.1" 200' in written
    assert "retrying with [PHONE]" in written
    for secret in ("13912345678", "mei.chen@example.com", "sa_secret", "api_key", "139 1234 5678"):
        assert secret not in written
