"""Personal data never leaves the auditor unless asked: results, report.html, the review store and pages, the API.

One call with a phone number, a card number and an e-mail planted where the auditor quotes text (evidence turns,
metadata, the transcript). The hashing embedder and a keyword SOP keep it fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from auditor.api.app import create_app
from auditor.auditor import Auditor
from auditor.cli import app as cli
from auditor.embeddings.hashing import HashingEmbedder
from auditor.privacy.policy import POLICY_KEY, RedactionPolicy
from auditor.reports.aggregates import summarise_agents, summarise_steps
from auditor.reports.html import render_report
from auditor.store.audits import save_results
from auditor.store.database import open_store
from auditor.store.tables import ConversationRow
from auditor.transcripts.records import conversation_from_mapping
from tests.review.conftest import HEADERS, login, review_settings
from tests.review.factories import CARD_SOP, card_sop

PHONE, CARD, EMAIL, MOBILE = "+44 20 7946 0958", "4111 1111 1111 1111", "jane.doe@example.com", "13812345678"
PLANTED = (PHONE, CARD, EMAIL, MOBILE)
CALL = {
    "id": "pii-call",
    "agent_id": "a-7",
    "lang": "en",
    "crm_note": f"customer asked for a callback on {MOBILE}",
    "turns": [
        {"speaker": "agent", "text": f"Hello, welcome to Acme bank. My direct line is {PHONE}."},
        {"speaker": "customer", "text": f"Hi, I was charged twice. Mail me at {EMAIL} please."},
        {"speaker": "agent", "text": "Sure. What is your date of birth?"},
        {"speaker": "customer", "text": f"The first of May 1980. My mobile is {MOBILE}."},
        {"speaker": "agent", "text": f"Thanks. Your card balance on card {CARD} is 40 pounds."},
        {"speaker": "agent", "text": "Anything else? Goodbye from Acme."},
    ],
}


def call():  # type: ignore[no-untyped-def]
    return conversation_from_mapping(CALL, source="", default_id=CALL["id"])


def leaked(text: str) -> list[str]:
    return [value for value in PLANTED if value in text]


def test_the_auditor_redacts_its_result_and_detection_is_the_same_as_without_redaction():
    sop, embedder = card_sop(), HashingEmbedder()
    hidden = Auditor(sop, embedder).audit(call())
    shown = Auditor(sop, embedder, redaction=RedactionPolicy.off()).audit(call())

    def verdicts(result):  # type: ignore[no-untyped-def]
        return [(s.step_id, s.status, s.confidence, [e.turn_index for e in s.evidence]) for s in result.steps]

    assert verdicts(hidden) == verdicts(shown)
    assert (hidden.score, hidden.passed, hidden.flags) == (shown.score, shown.passed, shown.flags)
    assert leaked(hidden.model_dump_json()) == []
    assert hidden.step("greet").evidence[0].text == "Hello, welcome to Acme bank. My direct line is [PHONE]."
    assert hidden.step("discuss").evidence[0].text == "Thanks. Your card balance on card [CARD] is 40 pounds."
    assert hidden.metadata["crm_note"] == "customer asked for a callback on [PHONE]"
    assert hidden.models[POLICY_KEY] == RedactionPolicy().record
    assert set(leaked(shown.model_dump_json())) == {PHONE, CARD, MOBILE}  # evidence and metadata, as written
    assert shown.models[POLICY_KEY] == "none"


def test_the_html_report_shows_the_transcript_redacted_as_its_results_record():
    conversation = call()
    for policy, expected in ((RedactionPolicy(), []), (RedactionPolicy.off(), list(PLANTED))):
        results = Auditor(card_sop(), HashingEmbedder(), redaction=policy).audit_many([conversation])
        html = render_report(
            results,
            summarise_agents(results),
            summarise_steps(results),
            {conversation.id: conversation},
            sop_name="Card check",
        )
        assert sorted(leaked(html)) == sorted(expected)
        assert ("[PHONE]" in html) is policy.enabled


def _audit_cli(tmp_path: Path, *options: str):  # type: ignore[no-untyped-def]
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "calls.jsonl"
    source.write_text(json.dumps(CALL) + "\n", encoding="utf-8")
    sop = tmp_path / "card-check.yaml"
    sop.write_text(CARD_SOP, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["audit", str(source), "--sop", str(sop), "--out", str(out), "--embedder", "hashing", *options]
    )
    return result, out


def test_auditor_audit_redacts_results_and_report_by_default(tmp_path):
    result, out = _audit_cli(tmp_path)
    assert result.exit_code == 0, result.output
    for name in ("results.jsonl", "report.html"):
        assert leaked((out / name).read_text(encoding="utf-8")) == [], name
    line = json.loads((out / "results.jsonl").read_text(encoding="utf-8"))
    assert line["models"][POLICY_KEY] == RedactionPolicy().record


def test_no_redact_keeps_the_text_and_redact_kinds_chooses_what_to_hide(tmp_path):
    kept, out = _audit_cli(tmp_path / "kept", "--no-redact")
    assert kept.exit_code == 0, kept.output
    assert set(leaked((out / "report.html").read_text(encoding="utf-8"))) == set(PLANTED)
    assert json.loads((out / "results.jsonl").read_text(encoding="utf-8"))["models"][POLICY_KEY] == "none"

    only_cards, out = _audit_cli(tmp_path / "cards", "--redact-kinds", "card")
    assert only_cards.exit_code == 0, only_cards.output
    assert set(leaked((out / "report.html").read_text(encoding="utf-8"))) == {PHONE, EMAIL, MOBILE}

    wrong, _ = _audit_cli(tmp_path / "wrong", "--redact-kinds", "telephone")
    assert wrong.exit_code == 2 and "unknown PII kind" in wrong.output


@pytest.fixture
def review_client(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = review_settings(tmp_path)
    conversation = call()
    results = Auditor(card_sop(), HashingEmbedder()).audit_many([conversation])
    store = open_store(settings.database_url)
    with store.session() as session:
        audit_id = save_results(session, results, {conversation.id: conversation})[0].audit_id
        stored_turns = session.query(ConversationRow).one().turns
    store.close()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, audit_id, stored_turns


def test_the_review_store_pages_and_api_hold_no_personal_data(review_client):
    client, audit_id, stored_turns = review_client
    assert leaked(json.dumps(stored_turns, ensure_ascii=False)) == []
    assert stored_turns[0]["text"] == "Hello, welcome to Acme bank. My direct line is [PHONE]."
    login(client)
    page = client.get(f"/review/audits/{audit_id}")
    assert page.status_code == 200 and "[CARD]" in page.text
    assert leaked(page.text) == []
    detail = client.get(f"/v1/review/audits/{audit_id}", headers=HEADERS)
    assert detail.status_code == 200 and leaked(detail.text) == []


def test_the_api_redacts_by_default_and_keeps_the_text_when_told_to(tmp_path):
    for redact, expected in ((True, set()), (False, {PHONE, CARD, MOBILE})):
        (tmp_path / str(redact)).mkdir()
        settings = review_settings(tmp_path / str(redact), redact=redact)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            answer = client.post("/v1/audit?sop=card-check", json=CALL, headers=HEADERS)
        assert answer.status_code == 200, answer.text
        assert set(leaked(answer.text)) == expected


def test_an_unknown_kind_in_the_settings_stops_the_service(tmp_path):
    with pytest.raises(ValueError, match="unknown PII kind"):
        review_settings(tmp_path, redact_kinds="phone,ssn")
