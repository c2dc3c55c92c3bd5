"""The queue puts critical misses and unhappy customers first and filters; verdicts are checked before storing."""

from __future__ import annotations

from datetime import date

import pytest

from auditor.result import Anomaly
from auditor.review.agreement import agreement_report, cohens_kappa
from auditor.review.coach_verdicts import StepVerdict, VerdictError, record_verdicts
from auditor.review.examples import review_examples
from auditor.review.queue import QueueFilters, review_queue
from auditor.risk import assess
from auditor.store.audits import save_results
from auditor.store.database import Store, open_store
from tests.review.factories import audited


@pytest.fixture(scope="module")
def audits():  # type: ignore[no-untyped-def]
    return audited()


@pytest.fixture
def store(audits) -> Store:  # type: ignore[no-untyped-def]
    results, conversations = audits
    opened = open_store("sqlite://")
    with opened.session() as session:
        save_results(session, results, conversations)
    return opened


def ids(store: Store, filters: QueueFilters) -> list[str]:
    with store.session() as session:
        return [item.conversation_id for item in review_queue(session, filters).items]


def test_risk_orders_critical_misses_then_dissatisfaction_then_anomalies(audits) -> None:  # type: ignore[no-untyped-def]
    results, _ = audits
    good = results[0]
    unusual = good.model_copy(update={"anomaly": Anomaly(score=0.9, flagged=True, reasons=["3 long silences"])})
    critical = results[1].model_copy(update={"dissatisfaction": None})
    unhappy_only = results[2].model_copy(update={"flags": ["dissatisfied"], "passed": True})
    scores = {name: assess(r).score for name, r in {"critical": critical, "unhappy": unhappy_only}.items()}
    scores["unusual"], scores["good"] = assess(unusual).score, assess(good).score
    assert scores["critical"] > scores["unhappy"] > scores["unusual"] > scores["good"] == 0
    assert "unusual conversation (0.90: 3 long silences)" in assess(unusual).reasons


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (QueueFilters(), ["en-no-verify", "zh-call", "en-good"]),
        (QueueFilters(agent_id="a-9"), ["en-no-verify", "zh-call"]),
        (QueueFilters(step_id="verify"), ["en-no-verify", "zh-call"]),
        (QueueFilters(step_id="greet"), []),
        (QueueFilters(sop_id="other"), []),
        (QueueFilters(since=date(2026, 3, 3)), ["en-no-verify", "zh-call"]),
        (QueueFilters(until=date(2026, 3, 3)), ["en-no-verify", "en-good"]),
        (QueueFilters(since=date(2026, 3, 4), until=date(2026, 3, 4)), ["zh-call"]),
    ],
)
def test_queue_filters(store: Store, filters: QueueFilters, expected: list[str]) -> None:
    assert ids(store, filters) == expected


def test_reviewed_conversations_leave_the_todo_queue(store: Store) -> None:
    with store.session() as session:
        first = review_queue(session, QueueFilters()).items[0]
        record_verdicts(session, first.audit_id, "Mei", [StepVerdict(step_id="verify", verdict="confirm")])
    assert ids(store, QueueFilters()) == ["zh-call", "en-good"]
    assert ids(store, QueueFilters(state="reviewed")) == ["en-no-verify"]
    with store.session() as session:
        assert review_queue(session, QueueFilters(state="all")).items[0].reviewers == ("Mei",)


def test_bad_verdicts_are_all_named_and_nothing_is_stored(store: Store) -> None:
    with store.session() as session:
        audit_id = review_queue(session, QueueFilters()).items[0].audit_id
    verdicts = [
        StepVerdict(step_id="greet", verdict="confirm"),
        StepVerdict(step_id="nope", verdict="confirm"),
        StepVerdict(step_id="verify", verdict="confirm", status="done"),
        StepVerdict(step_id="close", verdict="overturn", status="done"),
        StepVerdict(step_id="discuss", verdict="overturn", turn_index=99),
    ]
    with pytest.raises(VerdictError) as caught, store.session() as session:
        record_verdicts(session, audit_id, "Mei", verdicts)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "verdicts[1].step_id",
        "verdicts[2].status",
        "verdicts[3].status",
        "verdicts[4].turn_index",
    ]
    assert "past the last turn (6)" in problems[3]
    with store.session() as session:
        assert review_queue(session, QueueFilters(state="reviewed")).total == 0
    with pytest.raises(VerdictError, match="reviewer"), store.session() as session:
        record_verdicts(session, audit_id, "  ", verdicts[:1])


