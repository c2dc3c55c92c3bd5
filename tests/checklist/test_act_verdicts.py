"""A step only mentioned, refused or skipped is not done; forbidden steps; counter-examples; the uncertain band.

Keyword-only SOPs (the phrase detector fires, no embedding model), so each test isolates the verdict rules.
"""

from __future__ import annotations

import pytest

from auditor.auditor import Auditor
from auditor.checklist.verdicts import UncertainBand
from auditor.detection.calibration import SemanticCalibration
from auditor.sop.loading import sop_from_mapping
from tests.conftest import make_conversation

NO_SEMANTIC = SemanticCalibration("off", 0.0, 1.0, 0.0, 0.0, threshold=1.01, done_threshold=0.9)

SOP = sop_from_mapping(
    {
        "id": "card-test",
        "name": "Card loss test",
        "steps": [
            {"id": "greet", "name": "Greet", "keywords": ["welcome to"]},
            {"id": "verify_identity", "name": "Verify identity", "keywords": ["security questions"], "critical": True},
            {"id": "freeze_card", "name": "Freeze the card", "keywords": ["freeze", "冻结"], "critical": True},
            {"id": "offer_sms", "name": "Offer SMS alerts", "keywords": ["text alerts"], "required": False},
            {"id": "close", "name": "Close", "keywords": ["goodbye"]},
            {
                "id": "promise_guarantee",
                "name": "Promise a guaranteed outcome",
                "keywords": ["guarantee"],
                "forbidden": True,
                "critical": True,
            },
        ],
    }
)


@pytest.fixture(scope="module")
def auditor(hashing_embedder, pipelines) -> Auditor:
    return Auditor(SOP, hashing_embedder, pipelines=pipelines, scorer=NO_SEMANTIC)


def call(freeze_turn: str, verify_turn: str = "Let me run through the security questions: your date of birth?"):
    return make_conversation(
        [
            ("agent", "Hello, welcome to Fair Bank."),
            ("customer", "I lost my card."),
            ("agent", verify_turn),
            ("customer", "1 May 1980."),
            ("agent", freeze_turn),
            ("customer", "Thanks."),
            ("agent", "Thank you, goodbye."),
        ]
    )


def test_true_performance_passes(auditor):
    result = auditor.audit(call("Done, I freeze the card right now, it is blocked."))
    assert result.step("freeze_card").status == "done"
    assert result.outcome == "passed" and result.passed


@pytest.mark.parametrize(
    "turn, act",
    [
        ("I can't freeze your card over the phone.", "cannot"),
        ("You'll need to visit a branch to freeze the card.", "refused"),
        ("挂失冻结需要您本人到网点柜台办理，电话这边办不了。", "refused"),
    ],
)
def test_critical_step_only_refused_fails_the_call_with_a_reason(auditor, turn, act):
    result = auditor.audit(call(turn))
    freeze = result.step("freeze_card")
    assert freeze.status == "missing"
    assert freeze.evidence and freeze.evidence[0].act == act and freeze.evidence[0].turn_index == 4
    assert act.replace("_", " ") in (freeze.reason or "")
    assert result.outcome == "failed" and not result.passed and "critical:freeze_card" in result.flags


def test_skipped_identity_check_is_missing(auditor):
    result = auditor.audit(call("I freeze the card now.", verify_turn="We'll skip the security questions today."))
    assert result.step("verify_identity").status == "missing"
    assert result.step("verify_identity").evidence[0].act == "skipped"
    assert result.outcome == "failed"


def test_offer_to_do_an_action_step_is_uncertain_and_needs_review(auditor):
    result = auditor.audit(call("Would you like me to freeze the card?"))
    freeze = result.step("freeze_card")
    assert freeze.status == "uncertain" and freeze.evidence[0].act == "offered"
    assert result.outcome == "needs_review" and not result.passed
    assert "uncertain:freeze_card" in result.flags


def test_a_later_performance_outweighs_an_earlier_refusal(auditor):
    conversation = make_conversation(
        [
            ("agent", "Hello, welcome to Fair Bank. Let me ask the security questions first: your date of birth?"),
            ("customer", "1 May 1980, and I lost my card."),
            ("agent", "I can't freeze it from this screen, one moment."),
            ("customer", "OK."),
            ("agent", "There, I freeze it now, it is blocked."),
            ("agent", "Goodbye."),
        ]
    )
    freeze = auditor.audit(conversation).step("freeze_card")
    assert freeze.status == "done" and freeze.evidence[0].turn_index == 4
    assert [e.act for e in freeze.evidence] == ["performed", "cannot"], "the refusal stays visible as evidence"


def test_forbidden_step_said_is_a_violation_and_fails_when_critical(auditor):
    result = auditor.audit(call("I freeze the card now, and I guarantee you get every penny back."))
    guarantee = result.step("promise_guarantee")
    assert guarantee.status == "violated" and guarantee.evidence[0].turn_index == 4
    assert result.outcome == "failed" and "violated:promise_guarantee" in result.flags
    assert result.step("freeze_card").status == "done", "a forbidden step does not take the sentence from another"


def test_forbidden_step_refused_is_no_violation(auditor):
    result = auditor.audit(call("I freeze the card now. I can't guarantee a refund, though."))
    assert result.step("promise_guarantee").status == "done"
    assert result.outcome == "passed"


def test_forbidden_step_never_said_leaves_the_score_alone(auditor):
    with_rule = auditor.audit(call("I freeze the card now."))
    assert with_rule.step("promise_guarantee").status == "done" and with_rule.score == 1.0


def test_counter_example_refuses_credit(hashing_embedder, pipelines):
    sop = sop_from_mapping(
        {
            "id": "counter-test",
            "name": "Counter test",
            "steps": [
                {
                    "id": "freeze_card",
                    "name": "Freeze the card",
                    "keywords": ["freeze"],
                    "examples": ["I have frozen your card."],
                    "counter_examples": ["The freeze option is shown in your banking app settings."],
                },
            ],
        }
    )
    auditor = Auditor(sop, hashing_embedder, pipelines=pipelines, scorer=NO_SEMANTIC)
    mention = auditor.audit(make_conversation([("agent", "The freeze option is shown in your banking app settings.")]))
    step = mention.step("freeze_card")
    assert step.status == "missing" and step.evidence[0].act == "counter_example"
    assert "counter-example" in (step.evidence[0].act_reason or "")
    done = auditor.audit(make_conversation([("agent", "I have frozen your card, I freeze it now.")]))
    assert done.step("freeze_card").status == "done"


def test_band_leaves_a_middling_probability_to_a_person(hashing_embedder, pipelines):
    """A phrase hit (0.95) above the band is done; inside a band that reaches past it, the same hit is uncertain."""
    decided = Auditor(SOP, hashing_embedder, pipelines=pipelines, scorer=NO_SEMANTIC, band=UncertainBand(0.5, 0.9))
    unsure = Auditor(SOP, hashing_embedder, pipelines=pipelines, scorer=NO_SEMANTIC, band=UncertainBand(0.5, 0.99))
    conversation = call("I freeze the card now.")
    assert decided.audit(conversation).step("freeze_card").status == "done"
    result = unsure.audit(conversation)
    assert {s.status for s in result.steps if s.step_id != "promise_guarantee"} == {"uncertain"}
    assert result.outcome == "needs_review" and result.score == 1.0, "uncertain steps leave the score"


def test_band_must_be_ordered():
    with pytest.raises(ValueError, match="low <= high"):
        UncertainBand(0.6, 0.2)
