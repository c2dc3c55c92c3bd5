"""The service with the real multilingual models: live sessions equal whole audits in three scripts, and an
angry caller whose identity was skipped raises the alerts a supervisor needs (English and Chinese)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from auditor.api.app import create_app
from auditor.api.settings import Settings
from tests.conftest import REPO

pytestmark = pytest.mark.slow

ANGRY = {
    "en": [
        ("agent", "Thank you for calling Harbour Bank, my name is James, how can I help?"),
        ("customer", "I've called three times about a charge on my card and nobody has fixed it."),
        ("agent", "Your balance is 240 pounds and the last transaction was yesterday."),
        ("customer", "This is ridiculous!!! I want to speak to a manager right now, or I'm closing my account."),
    ],
    "zh": [
        ("agent", "您好，港湾银行，我是客服经理王磊，请问有什么可以帮您？"),
        ("customer", "我的卡被多扣了钱，这已经是第三次打电话了，还是没解决！"),
        ("agent", "您账户余额是两千三百元，最近一笔交易是昨天。"),
        ("customer", "太过分了，我要投诉，找你们领导来，不行我就销户！"),
    ],
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    database = tmp_path_factory.mktemp("store") / "audits.db"
    with TestClient(create_app(Settings(auth_disabled=True, database_url=f"sqlite:///{database}"))) as client:
        yield client


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant"])
def test_live_sessions_close_with_the_whole_audit(service, lang):
    for sop_id in ("complaint-handling", "bank-phone-service", "general-inbound-call", "service-request"):
        lines = (REPO / "corpora" / lang / f"{sop_id}.jsonl").read_text(encoding="utf-8").splitlines()
        for line in lines[:2]:
            transcript = json.loads(line)
            fields = {"conversation_id": transcript["id"], "agent_id": transcript.get("agent_id")}
            fields["metadata"] = {k: v for k, v in transcript.items() if k not in {"id", "agent_id", "lang", "turns"}}
            session = service.post("/v1/sessions", json={"sop_id": sop_id, "lang": transcript.get("lang")} | fields)
            session_id = session.json()["session_id"]
            for turn in transcript["turns"]:
                assert service.post(f"/v1/sessions/{session_id}/turns", json=turn).status_code == 200
            live = service.post(f"/v1/sessions/{session_id}/close").json()
            whole = service.post(f"/v1/audit?sop={sop_id}", json=transcript).json()
            assert live == whole, transcript["id"]
            assert live["dissatisfaction"] is not None and live["anomaly"] is not None


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_angry_unverified_caller_raises_supervisor_alerts(service, lang):
    session_id = service.post("/v1/sessions", json={"sop_id": "bank-phone-service"}).json()["session_id"]
    updates = [
        service.post(f"/v1/sessions/{session_id}/turns", json={"speaker": speaker, "text": text}).json()
        for speaker, text in ANGRY[lang]
    ]
    assert updates[0]["done"] == ["greet"]
    assert {a["kind"] for a in updates[1]["alerts"]} == {"dissatisfaction_rising"}  # a third call, still not fixed
    assert "discuss_account" in updates[2]["done"] and updates[2]["overdue"] == ["verify_identity"]
    assert [(a["kind"], a["step_id"]) for a in updates[2]["alerts"]] == [("critical_step_missed", "verify_identity")]
    last = {alert["kind"] for alert in updates[3]["alerts"]}
    assert "escalation_request" in last  # dissatisfaction_rising was raised once, and the customer never calmed
    assert updates[3]["dissatisfaction"]["conversation"] > updates[1]["dissatisfaction"]["conversation"]
    assert "escalation" in updates[3]["dissatisfaction"]["signals"]


@pytest.mark.parametrize(
    "opening, decline",
    [
        ("我的卡被人盗刷了三千多块！你们怎么搞的！", "不用了，短信提醒我不需要。"),
        ("Someone just stole three thousand dollars off my card! How did you people let this happen?", "No thanks."),
    ],
)
def test_the_dissatisfaction_alert_comes_on_the_angry_turn_not_on_a_decline(service, opening, decline):
    session_id = service.post("/v1/sessions", json={"sop_id": "bank-phone-service"}).json()["session_id"]
    turns = [
        ("agent", "Thank you for calling Harbour Bank, how can I help?"),
        ("customer", opening),
        ("agent", "I'm so sorry. I've frozen the card; would you like text alerts for every payment?"),
        ("customer", decline),
    ]
    updates = [
        service.post(f"/v1/sessions/{session_id}/turns", json={"speaker": speaker, "text": text}).json()
        for speaker, text in turns
    ]
    assert "dissatisfaction_rising" in {alert["kind"] for alert in updates[1]["alerts"]}
    assert "dissatisfaction_rising" not in {alert["kind"] for alert in updates[3]["alerts"]}
    assert not {"negative", "churn"} & set(updates[3]["dissatisfaction"]["signals"])
