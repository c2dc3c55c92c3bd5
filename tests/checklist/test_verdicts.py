"""Each verdict status, the order rule and position rules, on keyword-only SOPs (no embedding model involved)."""

from __future__ import annotations

import pytest

from auditor.auditor import Auditor
from auditor.detection.calibration import SemanticCalibration
from auditor.sop.loading import sop_from_mapping
from tests.conftest import make_conversation

NO_SEMANTIC = SemanticCalibration("off", 0.0, 1.0, 0.0, 0.0, threshold=1.01, done_threshold=0.9)
"""Only the phrase detector fires (semantic probabilities here stay below 0.75), so verdicts test the rules alone."""

SOP = sop_from_mapping(
    {
        "id": "bank-test",
        "name": "Bank test",
        "steps": [
            {"id": "greet", "name": "Greet", "keywords": ["welcome to"], "within_first_turns": 2},
            {
                "id": "verify_identity",
                "name": "Verify identity",
                "keywords": ["date of birth"],
                "critical": True,
                "before": ["discuss_account"],
                "when": "customer_identity_needed",
            },
            {"id": "discuss_account", "name": "Discuss the account", "keywords": ["your balance is"]},
            {"id": "offer", "name": "Offer a card", "keywords": ["new card"], "required": False},
            {
                "id": "close",
                "name": "Close",
                "keywords": ["goodbye"],
                "within_last_turns": 2,
                "within_first_seconds": None,
            },
        ],
    }
)


@pytest.fixture(scope="module")
def auditor(hashing_embedder, pipelines) -> Auditor:
    return Auditor(SOP, hashing_embedder, pipelines=pipelines, scorer=NO_SEMANTIC)


def statuses(auditor: Auditor, turns) -> dict[str, str]:
    result = auditor.audit(make_conversation(turns))
    return {step.step_id: step.status for step in result.steps}


COMPLIANT = [
    ("agent", "Hello, welcome to Fair Bank."),
    ("customer", "I want to check my balance."),
    ("agent", "Sure. Can you confirm your date of birth?"),
    ("customer", "1 May 1980."),
    ("agent", "Thanks. Your balance is 300 euros."),
    ("customer", "Great, thanks."),
    ("agent", "Thank you, goodbye."),
]


def test_compliant_call_passes_with_every_step_done(auditor):
    result = auditor.audit(make_conversation(COMPLIANT))
    assert {s.step_id: s.status for s in result.steps} == {
        "greet": "done",
        "verify_identity": "done",
        "discuss_account": "done",
        "offer": "missing",
        "close": "done",
    }
    assert result.passed and result.score == 1.0 and result.flags == [], "an optional step not done is not flagged"


def test_done_step_carries_evidence_pointing_at_the_turn(auditor):
    result = auditor.audit(make_conversation(COMPLIANT))
    verify = result.step("verify_identity")
    assert [e.turn_index for e in verify.evidence] == [2]
    assert verify.evidence[0].method == "phrase" and "date of birth" in verify.evidence[0].text


def test_account_discussed_before_identity_verified_is_out_of_order_and_fails(auditor):
    turns = [
        COMPLIANT[0],
        COMPLIANT[1],
        ("agent", "Your balance is 300 euros."),
        ("customer", "Ok."),
        ("agent", "Oh, and what is your date of birth?"),
        ("customer", "1 May 1980."),
        COMPLIANT[6],
    ]
    result = auditor.audit(make_conversation(turns))
    verify = result.step("verify_identity")
    assert verify.status == "out_of_order"
    assert "discuss_account" in (verify.reason or "")
    assert not result.passed, "a critical step out of order fails the conversation"
    assert "critical:verify_identity" in result.flags


def test_missing_critical_step_fails_even_with_a_high_score(auditor):
    turns = [t for t in COMPLIANT if "date of birth" not in t[1]]
    result = auditor.audit(make_conversation(turns))
    verify = result.step("verify_identity")
    assert verify.status == "missing" and not result.passed
    assert verify.expected is not None and verify.expected.before_turn == 3, "expected before the balance turn"


def test_late_greeting_is_late_not_missing(auditor):
    turns = [
        ("agent", "Hi."),
        ("customer", "My balance please."),
        ("agent", "Sure, welcome to Fair Bank by the way."),
        *COMPLIANT[2:],
    ]
    assert statuses(auditor, turns)["greet"] == "late"


def test_close_far_from_the_end_is_late(auditor):
    turns = [
        *COMPLIANT[:5],
        ("agent", "goodbye then"),
        ("customer", "wait, one more thing"),
        ("agent", "yes?"),
        ("customer", "never mind."),
    ]
    assert statuses(auditor, turns)["close"] == "late"


def test_step_outside_its_condition_is_not_applicable(auditor):
    turns = [
        ("agent", "Hello, welcome to Fair Bank."),
        ("customer", "What are your opening hours?"),
        ("agent", "We open at nine."),
        ("customer", "Thanks."),
        ("agent", "Goodbye."),
    ]
    result = auditor.audit(make_conversation(turns))
    assert result.step("verify_identity").status == "not_applicable"
    assert "customer_identity_needed" in (result.step("verify_identity").reason or "")


def test_optional_step_done_is_reported_done_but_not_required_for_the_score(auditor):
    turns = [*COMPLIANT[:5], ("agent", "Would you like a new card with cashback?"), ("customer", "No."), COMPLIANT[6]]
    result = auditor.audit(make_conversation(turns))
    assert result.step("offer").status == "done" and result.score == 1.0


def test_score_is_weighted_share_of_required_steps(auditor):
    turns = [
        ("agent", "Hi."),
        ("customer", "My balance please."),
        ("agent", "Your balance is 3 euros."),
        ("customer", "Thanks"),
        ("agent", "Bye."),
    ]
    result = auditor.audit(make_conversation(turns))
    # greet missing, verify missing, discuss done, close missing -> 1 of 4 required steps
    assert result.score == pytest.approx(0.25)
    assert set(result.flags) >= {"missing:greet", "missing:verify_identity", "missing:close"}


def test_event_turns_are_never_evidence_and_indices_count_them(auditor):
    turns = [("system", "call queued: welcome to the queue"), *COMPLIANT]
    result = auditor.audit(make_conversation(turns))
    assert [e.turn_index for e in result.step("greet").evidence] == [1]
    assert result.step("greet").status == "done", "events do not count as spoken turns for position rules"


def test_customer_saying_the_words_is_not_the_agent_doing_the_step(auditor):
    turns = [
        COMPLIANT[0],
        ("customer", "Is my balance ok? My date of birth is 1 May."),
        ("agent", "Your balance is 3."),
        ("customer", "ok"),
        ("agent", "goodbye"),
    ]
    assert statuses(auditor, turns)["verify_identity"] == "missing"


def test_within_first_seconds_uses_turn_start_times(hashing_embedder, pipelines):
    sop = sop_from_mapping(
        {
            "id": "t",
            "name": "T",
            "steps": [{"id": "greet", "name": "Greet", "keywords": ["hello"], "within_first_seconds": 10}],
        }
    )
    auditor = Auditor(sop, hashing_embedder, pipelines=pipelines, scorer=NO_SEMANTIC)
    late = auditor.audit(make_conversation([("customer", "hi?", 0.0), ("agent", "hello there", 25.0)]))
    on_time = auditor.audit(make_conversation([("customer", "hi?", 0.0), ("agent", "hello there", 4.0)]))
    assert late.steps[0].status == "late" and on_time.steps[0].status == "done"
