"""Reviewed results: a coach's verdicts make the conversation's final step verdicts, score and outcome, and one POST
changes them everywhere they are shown (queue, pages, GET of the audit, export, rollup), the automatic ones beside."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from auditor.result import ConversationResult
from auditor.review.coach_verdicts import StepVerdict, record_verdicts
from auditor.review.rollups import rollup
from auditor.sop.loading import sop_from_text
from auditor.store.audits import save_results
from auditor.store.database import open_store, upgrade
from auditor.store.final_results import final_result
from auditor.store.tables import AuditRow, AuditStepRow
from tests.review.conftest import HEADERS, login
from tests.review.factories import CARD_SOP, audited

OPTIONAL_SOP = CARD_SOP.replace("id: card-check", "id: card-upsell") + """
  - id: upsell
    name: Offer the premium card
    keywords: ["premium card offer", "白金卡"]
    required: false
"""


def _results() -> dict[str, ConversationResult]:
    results, _ = audited()
    return {r.conversation_id: r for r in results}


def test_final_verdicts_follow_the_checklist_rules() -> None:
    good = _results()["en-good"]  # passed 1.00
    assert final_result(good, {}).outcome == "passed" and not final_result(good, {}).reviewed
    overturned = final_result(good, {"verify": "missing"})  # critical missing: failed
    assert (overturned.outcome, overturned.score, overturned.reviewed_steps) == ("failed", 0.75, 1)
    assert (overturned.automatic_outcome, overturned.automatic_score) == ("passed", 1.0)
    assert overturned.step("verify") is not None and overturned.step("verify").overturned  # type: ignore[union-attr]
    # near misses: a critical step late (not a critical failure) keeps the call passing at 0.875; a non-critical
    # step missing costs its share (0.75 < 0.8 fails); confirming changes nothing
    assert final_result(good, {"verify": "late"}).outcome == "passed"
    assert final_result(good, {"close": "missing"}).outcome == "failed"
    confirmed = final_result(good, {"verify": "done"})
    assert (confirmed.outcome, confirmed.score, confirmed.reviewed, confirmed.changed) == ("passed", 1.0, True, False)
    missed = _results()["en-no-verify"]  # failed: verify missing; a coach says done -> passed
    assert final_result(missed, {"verify": "done"}).outcome == "passed"
    steps = [s.model_copy(update={"status": "uncertain"}) if s.step_id == "verify" else s for s in missed.steps]
    uncertain = missed.model_copy(update={"outcome": "needs_review", "steps": steps})
    assert final_result(uncertain, {"greet": "done"}).outcome == "needs_review"  # verify still to decide
    assert final_result(uncertain, {"verify": "done"}).outcome == "passed"  # decided: no longer uncertain
    assert final_result(uncertain, {"verify": "out_of_order"}).outcome == "failed"


def test_a_missed_optional_step_does_not_fail_the_call() -> None:
    results, _ = audited(sop_from_text(OPTIONAL_SOP))
    good = next(r for r in results if r.conversation_id == "en-good")
    assert good.step("upsell").status == "missing" and good.outcome == "passed"
    final = final_result(good, {"upsell": "missing"})
    assert (final.outcome, final.score) == ("passed", 1.0)


def test_verdicts_store_the_final_result_majority_of_coaches(tmp_path: Path) -> None:
    results, conversations = audited()
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    with store.session() as session:
        ids = {s.conversation_id: s.audit_id for s in save_results(session, results, conversations)}
    audit_id = ids["en-good"]
    with store.session() as session:
        record_verdicts(session, audit_id, "Mei", [StepVerdict(step_id="verify", verdict="overturn", status="missing")])
        audit = session.get_one(AuditRow, audit_id)
        assert (audit.final_outcome, audit.final_score, audit.reviewed_steps) == ("failed", 0.75, 1)
        assert (audit.outcome, audit.score) == ("passed", 1.0)  # the automatic ones stay
        assert audit.reviewed_at is not None
    with store.session() as session:  # a second coach confirms: 1-1, the latest (the confirm) wins
        record_verdicts(session, audit_id, "Jun", [StepVerdict(step_id="verify", verdict="confirm")])
        assert session.get_one(AuditRow, audit_id).final_outcome == "passed"
    with store.session() as session:  # a third coach says missing: 2-1 for missing
        record_verdicts(session, audit_id, "Ana", [StepVerdict(step_id="verify", verdict="overturn")])
        audit = session.get_one(AuditRow, audit_id)
        assert audit.final_outcome == "failed"
        step = session.scalars(
            select(AuditStepRow).where(AuditStepRow.audit_id == audit_id, AuditStepRow.step_id == "verify")
        ).one()
        assert (step.status, step.final_status, step.reviewed) == ("done", "missing", True)
    with store.session() as session:  # re-importing the same audit keeps its reviewed result
        save_results(session, results, conversations)
        assert session.get_one(AuditRow, audit_id).final_outcome == "failed"
    with store.session() as session:
        report = rollup(session)
        agent = next(a for a in report.agents if a.agent_id == "a-7")
        assert (agent.passed, agent.failed, agent.reviewed, agent.automatic_passed) == (0, 1, 1, 1)
        verify = next(s for s in report.steps if s.step_id == "verify")
        assert (verify.reviewed, verify.overturned) == (1, 1)
    store.close()


def test_the_migration_fills_final_results_of_audits_reviewed_before_it(tmp_path: Path) -> None:
    """A store at 0002 with a coach's overturn: after upgrading, that audit's final outcome is failed and the
    unreviewed ones keep their automatic values."""
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0002")
    results, _ = audited()
    good = next(r for r in results if r.conversation_id == "en-good")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO conversations (id, conversation_id, extra, created_at) "
                                "VALUES (1, 'en-good', '{}', '2026-03-02 09:00:00')"))
        connection.execute(
            text(
                "INSERT INTO audits (id, conversation_pk, sop_id, sop_version, models_key, score, passed, outcome, "
                "risk, critical_misses, flags, result, latest, audited_at) VALUES (1, 1, 'card-check', '1', 'k', 1.0, "
                "1, 'passed', 0, 0, '[]', :result, 1, '2026-03-02 10:00:00')"
            ),
            {"result": good.model_dump_json()},
        )
        for position, step in enumerate(good.steps):
            connection.execute(
                text(
                    "INSERT INTO audit_steps (audit_id, position, step_id, status, confidence, critical, required) "
                    "VALUES (1, :p, :s, :st, 0.9, :c, 1)"
                ),
                {"p": position, "s": step.step_id, "st": step.status, "c": step.critical},
            )
        connection.execute(
            text(
                "INSERT INTO step_reviews (conversation_pk, audit_id, sop_id, step_id, reviewer, auditor_status, "
                "verdict, coach_status, comment, created_at, updated_at) VALUES (1, 1, 'card-check', 'verify', 'Mei', "
                "'done', 'overturned', 'missing', '', '2026-03-03 10:00:00', '2026-03-03 10:00:00')"
            )
        )
    engine.dispose()
    store = open_store(url)
    with store.session() as session:
        audit = session.get_one(AuditRow, 1)
        assert (audit.final_outcome, audit.final_score, audit.reviewed_steps) == ("failed", 0.75, 1)
        assert (audit.outcome, audit.score) == ("passed", 1.0)
        assert {s.step_id: (s.final_status, s.reviewed) for s in audit.steps}["verify"] == ("missing", True)
    store.close()


def test_one_post_overturning_a_critical_step_fails_the_call_everywhere(
    client: TestClient, audit_ids: dict[str, int]
) -> None:
    audit_id = audit_ids["en-good"]
    before = client.get("/v1/review/queue?state=all", headers=HEADERS).json()["items"]
    assert next(i for i in before if i["audit_id"] == audit_id)["outcome"] == "passed"
    body = {"reviewer": "Mei", "verdicts": [{"step_id": "verify", "verdict": "overturn", "status": "missing"}]}
    assert client.post(f"/v1/review/audits/{audit_id}/verdicts", json=body, headers=HEADERS).status_code == 200

    queue = client.get("/v1/review/queue?state=reviewed", headers=HEADERS).json()["items"]
    item = next(i for i in queue if i["audit_id"] == audit_id)
    assert (item["outcome"], item["passed"], item["score"], item["reviewed"]) == ("failed", False, 0.75, True)
    assert (item["automatic_outcome"], item["automatic_score"]) == ("passed", 1.0)

    detail = client.get(f"/v1/review/audits/{audit_id}", headers=HEADERS).json()
    assert (detail["final"]["outcome"], detail["final"]["reviewed"]) == ("failed", True)
    assert detail["result"]["outcome"] == "passed"  # the automatic result, unchanged, beside it
    verify = next(s for s in detail["final"]["steps"] if s["step_id"] == "verify")
    assert (verify["automatic_status"], verify["final_status"], verify["reviewed"]) == ("done", "missing", True)

    agents = client.get("/v1/review/rollup", headers=HEADERS).json()["agents"]
    assert next(a for a in agents if a["agent_id"] == "a-7") | {"score_total": 0, "mean_score": 0} == {
        "agent_id": "a-7",
        "conversations": 1,
        "reviewed": 1,
        "passed": 0,
        "failed": 1,
        "needs_review": 0,
        "automatic_passed": 1,
        "score_total": 0,
        "mean_score": 0,
        "pass_rate": 0.0,
    }

    exported = client.get("/v1/review/export?format=csv&state=reviewed", headers=HEADERS)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["conversation_id"], r["outcome"], r["automatic_outcome"], r["reviewed"]) for r in rows] == [
        ("en-good", "failed", "passed", "yes")
    ]
    assert "verify=missing (auditor: done; reviewed)" in rows[0]["steps"]
    as_json = client.get("/v1/review/export?state=todo", headers=HEADERS).json()["audits"]
    assert {a["conversation_id"] for a in as_json} == {"en-no-verify", "zh-call"}

    login(client)
    page = client.get(f"/review/audits/{audit_id}?ui=en").text
    assert 'id="final-outcome" data-outcome="failed"' in page and "failed · 0.75" in page
    assert "auditor: passed · 1.00" in page and "reviewed" in page
    listing = client.get("/review?state=reviewed&ui=en").text
    row = f'data-audit="{audit_id}" data-outcome="failed" data-automatic-outcome="passed" data-reviewed="yes"'
    assert row in listing


def test_a_confirm_is_reviewed_but_changes_nothing(client: TestClient, audit_ids: dict[str, int]) -> None:
    audit_id = audit_ids["en-good"]
    body = {"reviewer": "Mei", "verdicts": [{"step_id": "verify", "verdict": "confirm"}]}
    assert client.post(f"/v1/review/audits/{audit_id}/verdicts", json=body, headers=HEADERS).status_code == 200
    final = client.get(f"/v1/review/audits/{audit_id}", headers=HEADERS).json()["final"]
    assert (final["outcome"], final["score"], final["reviewed"]) == ("passed", 1.0, True)
    login(client)
    page = client.get(f"/review/audits/{audit_id}?ui=en").text
    assert "passed · 1.00" in page and "failed" not in page.split('id="final-outcome"')[1][:200]


def test_pages_say_out_of_order_and_keep_a_missed_optional_step_out_of_failures(
    client: TestClient, audit_ids: dict[str, int], settings: object
) -> None:
    login(client)
    zh_call = client.get(f"/review/audits/{audit_ids['zh-call']}?ui=en").text
    assert "critical step out of order: verify" in zh_call
    assert "critical step missed: verify" not in zh_call
    results, conversations = audited(sop_from_text(OPTIONAL_SOP))
    store = open_store(settings.database_url)  # type: ignore[attr-defined]
    with store.session() as session:
        saved = save_results(session, results, conversations)
    store.close()
    good = next(s.audit_id for s in saved if s.conversation_id == "en-good")
    page = client.get(f"/review/audits/{good}?ui=en").text
    assert "not done (optional, not scored)" in page
    assert "optional step not done here" in page
    card = page.split('id="step-upsell"')[1].split('class="stepcard')[0]
    assert 's-missing' not in card and "missing here" not in page


def test_the_export_command_writes_final_and_automatic_results(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app as cli

    results, conversations = audited()
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(db)
    with store.session() as session:
        ids = {s.conversation_id: s.audit_id for s in save_results(session, results, conversations)}
        record_verdicts(session, ids["en-no-verify"], "Mei", [StepVerdict(step_id="verify", verdict="overturn")])
    store.close()
    out = tmp_path / "reviewed.csv"
    ran = CliRunner().invoke(cli, ["review", "export", "--db", db, "--state", "reviewed", "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    assert "Wrote 1 audit(s), 1 reviewed" in ran.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["conversation_id"], r["outcome"], r["score"], r["automatic_outcome"]) for r in rows] == [
        ("en-no-verify", "passed", "1.0000", "failed")  # the coach found verify done: the call passes
    ]
    queue = CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["review", "queue", "--db", db, "--state", "reviewed"])
    assert "passed (reviewed; auditor: failed)" in " ".join(queue.output.split())


WEIGHTED_SOP = (
    CARD_SOP.replace("id: card-check", "id: card-weighted")
    .replace("name: Discuss the card\n", "name: Discuss the card\n    weight: 6\n")
    .replace("languages: [en, zh]\n", "languages: [en, zh]\npass_score: 0.9\n")
)


def test_a_custom_sop_scores_reviewed_verdicts_with_its_own_weights(tmp_path: Path) -> None:
    """An SOP that is not built in: the store records its weights and pass score with the audit, so an overturned
    step costs its own weight (discuss weighs 6 of 9), not one step in four; without the SOP, weight 1 each."""
    sop = sop_from_text(WEIGHTED_SOP)
    results, conversations = audited(sop)
    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    with store.session() as session:
        saved = save_results(session, results, conversations, sops={sop.id: sop})
        audit_id = next(s.audit_id for s in saved if s.conversation_id == "en-good")
        overturn = StepVerdict(step_id="discuss", verdict="overturn", status="missing")
        record_verdicts(session, audit_id, "Mei", [overturn])
        audit = session.get_one(AuditRow, audit_id)
        weights = {"greet": 1.0, "verify": 1.0, "discuss": 6.0, "close": 1.0}
        assert audit.scoring == {"weights": weights, "pass_score": 0.9}
        assert (audit.final_score, audit.final_outcome) == (round(3 / 9, 4), "failed")
    good = next(r for r in results if r.conversation_id == "en-good")
    unrecorded = final_result(good, {"discuss": "missing"})
    assert (unrecorded.score, unrecorded.outcome) == (0.75, "failed")  # weight 1 each, pass score 0.8
    rules = {"weights": {"close": 1.0, "discuss": 6.0}, "pass_score": 0.8}
    near = final_result(good, {"close": "missing"}, scoring=rules)
    assert near.outcome == "passed"  # close weighs 1 of 9 here (0.89 >= 0.8), where 1 of 4 would fail the call
