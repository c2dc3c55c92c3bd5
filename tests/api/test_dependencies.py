"""Routes take what they need as dependencies: a test replaces one with ``app.dependency_overrides``; and a
transcript body is converted once, to the very conversation (and messages) the contract loader makes of it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from auditor.api.app import create_app
from auditor.api.dependencies import get_settings, get_store
from auditor.api.errors import ApiError
from auditor.api.schemas import TranscriptIn
from auditor.api.transcripts import content_id, conversation_from_model
from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.records import conversation_from_mapping
from tests.api.conftest import CALL, HEADERS, make_settings, transcript


def test_a_dependency_is_replaced_through_dependency_overrides(sop_dir: Path) -> None:
    app = create_app(make_settings(sop_dir))

    def no_store() -> None:
        raise ApiError(503, "no_store", "the review store is not open (AUDITOR_DATABASE_URL)")

    app.dependency_overrides[get_store] = no_store
    app.dependency_overrides[get_settings] = lambda: make_settings(sop_dir, max_turns=3)
    with TestClient(app) as client:
        queue = client.get("/v1/review/queue", headers=HEADERS)
        assert queue.status_code == 503 and queue.json()["error"]["code"] == "no_store"
        audit = client.post("/v1/audit?sop=card-check", json=transcript(), headers=HEADERS)
        assert audit.status_code == 422 and audit.json()["error"]["code"] == "too_many_turns"
        app.dependency_overrides.clear()
        assert client.get("/v1/review/queue", headers=HEADERS).status_code == 200
        assert client.post("/v1/audit?sop=card-check", json=transcript(), headers=HEADERS).status_code == 200


BAD = "\ud800"
BODIES = [
    transcript(),
    transcript(queue="cards", nested={"a": [1, {"b": None}]}),
    {"turns": CALL},  # no id: the content's
    {"id": "  ", "turns": CALL},  # a blank id is no id
    transcript(lang="zh-Hant", started_at="2024-05-01T10:00:00Z"),
    transcript(lang="fr"),
    transcript(turns=[]),
    transcript(turns=[{"speaker": " ", "text": "hi"}]),
    transcript(turns=[{"speaker": "agent", "text": "hi", "start": 2, "end": 1}]),
    transcript(turns=[{"speaker": "agent", "text": "hi", "start": -1, "end": math.inf}]),
    transcript(turns=[{"speaker": "agent", "text": "hi", "start": "1.5", "end": None}]),
    transcript(turns=[{"speaker": "agent", "text": "hi", "steps": ["greet"], "channel": "chat"}]),
    transcript(turns=[{"speaker": "agent", "text": "hi", "steps": "greet"}]),
    transcript(turns=[{"speaker": BAD, "text": BAD, "note": {BAD: 1}}]),
    transcript(agent_id=BAD, extra=[BAD]),
    transcript(turns=[{"speaker": " ", "text": "x", "start": -1, "end": -2, "steps": 3, "a": BAD}] * 3),
]


@pytest.mark.parametrize("body", BODIES)
def test_a_body_converts_as_the_contract_loader_reads_it(body: dict) -> None:
    model = TranscriptIn.model_validate(body)
    dumped = model.model_dump(exclude_unset=True)
    try:
        expected = conversation_from_mapping(dumped, source="", default_id=content_id(dumped))
    except TranscriptError as error:
        with pytest.raises(TranscriptError) as raised:
            conversation_from_model(model)
        assert raised.value.reason == error.reason
    else:
        assert conversation_from_model(model) == expected
