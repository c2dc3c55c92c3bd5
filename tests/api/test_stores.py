"""The review API answers the same on SQLite and on PostgreSQL (a real throwaway cluster, tests/pg.py): ids no row can
have are 404, text the store cannot keep is 422, never a 500; and results a client made without redaction are stored
and shown redacted with the server's policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from auditor.api.app import create_app
from auditor.api.settings import Settings
from tests.review.conftest import HEADERS, KEY, login, review_settings, seed

STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]
PHONE = "13912345678"
EMAIL = "mei.chen@example.com"


def database_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'audits.db'}"
    return str(request.getfixturevalue("postgres").database("api"))


@pytest.fixture(params=STORES)
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return review_settings(tmp_path, database_url=database_url(request.param, request, tmp_path))


@pytest.fixture
def client(store_settings: Settings) -> Iterator[tuple[TestClient, dict[str, int]]]:
    audit_ids = seed(store_settings.database_url)
    with TestClient(create_app(store_settings), raise_server_exceptions=False) as test_client:
        yield test_client, audit_ids


@pytest.mark.parametrize("audit_id", [2**31 - 1, 2**31, 2**53, 2**63 - 1])
def test_ids_no_row_can_have_are_not_found_on_both_stores(client, audit_id: int) -> None:
    api, _ = client
    fetched = api.get(f"/v1/review/audits/{audit_id}", headers=HEADERS)
    assert fetched.status_code == 404 and fetched.json()["error"]["code"] == "unknown_audit"
    verdicts = {"reviewer": "Mei", "verdicts": [{"step_id": "greet", "verdict": "confirm"}]}
    posted = api.post(f"/v1/review/audits/{audit_id}/verdicts", json=verdicts, headers=HEADERS)
    assert posted.status_code == 404 and posted.json()["error"]["code"] == "unknown_audit"
    login(api)
    assert api.get(f"/review/audits/{audit_id}").status_code == 404
    assert api.get(f"/review/audits/{audit_id}0000000000000").status_code == 404
    assert api.get("/review", params={"offset": str(2**70)}).status_code == 200


@pytest.mark.parametrize(
    ("reviewer", "comment", "field"),
    [
        ("Mei\x00", "", "reviewer"),
        ("Mei", "fine\x00", "comment"),
        ("Mei\ud800", "", "reviewer"),
        ("Mei", "ok \udfff", "comment"),
    ],
)
def test_text_the_store_cannot_keep_is_refused_alike(client, reviewer: str, comment: str, field: str) -> None:
    api, audit_ids = client
    audit_id = audit_ids["en-no-verify"]
    body = {"reviewer": reviewer, "verdicts": [{"step_id": "verify", "verdict": "overturn", "comment": comment}]}
    sent = json.dumps(body)  # ASCII escapes: an unpaired surrogate travels as "\\ud800", as a client may send it
    headers = HEADERS | {"content-type": "application/json"}
    refused = api.post(f"/v1/review/audits/{audit_id}/verdicts", content=sent, headers=headers)
    assert refused.status_code == 422, refused.text
    assert field in refused.json()["error"]["message"]
    queue = api.get("/v1/review/queue", params={"agent": "a\x00"}, headers=HEADERS)
    assert queue.status_code == 422 and queue.json()["error"]["message"].startswith("agent:")
    # the same through the pages: control characters are dropped from names, comments and filters
    login(api, name="Mei\x00Chen")
    assert api.get("/review", params={"agent": "a\x00", "step": "\x00"}).status_code == 200
    page = api.get(f"/review/audits/{audit_id}")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"csrf": token, "v-verify": "overturn", "s-verify": "done", "c-verify": "said\x00 it"}
    saved = api.post(f"/review/audits/{audit_id}", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    stored = api.get(f"/v1/review/audits/{audit_id}", headers=HEADERS).json()["reviews"]
    assert [(r["reviewer"], r["comment"]) for r in stored] == [("MeiChen", "said it")]


@pytest.fixture
def raw_result(tmp_path: Path) -> dict:
    """A result as ``auditor audit --no-redact`` writes it: raw evidence and metadata, ``models.redaction: none``."""
    (tmp_path / "client").mkdir()
    settings = review_settings(tmp_path / "client", redact=False)
    turns = [
        {"speaker": "agent", "text": "Hello, welcome to Acme bank."},
        {"speaker": "customer", "text": f"My number is {PHONE}, mail {EMAIL}."},
        {"speaker": "agent", "text": f"Thanks. To confirm, your date of birth and the phone {PHONE}?"},
    ]
    transcript = {"id": "raw-1", "agent_id": "a-7", "turns": turns, "callback": PHONE}
    with TestClient(create_app(settings)) as local:
        result = local.post("/v1/audit", params={"sop": "card-check"}, json=transcript, headers=HEADERS).json()
    assert result["models"]["redaction"] == "none" and PHONE in str(result)
    return {"result": result, "transcript": transcript}


def test_a_server_that_redacts_redacts_results_posted_without_redaction(client, raw_result) -> None:
    api, _ = client
    body = {"results": [raw_result["result"]], "transcripts": [raw_result["transcript"]]}
    stored = api.post("/v1/review/results", json=body, headers=HEADERS)
    assert stored.status_code == 200, stored.text
    audit_id = stored.json()[0]["audit_id"]
    shown = api.get(f"/v1/review/audits/{audit_id}", headers=HEADERS)
    at = shown.text.find(PHONE)
    assert at < 0 and EMAIL not in shown.text, shown.text[max(0, at - 300) : at + 30]
    answer = shown.json()
    assert answer["result"]["models"]["redaction"] != "none"
    assert "[PHONE]" in answer["turns"][1]["text"] and "[EMAIL]" in answer["turns"][1]["text"]
    assert answer["result"]["metadata"]["callback"] == "[PHONE]"
    login(api)
    page = api.get(f"/review/audits/{audit_id}")
    assert page.status_code == 200 and PHONE not in page.text and EMAIL not in page.text
    again = api.post("/v1/review/results", json=body, headers=HEADERS).json()[0]
    assert (again["audit_id"], again["created"]) == (audit_id, False)  # still stored once


def test_rows_stored_raw_earlier_are_shown_redacted(store_settings: Settings, raw_result) -> None:
    from auditor.result import ConversationResult
    from auditor.store.audits import save_result
    from auditor.store.database import open_store
    from auditor.transcripts.records import conversation_from_mapping

    store = open_store(store_settings.database_url)  # as an older server stored it: raw, "redaction": "none"
    result = ConversationResult.model_validate(raw_result["result"])
    conversation = conversation_from_mapping(raw_result["transcript"], source="", default_id="raw-1")
    with store.session() as session:
        audit_id = save_result(session, result, conversation).audit_id
    store.close()
    with TestClient(create_app(store_settings)) as api:
        shown = api.get(f"/v1/review/audits/{audit_id}", headers={"X-API-Key": KEY})
        assert shown.status_code == 200 and PHONE not in shown.text and EMAIL not in shown.text
