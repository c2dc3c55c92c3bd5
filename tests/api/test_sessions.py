"""Live sessions over HTTP and WebSocket: steps so far, overdue steps, alerts, and a final result identical to
auditing the whole transcript."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from auditor.api.app import create_app
from tests.api.conftest import CALL, HEADERS, OTHER_KEY, make_settings, transcript


def open_session(client, **body):
    response = client.post("/v1/sessions", json={"sop_id": "card-check", "agent_id": "a-7"} | body, headers=HEADERS)
    assert response.status_code == 201, response.text
    return response.json()


def test_steps_are_reported_as_they_happen_and_the_close_equals_a_whole_audit(client):
    started = "2026-11-20T09:30:00Z"
    session = open_session(client, conversation_id="call-1", lang="en", started_at=started)
    assert {step["status"] for step in session["steps"]} == {"pending"}
    updates = []
    for turn in CALL:
        response = client.post(f"/v1/sessions/{session['session_id']}/turns", json=turn, headers=HEADERS)
        assert response.status_code == 200, response.text
        updates.append(response.json())
    assert updates[0]["done"] == ["greet"]
    assert updates[2]["done"] == ["greet", "verify"]
    assert updates[-1]["done"] == ["greet", "verify", "discuss", "close"]
    assert [u["turn_index"] for u in updates] == list(range(len(CALL)))
    assert all(not u["alerts"] for u in updates)
    final = client.post(f"/v1/sessions/{session['session_id']}/close", headers=HEADERS)
    whole = client.post("/v1/audit?sop=card-check", json=transcript(started_at=started), headers=HEADERS)
    assert final.status_code == 200
    assert final.json() == whole.json()
    assert final.json()["metadata"]["started_at"] == started
    gone = client.post(f"/v1/sessions/{session['session_id']}/turns", json=CALL[0], headers=HEADERS)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_session"


def test_a_critical_step_overtaken_is_overdue_with_one_critical_alert(client):
    session_id = open_session(client)["session_id"]
    for turn in (CALL[0], CALL[1]):
        client.post(f"/v1/sessions/{session_id}/turns", json=turn, headers=HEADERS)
    update = client.post(f"/v1/sessions/{session_id}/turns", json=CALL[4], headers=HEADERS).json()
    assert update["overdue"] == ["verify"]
    assert [(a["kind"], a["severity"], a["step_id"]) for a in update["alerts"]] == [
        ("critical_step_missed", "critical", "verify")
    ]
    later = client.post(f"/v1/sessions/{session_id}/turns", json=CALL[1], headers=HEADERS).json()
    assert later["alerts"] == []  # raised once
    state = client.get(f"/v1/sessions/{session_id}", headers=HEADERS).json()
    assert [a["kind"] for a in state["alerts"]] == ["critical_step_missed"]
    text = client.get("/metrics", headers=HEADERS).text
    assert 'auditor_alerts_raised_total{kind="critical_step_missed"}' in text


def test_a_step_whose_window_has_passed_is_overdue_not_pending(client):
    session_id = open_session(client)["session_id"]
    client.post(f"/v1/sessions/{session_id}/turns", json=CALL[1], headers=HEADERS)
    update = client.post(f"/v1/sessions/{session_id}/turns", json=CALL[1], headers=HEADERS).json()
    greet = next(step for step in update["steps"] if step["step_id"] == "greet")
    assert greet["status"] == "overdue" and "first 2" in greet["reason"]
    assert next(s for s in update["steps"] if s["step_id"] == "close")["status"] == "pending"
    assert [a["kind"] for a in update["alerts"]] == ["step_overdue"]


def test_bad_turns_are_named_and_do_not_break_the_session(client):
    session_id = open_session(client)["session_id"]
    bad = client.post(f"/v1/sessions/{session_id}/turns", json={"speaker": "agent"}, headers=HEADERS)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "text"
    backwards = {"speaker": "agent", "text": "hi", "start": 3, "end": 1}
    wrong_time = client.post(f"/v1/sessions/{session_id}/turns", json=backwards, headers=HEADERS)
    assert wrong_time.status_code == 422 and "end" in wrong_time.json()["error"]["message"]
    good = client.post(f"/v1/sessions/{session_id}/turns", json=CALL[0], headers=HEADERS)
    assert good.status_code == 200 and good.json()["turn_index"] == 0


def test_sessions_belong_to_their_key_and_an_empty_one_cannot_close(client):
    session_id = open_session(client)["session_id"]
    other = client.get(f"/v1/sessions/{session_id}", headers={"X-API-Key": OTHER_KEY})
    assert other.status_code == 404
    empty = client.post(f"/v1/sessions/{session_id}/close", headers=HEADERS)
    assert empty.status_code == 409 and empty.json()["error"]["code"] == "empty_session"
    assert client.delete(f"/v1/sessions/{session_id}", headers=HEADERS).status_code == 204
    assert client.get(f"/v1/sessions/{session_id}", headers=HEADERS).status_code == 404


def test_the_number_of_sessions_is_bounded_in_all_and_per_key(sop_dir):
    with TestClient(create_app(make_settings(sop_dir, max_sessions=3, max_sessions_per_key=2))) as small:
        assert open_session(small) and open_session(small)
        third = small.post("/v1/sessions", json={"sop_id": "card-check"}, headers=HEADERS)
        assert third.status_code == 429 and "this API key" in third.json()["error"]["message"]
        other = small.post("/v1/sessions", json={"sop_id": "card-check"}, headers={"X-API-Key": OTHER_KEY})
        assert other.status_code == 201
        full = small.post("/v1/sessions", json={"sop_id": "card-check"}, headers={"X-API-Key": OTHER_KEY})
        assert full.status_code == 429 and "server" in full.json()["error"]["message"]


def test_unknown_sop_for_a_session_is_404(client):
    response = client.post("/v1/sessions", json={"sop_id": "nope"}, headers=HEADERS)
    assert response.status_code == 404


def test_websocket_streams_updates_and_the_final_result(client):
    session_id = open_session(client, conversation_id="call-1", lang="en")["session_id"]
    with client.websocket_connect(f"/v1/sessions/{session_id}/stream", headers=HEADERS) as socket:
        socket.send_json({"speaker": "agent"})
        error = socket.receive_json()
        assert error["type"] == "error" and error["error"]["code"] == "invalid_turn"
        socket.send_text("not json")
        assert socket.receive_json()["error"]["code"] == "bad_message"
        kinds = []
        for turn in CALL:
            socket.send_json({"type": "turn", "turn": turn})
            update = socket.receive_json()
            kinds.append(update["type"])
        assert kinds == ["update"] * len(CALL) and update["done"] == ["greet", "verify", "discuss", "close"]
        socket.send_json({"type": "close"})
        final = socket.receive_json()
        assert final["type"] == "result"
        with pytest.raises(WebSocketDisconnect):
            socket.receive_json()
    whole = client.post("/v1/audit?sop=card-check", json=transcript(), headers=HEADERS).json()
    assert final["result"] == whole


def test_websocket_without_a_key_or_session_gets_an_error_and_is_closed(client):
    session_id = open_session(client)["session_id"]
    with client.websocket_connect(f"/v1/sessions/{session_id}/stream") as socket:
        assert socket.receive_json()["error"]["code"] == "missing_api_key"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        assert closed.value.code == 1008
    with client.websocket_connect("/v1/sessions/s-nope/stream", headers=HEADERS) as socket:
        assert socket.receive_json()["error"]["code"] == "unknown_session"


def test_a_client_that_disconnects_mid_stream_leaves_the_session_usable(client):
    session_id = open_session(client)["session_id"]
    with client.websocket_connect(f"/v1/sessions/{session_id}/stream", headers=HEADERS) as socket:
        socket.send_json(CALL[0])
        socket.receive_json()
    update = client.post(f"/v1/sessions/{session_id}/turns", json=CALL[1], headers=HEADERS)
    assert update.status_code == 200 and update.json()["turns"] == 2


def test_what_the_result_would_echo_is_checked_when_the_session_opens(client):
    json_headers = HEADERS | {"content-type": "application/json"}
    # an unpaired surrogate cannot be written as UTF-8: once a 500 on open (agent_id) or on close (metadata)
    for field, value in (
        ("agent_id", '"\\ud800"'),
        ("conversation_id", '"a\\udfff"'),
        ("metadata", '{"k": "\\ud800"}'),
    ):
        body = f'{{"sop_id": "card-check", "{field}": {value}}}'
        refused = client.post("/v1/sessions", content=body, headers=json_headers)
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["error"]["details"][0]["field"] == field
    deep = '{"sop_id": "card-check", "metadata": {"a": ' + "[" * 900 + "]" * 900 + "}}"  # once a 500 on close
    refused = client.post("/v1/sessions", content=deep, headers=json_headers)
    assert refused.status_code == 422 and "nested more than" in refused.json()["error"]["message"]
    kept = open_session(client, metadata={"queue": "cards", "tags": [["a", "b"]]})
    client.post(f"/v1/sessions/{kept['session_id']}/turns", json=CALL[0], headers=HEADERS)
    closed = client.post(f"/v1/sessions/{kept['session_id']}/close", headers=HEADERS)
    assert closed.status_code == 200 and closed.json()["metadata"] == {"queue": "cards", "tags": [["a", "b"]]}


def test_a_pushed_turn_is_converted_once_from_its_validated_body(client, monkeypatch):
    """HTTP and WebSocket turns reach the session as a Turn built from the validated body: the session's own
    reading of a raw turn object (for library callers) is never used on the way."""
    import auditor.live.session as live

    def refuse(*args, **kwargs):
        raise AssertionError("a validated turn was read again as a raw mapping")

    monkeypatch.setattr(live, "turn_from_mapping", refuse)
    session = open_session(client)
    pushed = client.post(f"/v1/sessions/{session['session_id']}/turns", json=CALL[0], headers=HEADERS)
    assert pushed.status_code == 200 and pushed.json()["done"] == ["greet"]
    with client.websocket_connect(f"/v1/sessions/{session['session_id']}/stream", headers=HEADERS) as socket:
        socket.send_json(CALL[1])
        assert socket.receive_json()["turn_index"] == 1
    blank = {"speaker": " ", "text": "hi"}
    bad = client.post(f"/v1/sessions/{session['session_id']}/turns", json=blank, headers=HEADERS)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_turn"
    assert "turns[2].speaker: empty" in bad.json()["error"]["message"]


def test_a_live_turn_with_an_unknown_speaker_label_is_refused_not_dropped(client):
    """A typo such as "Agnet" would otherwise become a silent event and its step would go missing."""
    session_id = open_session(client)["session_id"]
    typo = client.post(f"/v1/sessions/{session_id}/turns", json={"speaker": "Agnet", "text": "Hello"}, headers=HEADERS)
    assert typo.status_code == 422 and typo.json()["error"]["code"] == "invalid_turn"
    assert "'Agnet'" in typo.json()["error"]["message"]
    event = client.post(f"/v1/sessions/{session_id}/turns", json={"speaker": "system", "text": "call transferred"},
                        headers=HEADERS)
    good = client.post(f"/v1/sessions/{session_id}/turns", json=CALL[0], headers=HEADERS)
    assert event.status_code == 200 and good.status_code == 200 and good.json()["turn_index"] == 1
