"""Sampling for review: the risk-ranked share plus a random share, assignments per coach, and an estimate of
compliance from the reviewed calls that covers the true rate where counting the reviewed calls alike does not."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import func, select

from auditor.result import ConversationResult, StepResult
from auditor.review.coach_verdicts import StepVerdict, record_verdicts
from auditor.review.sampling import (
    RANDOM,
    RISK_RANKED,
    SampleError,
    SampleFilters,
    Stratum,
    assignments,
    deal,
    draw_sample,
    estimate,
    naive_rate,
    plan_sample,
    stratified_rate,
)
from auditor.store.audits import save_result
from auditor.store.database import Store, open_store
from auditor.store.tables import AuditRow

# --- the draw and the estimator on a simulated population -----------------------------------------------------------


def test_the_draw_takes_the_top_of_the_queue_and_a_seeded_random_share_of_the_rest() -> None:
    ranked = list(range(1, 101))
    picks = plan_sample(ranked, 20, 0.3, seed=7)
    top = [p.audit_id for p in picks if p.how == RISK_RANKED]
    drawn = [p for p in picks if p.how == RANDOM]
    assert top == list(range(1, 15))  # 70 % of 20 from the top, in queue order, each for sure
    assert len(drawn) == 6 and all(p.audit_id > 14 for p in drawn)
    assert {p.probability for p in drawn} == {6 / 86}
    assert plan_sample(ranked, 20, 0.3, seed=7) == picks  # the seed reproduces the sample
    assert plan_sample(ranked, 20, 0.3, seed=8) != picks
    assert [p.how for p in plan_sample(ranked[:5], 20, 0.3, seed=7)] == [RISK_RANKED] * 5  # all of a small queue
    with pytest.raises(SampleError):
        plan_sample(ranked, 0, 0.3, seed=1)
    with pytest.raises(SampleError):
        plan_sample(ranked, 5, 1.5, seed=1)


def test_coaches_get_the_sample_by_load_round_robin_when_equal() -> None:
    picks = plan_sample(list(range(1, 41)), 10, 0.5, seed=3)
    dealt = deal(picks, ["ana", "bo"])
    assert dealt == ["ana", "bo"] * 5  # each coach gets risk-ranked and random calls alike
    assert deal(picks[:4], ["ana", "bo"], load={"ana": 3}) == ["bo", "bo", "bo", "ana"]  # bo catches up first
    with pytest.raises(SampleError):
        deal(picks, [])


def _simulated_population(size: int, rng: random.Random) -> list[bool]:
    """Pass (True) / fail per call in queue order: the riskiest calls fail far more often."""
    return [rng.random() > 0.85 * (1 - rank / size) ** 3 for rank in range(size)]


def test_the_estimate_covers_the_true_rate_where_the_naive_one_is_biased() -> None:
    rng = random.Random(2026)
    population = _simulated_population(600, rng)
    truth = sum(population) / len(population)
    covered = naive_covered = 0
    naive_values, estimates = [], []
    runs = 400
    for seed in range(runs):
        picks = plan_sample(range(len(population)), 40, 0.3, seed)
        top = [population[p.audit_id] for p in picks if p.how == RISK_RANKED]
        drawn = [population[p.audit_id] for p in picks if p.how == RANDOM]
        rest = len(population) - len(top)
        ours = stratified_rate([Stratum(len(top), len(top), sum(top)), Stratum(rest, len(drawn), sum(drawn))])
        naive = naive_rate(sum(top) + sum(drawn), len(picks))
        assert ours.value is not None and naive.value is not None
        covered += ours.low <= truth <= ours.high
        naive_covered += naive.low <= truth <= naive.high
        estimates.append(ours.value)
        naive_values.append(naive.value)
    assert 0.6 < truth < 0.9
    assert sum(naive_values) / runs < truth - 0.2  # the reviewed calls are mostly the risky ones
    assert naive_covered / runs < 0.05
    assert abs(sum(estimates) / runs - truth) < 0.02  # unbiased
    assert covered / runs >= 0.93  # the 95 % interval covers the true rate


def test_a_stratum_reviewed_whole_is_known_exactly_and_one_not_reviewed_leaves_no_estimate() -> None:
    exact = stratified_rate([Stratum(10, 10, 4), Stratum(0, 0, 0)])
    assert (exact.value, exact.low, exact.high) == (0.4, 0.4, 0.4)
    unknown = stratified_rate([Stratum(10, 0, 0), Stratum(90, 30, 27)])
    assert unknown.value is None
    assert unknown.low < 0.9 * 0.9 and unknown.high > 0.1 + 0.9 * 0.9  # the unreviewed tenth may be anything
    nothing = stratified_rate([Stratum(10, 0, 0), Stratum(90, 0, 0)])
    assert (nothing.value, nothing.low, nothing.high) == (None, 0.0, 1.0)


# --- the store -------------------------------------------------------------------------------------------------------


def _result(number: int, fails: bool) -> ConversationResult:
    verify = "missing" if fails else "done"
    steps = [
        StepResult(step_id="greet", status="done", confidence=0.9),
        StepResult(step_id="verify", status=verify, confidence=0.9, critical=True),
        StepResult(step_id="close", status="done" if number % 4 else "missing", confidence=0.9),
    ]
    return ConversationResult(
        conversation_id=f"call-{number:03d}",
        agent_id=f"agent-{number % 3}",
        sop_id="card-check",
        sop_version=1,
        lang="en",
        score=0.3 if fails else 1.0,
        passed=not fails,
        outcome="failed" if fails else "passed",
        steps=steps,
        metadata={"started_at": f"2026-03-{1 + number % 28:02d}T10:00:00"},
    )


CARD = SampleFilters(sop_id="card-check")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(f"sqlite:///{tmp_path / 'audits.db'}")
    rng = random.Random(11)
    with opened.session() as session:
        for number in range(120):
            save_result(session, _result(number, fails=rng.random() < 0.3))
    return opened


def _review(store: Store, audit_id: int, coach: str) -> None:
    with store.session() as session:
        steps = ("greet", "verify", "close")
        record_verdicts(session, audit_id, coach, [StepVerdict(step_id=s, verdict="confirm") for s in steps])


def test_a_drawn_sample_is_assigned_to_the_coaches_and_reproducible(store: Store) -> None:
    with store.session() as session:
        sample = draw_sample(session, CARD, size=30, random_share=0.4, coaches=["ana", "bo"], drawn_by="lead", seed=5)
    assert (sample.population, sample.risk_ranked, sample.random_drawn) == (120, 18, 12)
    assert sample.per_coach == {"ana": 15, "bo": 15}
    risky = [a for a in sample.assignments if a.how == RISK_RANKED]
    assert all(a.outcome == "failed" for a in risky)  # the top of the queue: critical misses
    assert {a.inclusion_probability for a in sample.assignments if a.how == RANDOM} == {12 / 102}
    with store.session() as session:
        again = draw_sample(session, CARD, size=30, random_share=0.4, coaches=["ana", "bo"], drawn_by="lead", seed=5)
        assert [a.audit_id for a in again.assignments] == [a.audit_id for a in sample.assignments]
        assert again.sample_id != sample.sample_id
        other = draw_sample(session, SampleFilters("other"), size=5, random_share=0.5, coaches=["a"], drawn_by="x")
        assert other.population == 0 and other.assignments == []


def test_assignments_are_done_once_their_coach_reviews_and_the_estimate_covers_the_truth(store: Store) -> None:
    with store.session() as session:
        sample = draw_sample(
            session, SampleFilters(), size=30, random_share=0.4, coaches=["ana", "bo"], drawn_by="lead", seed=5
        )
        population = assignments(session)
    first = sample.assignments[0]
    _review(store, first.audit_id, "someone-else")  # another coach's verdict does not close ana's assignment
    with store.session() as session:
        mine = assignments(session, coach=first.coach)
        assert len(mine) == 15 and not any(a.done for a in mine)
    for item in sample.assignments:
        _review(store, item.audit_id, item.coach)
    with store.session() as session:
        assert all(a.done for a in assignments(session, sample_id=sample.sample_id))
        result = estimate(session, sample.sample_id)
    assert result is not None and result.reviewed == 30
    with store.session() as session:
        passed = session.scalar(select(func.count()).where(AuditRow.outcome == "passed")) or 0
        total = session.scalar(select(func.count()).select_from(AuditRow)) or 0
    true_rate = passed / total
    assert len(population) == 30
    estimate_ = result.pass_rate
    assert estimate_.value is not None and estimate_.low <= true_rate <= estimate_.high
    naive = result.naive_pass_rate
    assert naive.value is not None and naive.value < true_rate - 0.2 and not naive.low <= true_rate <= naive.high
    verify = result.step_done["verify"]
    assert verify.value is not None and verify.low <= true_rate <= verify.high  # verify done <=> passed here
    assert set(result.step_done) == {"greet", "verify", "close"}
    assert result.step_done["greet"].value == 1.0


def test_the_dashboard_counts_steps_and_agents_by_week_with_coach_statuses_and_the_estimate(store: Store) -> None:
    from auditor.review.dashboard import DashboardFilters, compliance_dashboard

    with store.session() as session:
        before = compliance_dashboard(session, DashboardFilters())
        failed = session.scalars(select(AuditRow.id).where(AuditRow.outcome == "failed").limit(1)).one()
        passed = session.scalar(select(func.count()).where(AuditRow.outcome == "passed")) or 0
    assert before.conversations == 120 and before.reviewed == 0 and before.estimate is None
    assert before.periods[0].isoformat() == "2026-02-23" and len(before.periods) == 5  # Mondays of March's weeks
    assert {row.key for row in before.agents} == {"agent-0", "agent-1", "agent-2"}
    verify = next(row for row in before.steps if row.key == "verify")
    assert (verify.total.hits, verify.total.n) == (passed, 120)
    assert sum(cell.n for cell in verify.cells) == 120
    with store.session() as session:
        record_verdicts(session, failed, "ana", [StepVerdict(step_id="verify", verdict="overturn", status="done")])
        draw_sample(session, SampleFilters(), size=10, random_share=0.5, coaches=["ana"], drawn_by="lead", seed=1)
        after = compliance_dashboard(session, DashboardFilters(period="day"))
    verify = next(row for row in after.steps if row.key == "verify")
    assert verify.total.hits == passed + 1 and verify.total.reviewed == 1  # the coach's status counts
    assert after.reviewed == 1 and after.estimate is not None and after.estimate.sample.size == 10
    assert len(after.periods) == 26  # days, the newest 26 shown


# --- over HTTP ---------------------------------------------------------------------------------------------------


def test_a_lead_draws_a_sample_over_json_and_coaches_list_their_assignments(client, audit_ids) -> None:  # type: ignore[no-untyped-def]
    from tests.review.conftest import HEADERS

    body = {"coaches": ["Mei", "Ana"], "size": 3, "random_share": 0.34, "drawn_by": "Lead", "seed": 4}
    drawn = client.post("/v1/review/samples", json=body, headers=HEADERS)
    assert drawn.status_code == 200, drawn.text
    sample = drawn.json()
    assert sample["population"] == 3 and len(sample["assignments"]) == 3
    assert {a["coach"] for a in sample["assignments"]} == {"Mei", "Ana"}
    mine = client.get("/v1/review/assignments", params={"coach": "Mei"}, headers=HEADERS).json()
    assert [a["coach"] for a in mine] == ["Mei", "Mei"] and not any(a["done"] for a in mine)
    verdict = {"reviewer": "Mei", "verdicts": [{"step_id": "greet", "verdict": "confirm"}]}
    assert client.post(f"/v1/review/audits/{mine[0]['audit_id']}/verdicts", json=verdict, headers=HEADERS).is_success
    mine = client.get("/v1/review/assignments", params={"coach": "Mei"}, headers=HEADERS).json()
    assert [a["done"] for a in mine] == [False, True]  # open ones first
    estimate_ = client.get(f"/v1/review/samples/{sample['sample_id']}/estimate", headers=HEADERS).json()
    rate = estimate_["pass_rate"]  # all three audits drawn (a census): one of three reviewed so far
    assert estimate_["reviewed"] == 1 and rate["low"] <= rate["value"] <= rate["high"]
    assert rate["high"] - rate["low"] > 0.3
    assert "Wilson" in estimate_["pass_rate"]["method"]
    board = client.get("/v1/review/dashboard", headers=HEADERS).json()
    assert board["conversations"] == 3 and board["estimate"]["sample"]["sample_id"] == sample["sample_id"]
    bad = client.post("/v1/review/samples", json=body | {"coaches": []}, headers=HEADERS)
    assert bad.status_code == 422
    assert client.get("/v1/review/samples/999", headers=HEADERS).status_code == 404
    assert client.get("/v1/review/assignments").status_code == 401


def test_the_pages_draw_a_sample_and_show_the_dashboard(client, audit_ids) -> None:  # type: ignore[no-untyped-def]
    from tests.review.conftest import login

    login(client, "Lead")
    page = client.get("/review/assignments")
    assert page.status_code == 200 and "Draw a sample" in page.text
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    form = {"csrf": csrf, "coaches": "Mei, Ana", "size": "2", "random_share": "0.5", "seed": "9"}
    drawn = client.post("/review/assignments", data=form, follow_redirects=True)
    assert drawn.status_code == 200 and "Drew 2 of 3 conversations" in drawn.text
    assert drawn.text.count("data-coach=") == 2
    refused = client.post("/review/assignments", data=form | {"size": "0"})
    assert refused.status_code == 422 and "size" in refused.text
    board = client.get("/review/dashboard")
    assert board.status_code == 200 and "Pass rate" in board.text and "95% CI" in board.text
    assert "Verify identity" in board.text
    assert "合规看板" in client.get("/review/dashboard?ui=zh").text


def test_the_command_draws_a_reproducible_sample_and_prints_the_estimate(store: Store, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app

    db = f"sqlite:///{tmp_path / 'audits.db'}"
    store.close()
    runner = CliRunner()
    args = ["review", "sample", "--coaches", "ana,bo", "--size", "40", "--random-share", "0.3", "--seed", "3"]
    first = runner.invoke(app, [*args, "--db", db], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "40 of 120 audit(s), 28 from the top of the queue and 12 at random (seed 3)" in first.output
    assert "ana: 20, bo: 20" in first.output
    again = runner.invoke(app, [*args, "--db", db], env={"COLUMNS": "200"})
    rows = [line.split()[2:4] for line in first.output.splitlines() if "call-" in line]
    assert rows and rows == [line.split()[2:4] for line in again.output.splitlines() if "call-" in line]
    shown = runner.invoke(app, ["review", "estimate", "1", "--db", db], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "0 of 40 reviewed" in shown.output and "Pass rate: -" in shown.output
    assert runner.invoke(app, ["review", "sample", "--coaches", " ", "--db", db]).exit_code == 2
