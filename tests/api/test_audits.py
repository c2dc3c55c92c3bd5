"""Whole conversations in, the result contract out; bad input named by field, never a traceback."""

from __future__ import annotations

from fastapi.testclient import TestClient

from auditor.api.app import create_app
from auditor.api.dependencies import get_service
from auditor.api.errors import error_response
from auditor.service import AuditService, load_models
from auditor.settings import AuditorSettings
from auditor.transcripts.records import conversation_from_mapping
from tests.api.conftest import CALL, HEADERS, make_settings, transcript


def test_an_audit_returns_the_same_result_as_the_library(client, sop_dir):
    response = client.post("/v1/audit?sop=card-check", json=transcript(queue="cards"), headers=HEADERS)
    assert response.status_code == 200
    body = response.json()
    assert {s["step_id"]: s["status"] for s in body["steps"]} == {
        "greet": "done",
        "verify": "done",
        "discuss": "done",
        "close": "done",
    }
    assert body["metadata"] == {"queue": "cards"}
    service = AuditService.start(load_models(AuditorSettings(embedder="hashing", anomalies=False)), [sop_dir])
    direct = service.auditor("card-check").audit(
        conversation_from_mapping(transcript(queue="cards"), source="", default_id="x")
    )
    assert body == direct.model_dump(mode="json")


def test_out_of_order_critical_step_fails_the_call(client):
    turns = [CALL[0], CALL[1], CALL[4], CALL[2], CALL[6]]
    body = client.post("/v1/audit?sop=card-check", json=transcript(turns), headers=HEADERS).json()
    assert body["passed"] is False
    assert "critical:verify" in body["flags"] and "out_of_order:verify" in body["flags"]


def test_unknown_sop_and_path_like_ids_are_404_never_files(client):
    for sop in ("nope", "../../rules/complaint-handling", "/etc/passwd"):
        response = client.post("/v1/audit", params={"sop": sop}, json=transcript(), headers=HEADERS)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_sop"


def test_a_bad_transcript_is_named_by_field(client):
    missing_text = client.post("/v1/audit?sop=card-check", json=transcript([{"speaker": "agent"}]), headers=HEADERS)
    assert missing_text.status_code == 422
    assert missing_text.json()["error"]["details"][0]["field"] == "turns[0].text"
    bad_lang = client.post("/v1/audit?sop=card-check", json=transcript(lang="fr"), headers=HEADERS)
    assert bad_lang.status_code == 422
    assert bad_lang.json()["error"]["code"] == "invalid_transcript"
    assert "lang" in bad_lang.json()["error"]["message"]
    not_json = client.post(
        "/v1/audit?sop=card-check", content=b"{oops", headers=HEADERS | {"content-type": "application/json"}
    )
    assert not_json.status_code == 422 and "error" in not_json.json()


def test_limits_on_turn_length_turn_count_and_body_size(sop_dir):
    settings = make_settings(sop_dir, max_turn_chars=50, max_turns=5, max_body_bytes=4000)
    with TestClient(create_app(settings)) as small:
        long_turn = [*CALL[:2], {"speaker": "customer", "text": "x" * 51}]
        response = small.post("/v1/audit?sop=card-check", json=transcript(long_turn), headers=HEADERS)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "turn_too_long"
        assert "turns[2].text" in response.json()["error"]["message"] and "50" in response.json()["error"]["message"]
        response = small.post("/v1/audit?sop=card-check", json=transcript(CALL[:6]), headers=HEADERS)
        assert response.json()["error"]["code"] == "too_many_turns"
        big = transcript([{"speaker": "agent", "text": "y" * 45}] * 100)
        response = small.post("/v1/audit?sop=card-check", json=big, headers=HEADERS)
        assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"

        def chunks():  # no Content-Length: the limit is enforced while the body streams in
            for _ in range(10):
                yield b" " * 1000

        streamed = small.post(
            "/v1/audit?sop=card-check", content=chunks(), headers=HEADERS | {"content-type": "application/json"}
        )
        assert streamed.status_code == 413


def test_a_batch_audits_the_good_conversations_and_names_the_bad_ones(client):
    batch = {"conversations": [transcript(id="good-1"), {"id": "bad", "turns": "nope"}, transcript(id="good-2")]}
    response = client.post("/v1/audit/batch?sop=card-check", json=batch, headers=HEADERS)
    assert response.status_code == 200
    body = response.json()
    assert [r["conversation_id"] for r in body["results"]] == ["good-1", "good-2"]
    assert body["errors"] == [
        {"index": 1, "id": "bad", "message": "conversations[1]: turns: must be a list, got string"}
    ]


