"""Coaches and abstention: needs_review audits lead the queue, uncertain steps are what a coach decides, old audits
(stored or in results.jsonl before outcomes existed) read as passed / failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from auditor.api.app import create_app
from auditor.api.routes.review_pages import _verdicts_from_form
from auditor.review.agreement import agreement_report
from auditor.review.coach_verdicts import StepVerdict, VerdictError, overturned_status, record_verdicts
from auditor.review.importing import read_result_lines
from auditor.review.queue import QueueFilters, review_queue
from auditor.risk import assess
from auditor.store.audits import audit_result, save_results
from auditor.store.database import Store, open_store, upgrade
from auditor.store.tables import audit_row
from tests.abstention import (
    conversation,
    failed_call,
    old_line,
    old_result,
    passed_call,
    review_call,
    violated_call,
)
from tests.review.conftest import HEADERS, login, review_settings


@pytest.fixture
def store() -> Store:
    opened = open_store("sqlite://")
    results = [passed_call(), failed_call(), review_call(), violated_call()]
    with opened.session() as session:
        save_results(session, results, {r.conversation_id: conversation(r.conversation_id) for r in results})
    return opened


def queue(store: Store, filters: QueueFilters | None = None):  # type: ignore[no-untyped-def]
    with store.session() as session:
        return review_queue(session, filters or QueueFilters()).items


def audit_id(store: Store, conversation_id: str) -> int:
    return next(
        item.audit_id for item in queue(store, QueueFilters(state="all")) if item.conversation_id == conversation_id
    )


def test_needs_review_leads_the_queue_even_before_a_riskier_failed_call(store: Store) -> None:
    items = queue(store)
    assert [item.conversation_id for item in items][0] == "c-review"
    risk = {item.conversation_id: item.risk for item in items}
    assert risk["c-failed"] > risk["c-review"] > risk["c-passed"], "ordered by outcome first, not by risk"
    first = items[0]
    assert (first.outcome, first.to_decide, first.passed) == ("needs_review", ("verify",), False)
    assert first.reasons[0] == "to decide: verify"
    failed = next(item for item in items if item.conversation_id == "c-failed")
    assert failed.outcome == "failed" and failed.to_decide == ()
    assert items[-1].conversation_id == "c-passed"


def test_risk_names_a_critical_violation_and_counts_low_confidence_apart_from_uncertain() -> None:
    assert assess(violated_call()).reasons[0] == "critical forbidden step said: promise"
    assert assess(failed_call()).reasons[0] == "critical step missed: verify"
    reasons = assess(review_call()).reasons
    assert "to decide: verify" in reasons and not any("low-confidence" in reason for reason in reasons)


def test_step_filter_finds_the_audits_where_the_step_is_uncertain_or_violated(store: Store) -> None:
    assert {item.conversation_id for item in queue(store, QueueFilters(step_id="verify"))} == {"c-review", "c-failed"}
    assert [item.conversation_id for item in queue(store, QueueFilters(step_id="promise"))] == ["c-violated"]
    assert queue(store, QueueFilters(step_id="greet")) == []


def test_a_coach_decides_an_uncertain_step_and_cannot_confirm_it(store: Store) -> None:
    review = audit_id(store, "c-review")
    bad = [
        StepVerdict(step_id="verify", verdict="confirm"),
        StepVerdict(step_id="greet", verdict="overturn", status="uncertain"),
    ]
    with pytest.raises(VerdictError) as caught, store.session() as session:
        record_verdicts(session, review, "Mei", bad)
    assert [p.split(":")[0] for p in caught.value.problems] == ["verdicts[0].verdict", "verdicts[1].status"]
    with pytest.raises(VerdictError, match="say what you decide"), store.session() as session:
        record_verdicts(session, review, "Mei", [StepVerdict(step_id="verify", verdict="overturn")])
    with store.session() as session:
        recorded = record_verdicts(
            session, review, "Mei", [StepVerdict(step_id="verify", verdict="overturn", status="done")]
        )
    assert [(r.auditor_status, r.coach_status, r.turn_index) for r in recorded] == [("uncertain", "done", 2)]
    with store.session() as session:
        decided = record_verdicts(
            session, review, "Lin", [StepVerdict(step_id="verify", verdict="overturn", status="missing")]
        )
    assert decided[0].turn_index is None, "a step decided missing happened nowhere"
    assert overturned_status("uncertain") is None and overturned_status("violated") == "done"
    assert overturned_status("missing") == "done" and overturned_status("done") == "missing"


def test_agreement_counts_the_auditors_uncertain_steps_apart(store: Store) -> None:
    with store.session() as session:
        record_verdicts(
            session,
            audit_id(store, "c-review"),
            "Mei",
            [StepVerdict(step_id="verify", verdict="overturn", status="done")],
        )
        record_verdicts(session, audit_id(store, "c-passed"), "Mei", [StepVerdict(step_id="verify", verdict="confirm")])
        report = agreement_report(session)
    verify = next(row for row in report.auditor if row.step_id == "verify")
    assert (verify.n, verify.accuracy, verify.undecided, verify.decided_as) == (1, 1.0, 1, {"done": 1})


def test_the_page_form_turns_a_decision_into_an_overturn() -> None:
    verdicts, problems = _verdicts_from_form({"v-verify": "decide:missing", "v-greet": "confirm", "csrf": "x"})
    assert problems == []
    assert [(v.step_id, v.verdict, v.status) for v in verdicts] == [
        ("verify", "overturn", "missing"),
        ("greet", "confirm", None),
    ]
    _, refused = _verdicts_from_form({"v-verify": "decide:maybe"})
    assert refused and refused[0].startswith("verify:")


def test_the_store_migration_reads_old_rows_outcome_from_passed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = open_store(url, migrate=False)
    upgrade(old.engine, "0001")
    with old.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO conversations (id, conversation_id, extra, created_at) VALUES "
                "(1, 'c-old-pass', '{}', '2026-01-01'), (2, 'c-old-fail', '{}', '2026-01-01')"
            )
        )
        for pk, passed in ((1, True), (2, False)):
            connection.execute(
                text(
                    "INSERT INTO audits (id, conversation_pk, sop_id, sop_version, models_key, score, passed, risk, "
                    "critical_misses, flags, result, latest, audited_at) VALUES (:id, :pk, 'card-check', '1', 'k', "
                    ":score, :passed, :risk, 0, '[]', :result, 1, '2026-01-01')"
                ),
                {
                    "id": pk,
                    "pk": pk,
                    "score": 1.0 if passed else 0.5,
                    "passed": passed,
                    "risk": 0.0 if passed else 1.3,
                    "result": old_line(passed, f"c-old-{'pass' if passed else 'fail'}"),
                },
            )
    old.close()
    store = open_store(url)
    items = {item.conversation_id: item for item in queue(store)}
    assert {cid: item.outcome for cid, item in items.items()} == {"c-old-pass": "passed", "c-old-fail": "failed"}
    with store.session() as session:
        row = audit_row(session, 2)
        assert row is not None and row.outcome == "failed" and audit_result(row).outcome == "failed"
    store.close()


def test_review_import_reads_a_results_file_written_before_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(old_line(True, "a") + "\n" + old_line(False, "b") + "\n", encoding="utf-8")
    results, problems = read_result_lines(path)
    assert problems == [] and [r.passed for r in results] == [True, False]
    store = open_store("sqlite://")
    with store.session() as session:
        save_results(session, results)
    assert [(item.conversation_id, item.outcome) for item in queue(store)] == [("b", "failed"), ("a", "passed")]


@pytest.fixture
def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = review_settings(tmp_path)
    store = open_store(settings.database_url)
    results = [passed_call(), failed_call(), review_call(), old_result(False, "c-old")]
    with store.session() as session:
        save_results(session, results, {r.conversation_id: conversation(r.conversation_id) for r in results})
    store.close()
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_queue_json_and_pages_show_outcomes_and_the_steps_to_decide(client: TestClient) -> None:
    body = client.get("/v1/review/queue", headers=HEADERS).json()
    first = body["items"][0]
    assert (first["conversation_id"], first["outcome"], first["to_decide"]) == ("c-review", "needs_review", ["verify"])
    assert {item["conversation_id"]: item["outcome"] for item in body["items"]}["c-old"] == "failed"
    detail = client.get(f"/v1/review/audits/{first['audit_id']}", headers=HEADERS).json()
    assert detail["result"]["outcome"] == "needs_review"
    assert detail["result"]["steps"][1]["evidence"][0]["act"] == "offered"
    login(client)
    page = client.get("/review").text
    assert page.index("c-review") < page.index("c-failed") < page.index("c-passed")
    assert 'data-outcome="needs_review" class="needs-review"' in page and "to decide: verify" in page
    conversation_page = client.get(f"/review/audits/{first['audit_id']}").text
    assert 'value="decide:done"' in conversation_page and 'value="decide:missing"' in conversation_page
    assert "stepcard to-decide" in conversation_page and "offered: &#39;I can … check&#39;" in conversation_page
    assert 'class="verdict review"' in conversation_page
    token = conversation_page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    saved = client.post(
        f"/review/audits/{first['audit_id']}",
        data={"csrf": token, "v-verify": "decide:done"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    stored = client.get(f"/v1/review/audits/{first['audit_id']}", headers=HEADERS).json()["reviews"]
    assert [(r["auditor_status"], r["verdict"], r["coach_status"]) for r in stored] == [
        ("uncertain", "overturned", "done")
    ]
    again = client.get(f"/review/audits/{first['audit_id']}").text
    assert 'value="decide:done" checked' in again
