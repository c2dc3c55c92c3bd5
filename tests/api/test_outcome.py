"""Every result the API answers carries ``outcome``, filled from ``passed`` when the auditor left it empty; live
updates list uncertain and violated steps beside done and overdue ones."""

from __future__ import annotations

import pytest

from auditor.auditor import Auditor
from tests.api.conftest import CALL, HEADERS, transcript


@pytest.fixture
def without_outcome(monkeypatch):  # type: ignore[no-untyped-def]
    """An auditor that writes results as before outcomes existed (outcome null)."""
    original = Auditor.audit_many

    def audit_many(self, conversations):  # type: ignore[no-untyped-def]
        return [result.model_copy(update={"outcome": None}) for result in original(self, conversations)]

    monkeypatch.setattr(Auditor, "audit_many", audit_many)


def test_audit_answers_carry_the_outcome(client):
    good = client.post("/v1/audit?sop=card-check", json=transcript(), headers=HEADERS).json()
    assert (good["passed"], good["outcome"]) == (True, "passed")
    turns = [CALL[0], CALL[1], CALL[4], CALL[2], CALL[6]]
    bad = client.post("/v1/audit?sop=card-check", json=transcript(turns), headers=HEADERS).json()
    assert (bad["passed"], bad["outcome"]) == (False, "failed")


def test_an_outcome_left_empty_is_filled_from_passed(client, without_outcome):
    one = client.post("/v1/audit?sop=card-check", json=transcript(), headers=HEADERS).json()
    assert one["outcome"] == "passed"
    batch = client.post(
        "/v1/audit/batch?sop=card-check",
        json={"conversations": [transcript(), transcript([CALL[0], CALL[1]], id="short")]},
        headers=HEADERS,
    ).json()
    assert [(r["passed"], r["outcome"]) for r in batch["results"]] == [(True, "passed"), (False, "failed")]


def test_live_updates_list_uncertain_and_violated_steps_and_the_close_has_an_outcome(client):
    session_id = client.post("/v1/sessions", json={"sop_id": "card-check"}, headers=HEADERS).json()["session_id"]
    update = client.post(f"/v1/sessions/{session_id}/turns", json=CALL[0], headers=HEADERS).json()
    assert (update["uncertain"], update["violated"], update["done"]) == ([], [], ["greet"])
    final = client.post(f"/v1/sessions/{session_id}/close", headers=HEADERS).json()
    assert final["outcome"] == "failed" and final["passed"] is False
