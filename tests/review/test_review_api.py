"""The JSON endpoints and the pages' sign-in, through the real app (hashing embedder, SQLite in a temp folder)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import select

from auditor.api.app import create_app
from auditor.api.dependencies import get_key_hashes
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
        client.app.dependency_overrides[get_key_hashes] = lambda: set()  # every key withdrawn
        assert client.get("/review", follow_redirects=False).status_code == 303


def test_chinese_interface(client: TestClient, audit_ids: dict[str, int]) -> None:
    login(client)
    page = client.get(f"/review/audits/{audit_ids['zh-call']}?ui=zh")
    assert "保存复核结论" in page.text and "我要投诉" in page.text
    assert 'lang="zh-Hans"' in page.text
    assert "保存复核结论" in client.get(f"/review/audits/{audit_ids['en-good']}").text  # the choice is remembered


def test_traditional_chinese_interface_from_the_browser_language(client: TestClient, audit_ids: dict[str, int]) -> None:
    """A browser asking for zh-TW gets traditional Chinese (characters and Taiwan wording), zh-CN simplified, and the
    language link cycles English -> simplified -> traditional; transcripts show as written."""
    login(client)
    url = f"/review/audits/{audit_ids['zh-call']}"
    taiwan = client.get(url, headers={"accept-language": "zh-TW,zh;q=0.9,en;q=0.8"}).text
    assert 'lang="zh-Hant"' in taiwan and "儲存複核結論" in taiwan and "保存复核结论" not in taiwan
    assert "我要投诉" in taiwan, "the transcript is shown as written, not converted"
    mainland = client.get(url, headers={"accept-language": "zh-CN,zh;q=0.9"}).text
    assert 'lang="zh-Hans"' in mainland and "保存复核结论" in mainland
    english = client.get(url, headers={"accept-language": "en-GB,zh-TW;q=0.5"}).text
    assert 'lang="en"' in english and "?ui=zh" in english and "简体中文" in english
    assert "ui=zh-Hant" in mainland and "繁體中文" in mainland


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


def test_ids_offsets_and_dates_out_of_range_are_refused_or_ignored_never_a_500(client: TestClient) -> None:
    huge = 10**30  # past any integer column: once an OverflowError and a 500
    assert client.get(f"/v1/review/audits/{huge}", headers=HEADERS).status_code == 422
    verdict = {"reviewer": "Mei", "verdicts": [{"step_id": "verify", "verdict": "confirm"}]}
    assert client.post(f"/v1/review/audits/{huge}/verdicts", json=verdict, headers=HEADERS).status_code == 422
    assert client.get(f"/v1/review/queue?offset={huge}", headers=HEADERS).status_code == 422
    everything = client.get("/v1/review/queue?state=all&since=0001-01-01&until=9999-12-31", headers=HEADERS)
    assert everything.status_code == 200 and everything.json()["total"] == 3
    # a valid ISO time whose UTC is before year 1: kept without a date, not a 500
    early = transcript(id="early-call", started_at="0001-01-01T00:00:00+14:00")
    stored = client.post("/v1/review/audit?sop=card-check", json=early, headers=HEADERS)
    assert stored.status_code == 200, stored.text
    item = next(
        i for i in client.get("/v1/review/queue?state=all", headers=HEADERS).json()["items"] if i["dated"] is False
    )
    assert item["conversation_id"] == "early-call"


def test_times_in_answers_say_they_are_utc(client: TestClient, audit_ids: dict[str, int]) -> None:
    item = client.get("/v1/review/queue", headers=HEADERS).json()["items"][0]
    assert item["when"].endswith("Z")  # RFC 3339, as the schema's date-time format says
    verdict = {"reviewer": "Mei", "verdicts": [{"step_id": "verify", "verdict": "confirm"}]}
    [review] = client.post(f"/v1/review/audits/{audit_ids['en-good']}/verdicts", json=verdict, headers=HEADERS).json()
    assert review["updated_at"].endswith("Z")


def test_results_the_store_cannot_hold_are_refused_naming_the_field(client: TestClient) -> None:
    made = client.post("/v1/audit?sop=card-check", json=transcript(id="elsewhere"), headers=HEADERS).json()
    step = made["steps"][0]
    bad = {
        "steps[1].step_id": made | {"steps": [step, step]},  # one row per step: once an IntegrityError and a 500
        "conversation_id: 201 characters": made | {"conversation_id": "x" * 201},
        "agent_id: holds a NUL character": made | {"agent_id": "a\x007"},
        "steps[0].evidence[0].turn_index": made
        | {"steps": [step | {"evidence": [step["evidence"][0] | {"turn_index": 10**12}]}, *made["steps"][1:]]},
    }
    for field, result in bad.items():
        refused = client.post("/v1/review/results", json={"results": [result]}, headers=HEADERS)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "invalid_result"
        assert f"results[0].{field}" in refused.json()["error"]["message"]
    raw = {"results": [made | {"agent_id": "SURROGATE", "metadata": {"x": "NAN"}}]}
    body = json.dumps(raw).replace('"SURROGATE"', '"\\ud800"')
    body = body.replace('"NAN"', "NaN")  # JSON text a client can send; the store could not read it back
    refused = client.post("/v1/review/results", content=body, headers=HEADERS | {"content-type": "application/json"})
    assert refused.status_code == 422
    assert "results[0].agent_id: unpaired surrogate" in refused.json()["error"]["message"]
    assert "results[0].metadata.x: not a finite number" in refused.json()["error"]["message"]
    total = client.get("/v1/review/queue?state=all", headers=HEADERS).json()["total"]
    assert total == 3  # nothing was stored


def test_a_verdict_turn_past_any_integer_is_refused(client: TestClient) -> None:
    made = client.post("/v1/audit?sop=card-check", json=transcript(id="no-transcript"), headers=HEADERS).json()
    [stored] = client.post("/v1/review/results", json={"results": [made]}, headers=HEADERS).json()
    verdict = {"step_id": "verify", "verdict": "overturn", "status": "missing", "turn_index": 10**12}
    refused = client.post(
        f"/v1/review/audits/{stored['audit_id']}/verdicts",
        json={"reviewer": "Mei", "verdicts": [verdict]},
        headers=HEADERS,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "verdicts[0].turn_index"


def test_concurrent_stores_of_one_conversation_store_it_once(settings) -> None:  # type: ignore[no-untyped-def]
    # both requests find no row and insert it; the second to commit once hit the unique key and answered 500
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        call = transcript(id="twice-at-once")
        result = client.post("/v1/audit?sop=card-check", json=call, headers=HEADERS).json()
        body = {"results": [result], "transcripts": [call]}
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: client.post("/v1/review/results", json=body, headers=HEADERS), range(16)))
        assert [answer.status_code for answer in answers] == [200] * 16
        assert len({answer.json()[0]["audit_id"] for answer in answers}) == 1
        assert sum(answer.json()[0]["created"] for answer in answers) == 1
        queue = client.get("/v1/review/queue?state=all", headers=HEADERS).json()
        assert [item["conversation_id"] for item in queue["items"]] == ["twice-at-once"]


def test_chinese_pages_say_the_auditors_reasons_in_chinese(client: TestClient, audit_ids: dict[str, int]) -> None:
    """Queue reasons, step reasons, order windows and speakers follow the page's language; English stays as written."""
    login(client)
    queue = client.get("/review?ui=zh").text
    assert "关键步骤缺失：「Verify identity」" in queue and "critical step missed" not in queue
    page = client.get(f"/review/audits/{audit_ids['en-no-verify']}?ui=zh-Hant").text
    assert "沒有任何一輪執行此步驟" in page and "no turn performs this step" not in page
    assert "關鍵步驟缺失" in page and ">坐席<" in page.replace(" ", "")
    english = client.get(f"/review/audits/{audit_ids['en-no-verify']}?ui=en").text
    assert "no turn performs this step" in english and "critical step missed: verify" in english