def test_overturn_defaults_and_a_coach_reviewing_again_replaces_the_verdict(store: Store) -> None:
    with store.session() as session:
        audit_id = review_queue(session, QueueFilters()).items[0].audit_id
        recorded = record_verdicts(
            session,
            audit_id,
            "Mei",
            [StepVerdict(step_id="verify", verdict="overturn"), StepVerdict(step_id="greet", verdict="overturn")],
        )
        assert [(r.coach_status, r.turn_index) for r in recorded] == [("done", None), ("missing", None)]
        record_verdicts(session, audit_id, "Mei", [StepVerdict(step_id="greet", verdict="confirm", comment=" ok ")])
    with store.session() as session:
        report = agreement_report(session)
    assert report.reviews == 2
    assert {(row.step_id, row.accuracy) for row in report.auditor if row.step_id != "(all steps)"} == {
        ("greet", 1.0),
        ("verify", 0.0),
    }


@pytest.mark.parametrize(
    ("pairs", "kappa"),
    [
        ([("done", "done"), ("missing", "missing")], 1.0),
        ([("done", "missing"), ("missing", "done")], -1.0),
        (
            [("done", "done")] * 20
            + [("done", "missing")] * 5
            + [("missing", "done")] * 10
            + [("missing", "missing")] * 15,
            0.4,
        ),
        ([("done", "done"), ("done", "done")], None),
        ([], None),
    ],
)
def test_cohens_kappa(pairs: list[tuple[str, str]], kappa: float | None) -> None:
    assert cohens_kappa(pairs) == kappa


def test_agreement_changes_as_verdicts_come_in_and_compares_coaches(store: Store) -> None:
    with store.session() as session:
        queue = {item.conversation_id: item.audit_id for item in review_queue(session, QueueFilters()).items}
        assert agreement_report(session).reviews == 0
        record_verdicts(session, queue["en-no-verify"], "Mei", [StepVerdict(step_id="verify", verdict="overturn")])
        record_verdicts(session, queue["zh-call"], "Mei", [StepVerdict(step_id="verify", verdict="confirm")])
    with store.session() as session:
        one_coach = agreement_report(session)
    verify = next(row for row in one_coach.auditor if row.step_id == "verify")
    assert (verify.n, verify.accuracy, verify.disagreements) == (2, 0.5, {"missing -> done": 1})
    assert one_coach.coaches == []
    with store.session() as session:
        record_verdicts(session, queue["en-no-verify"], "Ana", [StepVerdict(step_id="verify", verdict="confirm")])
        record_verdicts(session, queue["zh-call"], "Ana", [StepVerdict(step_id="verify", verdict="confirm")])
    with store.session() as session:
        two_coaches = agreement_report(session)
    pair = next(row for row in two_coaches.coaches if row.first == "Ana")
    assert (pair.second, pair.n, pair.accuracy) == ("Mei", 2, 0.5)
    assert two_coaches.reviewers == ["Ana", "Mei"]


def test_verdicts_become_labelled_turns(store: Store) -> None:
    with store.session() as session:
        queue = {item.conversation_id: item.audit_id for item in review_queue(session, QueueFilters()).items}
        record_verdicts(
            session,
            queue["en-no-verify"],
            "Mei",
            [
                StepVerdict(step_id="verify", verdict="overturn", status="done", turn_index=2),
                StepVerdict(step_id="greet", verdict="confirm"),
                StepVerdict(step_id="close", verdict="overturn", status="not_applicable"),
            ],
        )
        examples = review_examples(session)
    [item] = examples.conversations
    assert item.steps == {"verify": "done", "greet": "done"}  # not applicable teaches detection nothing
    gold = {turn.index: turn.gold_steps for turn in item.conversation.turns if turn.gold_steps}
    assert gold == {0: ("greet",), 2: ("verify",)}  # greet at the auditor's evidence the coach confirmed
