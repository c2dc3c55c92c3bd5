"""The JSON endpoints and the pages' sign-in, through the real app (hashing embedder, SQLite in a temp folder)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from auditor.store.database import open_store
from auditor.store.tables import StepReviewRow
from tests.api.conftest import transcript
from tests.review.conftest import HEADERS, login


def test_queue_lists_riskiest_first_with_reasons(client: TestClient) -> None:
    body = client.get("/v1/review/queue", headers=HEADERS).json()
    assert body["total"] == 3
    first = body["items"][0]
    assert first["conversation_id"] == "en-no-verify"
    assert first["reasons"][:2] == ["critical step missed: verify", "dissatisfied customer (0.91)"]
    assert client.get("/v1/review/queue?agent=a-7", headers=HEADERS).json()["total"] == 1
    assert client.get("/v1/review/queue").status_code == 401


def test_verdicts_round_trip_and_bad_ones_name_the_field(client: TestClient, audit_ids: dict[str, int]) -> None:
    audit_id = audit_ids["en-no-verify"]
    good = {"reviewer": "Mei", "verdicts": [{"step_id": "verify", "verdict": "overturn", "turn_index": 2}]}
    stored = client.post(f"/v1/review/audits/{audit_id}/verdicts", json=good, headers=HEADERS)
    assert stored.status_code == 200, stored.text
    assert stored.json()[0] | {"updated_at": None} == {
        "step_id": "verify",
        "reviewer": "Mei",
        "auditor_status": "missing",
        "verdict": "overturned",
        "coach_status": "done",
        "turn_index": 2,
        "comment": "",
        "audit_id": audit_id,
        "updated_at": None,
    }
    detail = client.get(f"/v1/review/audits/{audit_id}", headers=HEADERS).json()
    assert detail["turns"][2]["text"] == "Which town were you born in, for security?"
    assert [r["step_id"] for r in detail["reviews"]] == ["verify"]
    bad = {"reviewer": "Mei", "verdicts": [{"step_id": "verify", "verdict": "confirm", "status": "done"}]}
    refused = client.post(f"/v1/review/audits/{audit_id}/verdicts", json=bad, headers=HEADERS)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_verdicts"
    assert refused.json()["error"]["details"][0]["field"] == "verdicts[0].status"
    missing = client.post("/v1/review/audits/999/verdicts", json=good, headers=HEADERS)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_audit")
    agreement = client.get("/v1/review/agreement", headers=HEADERS).json()
    assert agreement["auditor"][0]["disagreements"] == {"missing -> done": 1}


def test_audit_and_store_is_idempotent(client: TestClient) -> None:
    call = transcript(id="api-call")
    first = client.post("/v1/review/audit?sop=card-check", json=call, headers=HEADERS)
    again = client.post("/v1/review/audit?sop=card-check", json=call, headers=HEADERS)
    assert first.status_code == 200, first.text
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    assert first.json()["audit_id"] == again.json()["audit_id"]
    queue = client.get("/v1/review/queue?state=all&limit=10", headers=HEADERS).json()
    assert queue["total"] == 4


def test_pages_need_a_sign_in_and_a_valid_key(client: TestClient) -> None:
    response = client.get("/review", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/review/login")
    refused = client.post("/review/login", data={"reviewer": "Mei", "key": "wrong", "next": "/review"})
    assert refused.status_code == 401 and "not valid" in refused.text
    outside = client.post(
        "/review/login",
        data={"reviewer": "Mei", "key": "coach-key-1", "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert outside.headers["location"] == "/review"  # never redirects off the site
    assert "HttpOnly" in outside.headers["set-cookie"] and "SameSite=lax" in outside.headers["set-cookie"]
    page = client.get("/review")
    assert page.status_code == 200 and "en-no-verify" in page.text


def test_a_form_without_its_token_is_refused(client: TestClient, audit_ids: dict[str, int]) -> None:
    login(client)
    audit_id = audit_ids["en-no-verify"]
    page = client.get(f"/review/audits/{audit_id}")
    assert "missing here" in page.text
    forged = client.post(f"/review/audits/{audit_id}", data={"v-verify": "confirm", "csrf": "guess"})
    assert forged.status_code == 403
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    saved = client.post(
        f"/review/audits/{audit_id}",
        data={"csrf": token, "v-verify": "overturn", "s-verify": "done", "t-verify": "2", "c-verify": "fine"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    wrong = client.post(f"/review/audits/{audit_id}", data={"csrf": token, "v-greet": "overturn", "t-greet": "x"})
    assert wrong.status_code == 422 and "not a turn number" in wrong.text


def test_a_session_ends_when_its_key_is_withdrawn(settings, audit_ids) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings)) as client:
        login(client)
        assert client.get("/review", follow_redirects=False).status_code == 200
        client.app.state.key_hashes = set()  # type: ignore[attr-defined]
        assert client.get("/review", follow_redirects=False).status_code == 303


def test_chinese_interface(client: TestClient, audit_ids: dict[str, int]) -> None:
    login(client)
    page = client.get(f"/review/audits/{audit_ids['zh-call']}?ui=zh")
    assert "保存复核结论" in page.text and "我要投诉" in page.text
    assert 'lang="zh-Hans"' in page.text
    assert "保存复核结论" in client.get(f"/review/audits/{audit_ids['en-good']}").text  # the choice is remembered


def test_verdict_from_the_page_is_stored(client: TestClient, settings, audit_ids) -> None:  # type: ignore[no-untyped-def]
    login(client, name="Ana")
    audit_id = audit_ids["zh-call"]
    token = client.get(f"/review/audits/{audit_id}").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post(f"/review/audits/{audit_id}", data={"csrf": token, "v-verify": "confirm", "c-verify": "顺序确实错了"})
    store = open_store(settings.database_url)
    with store.session() as session:
        [row] = session.scalars(select(StepReviewRow)).all()
    store.close()
    assert (row.reviewer, row.step_id, row.coach_status, row.comment) == (
        "Ana",
        "verify",
        "out_of_order",
        "顺序确实错了",
    )
