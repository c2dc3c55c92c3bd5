"""Live sessions and abstention: a step a turn may have done is uncertain (not done, not pending), a forbidden step
said is violated, and each raises its alert once when the step is critical (uncertain) or forbidden (violated)."""

from __future__ import annotations

from auditor.live.progress import AlertTracker, LiveStep, _live_step
from auditor.live.session import LiveUpdate
from auditor.sop.loading import sop_from_text
from tests.abstention import conversation, done, review_call, uncertain, violated

SOP = sop_from_text(
    """
id: card-check
name: Card check
languages: [en]
steps:
  - id: greet
    name: Greet
    keywords: ["welcome to acme"]
  - id: verify
    name: Verify identity
    keywords: ["date of birth"]
    critical: true
    within_first_turns: 2
  - id: promise
    name: Promise a refund
    keywords: ["i guarantee"]
    forbidden: true
    critical: true
"""
)


def live(step_id: str, verdict, spoken: int = 4) -> LiveStep:  # type: ignore[no-untyped-def]
    return _live_step(SOP.step(step_id), verdict, {"greet": 0}, spoken, None, spoken)


def test_uncertain_and_violated_verdicts_keep_their_status_and_turn_live() -> None:
    unsure = live("verify", uncertain("verify", 2, critical=True))
    assert (unsure.status, unsure.turn_index) == ("uncertain", 2), "not overdue although its window has passed"
    said = live("promise", violated("promise", 4))
    assert (said.status, said.turn_index, said.critical) == ("violated", 4, True)
    assert _live_step(SOP.step("verify"), done("verify", 1, critical=True), {"verify": 1}, 4, None, 4).status == "done"


def test_alerts_for_a_critical_uncertain_step_and_a_forbidden_step_said_are_raised_once() -> None:
    turn = conversation("c").turns[4]
    steps = [live("verify", uncertain("verify", 2, critical=True)), live("promise", violated("promise", 4))]
    tracker = AlertTracker()
    alerts = tracker.update(SOP, steps, review_call(), turn)
    assert [(a.kind, a.severity, a.step_id) for a in alerts] == [
        ("critical_step_uncertain", "warning", "verify"),
        ("forbidden_step_said", "critical", "promise"),
    ]
    assert tracker.update(SOP, steps, review_call(), turn) == []
    update = LiveUpdate(4, 5, steps, None, alerts)
    assert (update.uncertain, update.violated, update.done, update.overdue) == (["verify"], ["promise"], [], [])


def test_an_uncertain_step_that_is_not_critical_raises_nothing() -> None:
    greet = _live_step(SOP.step("greet"), uncertain("greet", 0), {}, 4, None, 4)
    assert greet.status == "uncertain"
    assert AlertTracker().update(SOP, [greet], review_call(), conversation("c").turns[4]) == []


def test_a_forbidden_step_not_said_so_far_is_pending_not_done() -> None:
    """Mid-call, 'never said' is not yet compliance: it is judged when the call closes."""
    from auditor.result import StepResult

    complied = StepResult(step_id="promise", status="done", confidence=0.99, critical=True, reason="never said")
    step = live("promise", complied)
    assert (step.status, step.reason) == ("pending", "not said so far")


def test_a_refusal_before_the_step_does_not_place_it_live() -> None:
    from auditor.live.progress import _first_turn
    from auditor.result import Evidence, StepResult

    evidence = [
        Evidence(turn_index=0, text="I can't do it yet.", score=0.9, method="phrase", act="cannot"),
        Evidence(turn_index=2, text="Done now.", score=0.9, method="phrase", act="performed"),
    ]
    assert _first_turn(StepResult(step_id="freeze", status="done", confidence=0.9, evidence=evidence)) == 2
