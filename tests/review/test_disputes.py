"""Agents answer reviews: an agent sees only their own reviewed conversations, acknowledges or disputes a verdict;
another reviewer upholds or overturns; every change is kept with who and when. Roles from the people file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from auditor.api.app import create_app
from auditor.api.settings import Settings, hash_key
from auditor.review.people import PeopleFileError, load_people
from auditor.store.database import open_store
from auditor.store.tables import ReviewEventRow, StepReviewRow
from tests.review.conftest import HEADERS, KEY, review_settings, seed

KEYS = {"Ana": "ana-own-key", "Bo": "bo-own-key", "Li": "li-own-key", "Qi": "qi-own-key"}
PEOPLE = f"""
people:
  - {{name: Mei, role: coach}}                 # signs in with the team's shared key
  - {{name: Li, role: coach, key: "sha256:{hash_key(KEYS["Li"])}"}}
  - {{name: Qi, role: qa_lead, key: "sha256:{hash_key(KEYS["Qi"])}"}}
  - {{name: Ana, role: agent, agent_id: a-9, key: "sha256:{hash_key(KEYS["Ana"])}"}}
  - {{name: Bo, role: agent, agent_id: a-7, key: "sha256:{hash_key(KEYS["Bo"])}"}}
"""


@pytest.fixture
def team_settings(tmp_path: Path) -> Settings:
    people = tmp_path / "people.yaml"
    people.write_text(PEOPLE, encoding="utf-8")
    return review_settings(tmp_path, people_file=people)


@pytest.fixture
def ids(team_settings: Settings) -> dict[str, int]:
    return seed(team_settings.database_url)


@pytest.fixture
def app_client(team_settings: Settings, ids: dict[str, int]) -> Iterator[TestClient]:
    with TestClient(create_app(team_settings), raise_server_exceptions=False) as test_client:
        yield test_client


def sign_in(client: TestClient, name: str, key: str | None = None) -> int:
    client.cookies.clear()
    response = client.post(
        "/review/login",
        data={"reviewer": name, "key": key or KEYS.get(name, KEY), "next": "/review"},
        follow_redirects=False,
    )
    return response.status_code


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has a form token"
    return found.group(1)


def coach_overturns_verify(client: TestClient, audit_id: int, reviewer: str = "Mei") -> None:
    verdict = {"step_id": "verify", "verdict": "overturn", "status": "done", "turn_index": 2, "comment": "birth town"}
    body = {"reviewer": reviewer, "verdicts": [verdict, {"step_id": "greet", "verdict": "confirm"}]}
    response = client.post(f"/v1/review/audits/{audit_id}/verdicts", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text


def test_people_file_problems_name_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    for text, expected in (
        ("people:\n  - {name: Ana, role: agent}\n", "people[0]: Value error, an agent needs the agent_id"),
        ("people:\n  - {name: Mei, role: boss}\n", "people[0].role:"),
        ("people:\n  - {name: Mei, role: coach, key: abc}\n", "people[0].key: Value error, not a key hash"),
        ("people:\n  - {name: Mei, role: coach}\n  - {name: ' mei ', role: qa_lead}\n", "people[1].name: 'mei'"),
        ("- just a list\n", "expected 'people:'"),
    ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(PeopleFileError, match=re.escape(expected)):
            load_people(path)
    path.write_text(PEOPLE, encoding="utf-8")
    people = load_people(path)
    ana = people.find("  ANA ")
    assert ana is not None and (ana.name, ana.role, ana.agent_id) == ("Ana", "agent", "a-9")
    assert ana.may_see("a-9") and not ana.may_see("a-7") and not ana.may_see(None)


def test_sign_in_follows_the_people_file(app_client: TestClient) -> None:
    assert sign_in(app_client, "Mei") == 303  # no own key: the shared key
    assert sign_in(app_client, "Ana", KEY) == 401  # has her own key: the shared key is not hers
    assert sign_in(app_client, "Li", KEY) == 401
    assert sign_in(app_client, "Nobody") == 401  # not on the team
    assert sign_in(app_client, "ana", KEYS["Ana"]) == 303
    page = app_client.get("/review/my").text
    assert "<b>Ana</b>" in page and "(agent)" in page  # the name as the people file spells it, and the role
    assert "Review queue" not in page  # an agent's menu has no queue


def test_agent_sees_only_their_own_reviewed_conversations(app_client: TestClient, ids: dict[str, int]) -> None:
    coach_overturns_verify(app_client, ids["en-no-verify"])  # Ana's (a-9)
    good = {"reviewer": "Mei", "verdicts": [{"step_id": "greet", "verdict": "confirm"}]}
    assert app_client.post(f"/v1/review/audits/{ids['en-good']}/verdicts", json=good, headers=HEADERS).is_success
    sign_in(app_client, "Ana")
    mine = app_client.get("/review/my").text
    assert "en-no-verify" in mine
    assert "en-good" not in mine  # Bo's conversation
    assert "zh-call" not in mine  # hers, but nobody reviewed it yet
    other = ids["en-good"]
    assert app_client.get(f"/review/my/{other}").status_code == 404  # another agent's: as if it did not exist
    # the coaches' pages send an agent back to their own, and their forms refuse her
    for path in ("/review", f"/review/audits/{other}", "/review/agreement", "/review/disputes"):
        response = app_client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"].split("?")[0]) == (303, "/review/my"), path
    token = csrf(mine)
    form = {"csrf": token, "v-greet": "overturn", "s-greet": "missing"}
    refused = app_client.post(f"/review/audits/{other}", data=form, follow_redirects=False)
    assert refused.status_code == 403 and "only the reviews of their own conversations" in refused.text
    store = open_store(app_client.app.state.settings.database_url)  # type: ignore[attr-defined]
    with store.session() as session:
        assert [r.reviewer for r in session.scalars(select(StepReviewRow).where(StepReviewRow.audit_id == other))] == [
            "Mei"
        ]
    store.close()


def test_dispute_goes_to_another_reviewer_and_is_overturned(app_client: TestClient, ids: dict[str, int]) -> None:
    audit_id = ids["en-no-verify"]
    coach_overturns_verify(app_client, audit_id)  # Mei: verify done, greet confirmed
    sign_in(app_client, "Ana")
    page = app_client.get(f"/review/my/{audit_id}").text
    assert page.count('name="answer" value="disputed"') == 2  # one form per reviewed step
    token = csrf(page)
    no_reason = app_client.post(
        f"/review/my/{audit_id}", data={"csrf": token, "step_id": "greet", "answer": "disputed"}
    )
    assert no_reason.status_code == 422 and "say why you dispute" in no_reason.text
    forged = app_client.post(f"/review/my/{audit_id}", data={"csrf": "x", "step_id": "greet", "answer": "acknowledged"})
    assert forged.status_code == 403
    ack = {"csrf": token, "step_id": "greet", "answer": "acknowledged"}
    assert app_client.post(f"/review/my/{audit_id}", data=ack, follow_redirects=False).status_code == 303
    again = app_client.post(f"/review/my/{audit_id}", data=ack | {"answer": "disputed", "comment": "changed my mind"})
    assert again.status_code == 409 and "already acknowledged" in again.text
    dispute = {"csrf": token, "step_id": "verify", "answer": "disputed", "comment": "I never asked a security question"}
    shown = app_client.post(f"/review/my/{audit_id}", data=dispute)
    assert "Dispute sent: another reviewer will decide." in shown.text
    # Ana cannot resolve her own dispute (nor see the queue of disputes)
    resolve_form = {"csrf": token, "audit_id": str(audit_id), "step_id": "verify", "outcome": "upheld"}
    assert app_client.post("/review/disputes", data=resolve_form).status_code == 403

    sign_in(app_client, "Mei")  # the coach whose verdict is disputed
    queue = app_client.get("/review/disputes").text
    assert "I never asked a security question" in queue and "Your own verdict" in queue
    token = csrf(queue)
    own = app_client.post("/review/disputes", data=resolve_form | {"csrf": token})
    assert own.status_code == 403 and "goes to another coach" in own.text

    sign_in(app_client, "Li")
    queue = app_client.get("/review/disputes").text
    assert "Your own verdict" not in queue and 'value="overturned"' in queue
    token = csrf(queue)
    overturn = resolve_form | {"csrf": token, "outcome": "overturned", "status": "missing", "comment": "Ana is right"}
    done = app_client.post("/review/disputes", data=overturn)
    assert "the verdict is overturned" in done.text
    assert "No open disputes." in done.text
    twice = app_client.post("/review/disputes", data=overturn)
    assert twice.status_code == 409 and "no open dispute" in twice.text

    # Li's verdict is recorded like any coach's; Mei's stays beside it
    detail = app_client.get(f"/v1/review/audits/{audit_id}", headers=HEADERS).json()
    verify = {r["reviewer"]: r["coach_status"] for r in detail["reviews"] if r["step_id"] == "verify"}
    assert verify == {"Mei": "done", "Li": "missing"}
    history = app_client.get(f"/v1/review/disputes/audits/{audit_id}", headers=HEADERS).json()
    steps = {step["step_id"]: step for step in history}
    assert steps["greet"]["state"] == "acknowledged"
    assert [(e["kind"], e["actor"], e["role"]) for e in steps["verify"]["history"]] == [
        ("disputed", "Ana", "agent"),
        ("overturned", "Li", "coach"),
    ]
    assert steps["verify"]["history"][1]["status"] == "missing" and steps["verify"]["history"][0]["at"]

    sign_in(app_client, "Ana")  # the agent sees the outcome and who decided
    page = app_client.get(f"/review/my/{audit_id}").text
    assert "overturned" in page and "Ana is right" in page and "Li" in page
    assert 'value="disputed"' not in page  # nothing left to answer


def test_a_qa_lead_resolves_any_dispute_and_an_upheld_one_keeps_the_verdict(
    app_client: TestClient, ids: dict[str, int]
) -> None:
    audit_id = ids["en-no-verify"]
    coach_overturns_verify(app_client, audit_id, reviewer="Qi")
    body = {"by": "Ana", "audit_id": audit_id, "step_id": "verify", "answer": "disputed", "comment": "not done"}
    assert app_client.post("/v1/review/disputes/answers", json=body, headers=HEADERS).status_code == 200
    resolution = {"by": "Qi", "audit_id": audit_id, "step_id": "verify", "outcome": "upheld", "comment": "it stands"}
    response = app_client.post("/v1/review/disputes/resolutions", json=resolution, headers=HEADERS)
    assert response.status_code == 200, response.text  # a QA lead resolves a dispute of their own verdict too
    assert (response.json()["kind"], response.json()["status"]) == ("upheld", "done")
    assert app_client.get("/v1/review/disputes", headers=HEADERS).json() == []
    resolved = app_client.get("/v1/review/disputes?state=resolved", headers=HEADERS).json()
    assert [item["step"]["state"] for item in resolved] == ["upheld"]
    store = open_store(app_client.app.state.settings.database_url)  # type: ignore[attr-defined]
    with store.session() as session:
        events = session.scalars(select(ReviewEventRow).order_by(ReviewEventRow.id))
        kinds = [(e.kind, e.actor, e.reviewer) for e in events]
        verdicts = [(r.reviewer, r.coach_status) for r in session.scalars(select(StepReviewRow))]
    store.close()
    assert kinds == [("disputed", "Ana", "Qi"), ("upheld", "Qi", "Qi")]
    assert ("Qi", "done") in verdicts and len([v for v in verdicts if v[0] != "Qi"]) == 0


def test_json_api_applies_the_same_rules(app_client: TestClient, ids: dict[str, int]) -> None:
    audit_id = ids["en-no-verify"]
    coach_overturns_verify(app_client, audit_id)
    base = {"audit_id": audit_id, "step_id": "verify", "answer": "disputed", "comment": "why"}

    def answer(**changes: object) -> tuple[int, str]:
        response = app_client.post("/v1/review/disputes/answers", json=base | changes, headers=HEADERS)
        return response.status_code, response.json().get("error", {}).get("code", "")

    assert answer(by="Bo") == (404, "unknown_audit")  # another agent's conversation
    assert answer(by="Mei") == (403, "not_allowed")  # a coach does not answer for the agent
    assert answer(by="Nobody") == (422, "unknown_person")
    assert answer(by="Ana", role="coach") == (422, "invalid_request")  # the people file decides the role
    assert answer(by="Ana", step_id="close") == (409, "invalid_state")  # not reviewed
    assert answer(by="Ana", comment="") == (422, "invalid_request")
    assert answer(by="Ana")[0] == 200
    assert answer(by="Ana") == (409, "invalid_state")
    assert app_client.post("/v1/review/disputes/answers", json=base | {"by": "Ana"}).status_code == 401  # no key
    resolution = {"audit_id": audit_id, "step_id": "verify", "outcome": "overturned"}
    for by, expected in (("Ana", 403), ("Mei", 403), ("Li", 200)):
        response = app_client.post("/v1/review/disputes/resolutions", json=resolution | {"by": by}, headers=HEADERS)
        assert response.status_code == expected, (by, response.text)
    assert response.json()["status"] == "missing"  # overturning a 'done' verdict, no status given: missing


def test_without_a_people_file_everyone_is_a_coach(tmp_path: Path) -> None:
    settings = review_settings(tmp_path)
    ids = seed(settings.database_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert sign_in(client, "Anyone", KEY) == 303
        assert client.get("/review", follow_redirects=False).status_code == 200  # the queue, as before
        response = client.get("/review/my", follow_redirects=False)
        assert response.headers["location"].startswith("/review/disputes")  # a coach has no reviews of their own
        coach_overturns_verify(client, ids["en-no-verify"])
        body = {"by": "Ana", "role": "agent", "agent_id": "a-9", "audit_id": ids["en-no-verify"], "step_id": "verify"}
        answered = client.post("/v1/review/disputes/answers", json=body | {"answer": "acknowledged"}, headers=HEADERS)
        assert answered.status_code == 200 and answered.json()["role"] == "agent"


def test_an_overturned_dispute_settles_the_step_even_against_a_majority_of_coaches(
    team_settings: Settings, ids: dict[str, int]
) -> None:
    """Two coaches say the critical step was done; the agent disputes; a QA lead overturns it to missing: the final
    outcome follows the resolution, not the earlier majority."""
    from auditor.review.coach_verdicts import StepVerdict, record_verdicts
    from auditor.review.disputes import answer, resolve
    from auditor.review.people import Person
    from auditor.store.tables import AuditRow

    audit_id = ids["en-no-verify"]
    done = [StepVerdict(step_id="verify", verdict="overturn", status="done", turn_index=2)]
    store = open_store(team_settings.database_url)
    with store.session() as session:
        record_verdicts(session, audit_id, "Mei", done)
        record_verdicts(session, audit_id, "Li", done)
        assert session.get(AuditRow, audit_id).final_outcome == "passed"
        answer(session, Person("Ana", "agent", "a-9"), audit_id, "verify", "disputed", "I never asked for the PIN")
        resolve(session, Person("Qi", "qa_lead"), audit_id, "verify", "overturned", "right: no check", "missing")
        audit = session.get(AuditRow, audit_id)
        assert audit.final_outcome == "failed"
        assert {row.step_id: row.final_status for row in audit.steps}["verify"] == "missing"
    store.close()