def test_a_batch_over_the_limit_is_refused(sop_dir):
    with TestClient(create_app(make_settings(sop_dir, max_batch=2))) as small:
        response = small.post(
            "/v1/audit/batch?sop=card-check", json={"conversations": [transcript()] * 3}, headers=HEADERS
        )
        assert response.status_code == 422 and response.json()["error"]["code"] == "batch_too_large"


class BrokenAuditor:
    def audit_many(self, conversations):
        raise RuntimeError("secret internal detail")


class StubService:
    """Stands in for the loaded AuditService (through ``dependency_overrides``): every SOP gets ``auditor``."""

    def __init__(self, auditor):
        self.auditor = lambda sop_id: auditor


def test_an_internal_error_is_a_500_without_details(client):
    client.app.dependency_overrides[get_service] = lambda: StubService(BrokenAuditor())
    try:
        response = client.post("/v1/audit?sop=card-check", json=transcript(), headers=HEADERS)
    finally:
        client.app.dependency_overrides.clear()
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret" not in response.text and "Traceback" not in response.text


def test_metrics_count_requests_and_turns(client):
    client.post("/v1/audit?sop=card-check", json=transcript(), headers=HEADERS)
    text = client.get("/metrics", headers=HEADERS).text
    assert 'auditor_http_requests_total{method="POST",route="/v1/audit",status="200"}' in text
    assert 'auditor_turns_scored_total{mode="whole"}' in text
    assert "auditor_http_request_seconds_bucket" in text


def test_a_key_over_its_rate_gets_429_with_retry_after(sop_dir):
    with TestClient(create_app(make_settings(sop_dir, rate_limit_per_second=1, rate_limit_burst=3))) as slow:
        statuses = [slow.get("/v1/sops", headers=HEADERS).status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
        refused = slow.get("/v1/sops", headers=HEADERS)
        assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["retry-after"]) >= 1
        assert slow.get("/healthz").status_code == 200  # probes are not rate limited


def test_an_audit_over_the_time_limit_is_a_503_and_the_server_goes_on(sop_dir):
    import time

    class SlowAuditor:
        def __init__(self, real):
            self.real = real

        def audit_many(self, conversations):
            time.sleep(0.6)
            return self.real.audit_many(conversations)

    app = create_app(make_settings(sop_dir, request_timeout_seconds=0.2))
    with TestClient(app) as client:
        real_service = AuditService.start(load_models(AuditorSettings(embedder="hashing", anomalies=False)), [sop_dir])
        app.dependency_overrides[get_service] = lambda: StubService(SlowAuditor(real_service.auditor("card-check")))
        response = client.post("/v1/audit?sop=card-check", json=transcript(), headers=HEADERS)
        assert response.status_code == 503 and response.json()["error"]["code"] == "timeout"
        app.dependency_overrides.clear()
        time.sleep(0.6)  # the slow audit still holds the model thread until it ends
        assert client.post("/v1/audit?sop=card-check", json=transcript(), headers=HEADERS).status_code == 200


def test_text_that_is_not_valid_unicode_is_named_never_a_500(client):
    json_headers = HEADERS | {"content-type": "application/json"}
    # the error message quotes the bad speaker: once that message could not be encoded and the answer was a 500
    body = '{"turns": [{"speaker": "\\ud800", "text": "hello"}]}'
    refused = client.post("/v1/audit?sop=card-check", content=body, headers=json_headers)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_transcript"
    assert "turns[0].speaker: unpaired surrogate U+D800" in refused.json()["error"]["message"]
    batch = '{"conversations": [{"id": "\\ud800", "turns": []}]}'  # the bad id was echoed back: a 500
    answered = client.post("/v1/audit/batch?sop=card-check", content=batch, headers=json_headers)
    assert answered.status_code == 200
    assert (
        answered.json()["errors"][0]["id"] is None and "unpaired surrogate" in answered.json()["errors"][0]["message"]
    )


def test_an_error_that_quotes_invalid_unicode_is_still_a_json_answer():
    response = error_response(422, "invalid_turn", "speaker '\ud800' is not valid text")
    assert response.body.decode("ascii") == (
        '{"error":{"status":422,"code":"invalid_turn","message":"speaker \'\\ud800\' is not valid text","details":[]}}'
    )
