"""Conversation features: step verdict counts, talk, timing (measured only when timestamps exist), repetition."""

from __future__ import annotations

import math

import pytest

from auditor.anomaly.features import (
    FEATURE_NAMES,
    FEATURE_SPECS,
    conversation_features,
    repeat_share,
    word_units,
)
from tests.anomaly.factories import make_result, timed_conversation
from tests.conftest import make_conversation

STATUSES = {
    "greet": "done",
    "verify": "missing",
    "recap": "out_of_order",
    "close": "late",
    "offer": "missing",
    "compensate": "not_applicable",
}


@pytest.fixture
def result():
    return make_result(STATUSES, score=0.4, required={"offer": False}, critical=["verify"])


def test_step_verdicts_are_counted_over_applicable_steps(result):
    conversation = make_conversation([("agent", "Hello"), ("customer", "Hi")])
    features = conversation_features(conversation, result)
    assert features["compliance_score"] == 0.4
    assert features["missing_steps"] == 2
    assert features["missing_required"] == 1
    assert features["critical_missing"] == 1
    assert features["out_of_order_steps"] == 1
    assert features["late_steps"] == 1
    # shares count required, applicable steps only: not_applicable is not a step to do, an optional one no deviation
    assert features["missing_share"] == pytest.approx(1 / 4)
    assert features["missed_share"] == pytest.approx(3 / 4)


def test_timed_call_measures_duration_and_silences(result):
    conversation = timed_conversation(
        [
            ("agent", "Thanks for calling, this is Sam.", 0.0, 3.0),
            ("customer", "Hi, my parcel never arrived. Where is it?", 4.0, 9.0),
            ("system", "hold started", 10.0, None),
            ("system", "hold ended", 100.0, None),
            ("agent", "Sorry for the wait, it is at the depot.", 104.0, 110.0),
            ("customer", "Can you send it today?", 111.0, 113.0),
        ]
    )
    features = conversation_features(conversation, result)
    assert features["has_timestamps"] == 1
    assert features["duration_s"] == pytest.approx(113.0)
    assert features["longest_gap_s"] == pytest.approx(95.0)  # the hold: nobody speaks from 9 s to 104 s
    assert features["silence_share"] == pytest.approx((1 + 95 + 1) / 113)
    assert features["events"] == 2
    assert features["spoken_turns"] == 4
    assert features["customer_questions"] == 2
    assert features["ends_on_customer"] == 1


def test_untimed_transcript_says_so_instead_of_inventing_zero_silence(result):
    conversation = make_conversation([("agent", "Hello, how can I help?"), ("customer", "Hi"), ("agent", "Bye")])
    features = conversation_features(conversation, result)
    assert features["has_timestamps"] == 0
    assert all(math.isnan(features[name]) for name in ("duration_s", "longest_gap_s", "silence_share"))
    assert features["ends_on_customer"] == 0


def test_talk_share_and_turn_lengths_in_word_units(result):
    conversation = make_conversation(
        [("agent", "one two three four five six"), ("customer", "one two"), ("agent", "one two three four")]
    )
    features = conversation_features(conversation, result)
    assert features["agent_talk_share"] == pytest.approx(10 / 12)
    assert features["agent_turn_words"] == pytest.approx(5.0)
    assert features["customer_turn_words"] == pytest.approx(2.0)


def test_a_role_that_never_speaks_has_no_mean_turn_length(result):
    features = conversation_features(make_conversation([("customer", "Hello?"), ("customer", "Anyone there?")]), result)
    assert features["agent_talk_share"] == 0 and math.isnan(features["agent_turn_words"])
    assert features["customer_turn_words"] == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("text", "units"),
    [("Hello there, I'm Sam", 4), ("您好请问有什么可以帮您", 11 / 1.5), ("我的 order 还没到", 1 + 5 / 1.5), ("", 0)],
)
def test_word_units_put_english_and_chinese_on_one_scale(text, units):
    assert word_units(text) == pytest.approx(units)


def test_chinese_questions_and_repetitions_are_counted(result):
    conversation = make_conversation(
        [
            ("客服", "您好，请问有什么可以帮您？"),
            ("客户", "我的快递三天了还没到吗"),
            ("客服", "我帮您查一下。"),
            ("客户", "我的快递三天了还是没到吗？"),
        ]
    )
    features = conversation_features(conversation, result)
    assert features["customer_questions"] == 2
    assert features["customer_repeat_share"] == pytest.approx(0.5)
    assert features["agent_repeat_share"] == 0


def test_repeat_share_ignores_short_acknowledgements():
    assert repeat_share(["ok", "ok", "yes thanks"]) == 0.0
    assert repeat_share(["where is my parcel now", "where is my parcel now please"]) == pytest.approx(0.5)


def test_dissatisfaction_and_extra_features_are_optional(result):
    conversation = make_conversation([("agent", "Hello"), ("customer", "Hi")])
    without = conversation_features(conversation, result)
    assert without["has_dissatisfaction"] == 0 and math.isnan(without["dissatisfaction_score"])
    with_score = conversation_features(conversation, result, dissatisfaction_score=0.8, extra={"escalations": 2})
    assert with_score["has_dissatisfaction"] == 1 and with_score["dissatisfaction_score"] == 0.8
    assert with_score["escalations"] == 2
    assert list(with_score)[: len(FEATURE_NAMES)] == list(FEATURE_NAMES)
    with pytest.raises(ValueError, match="collides"):
        conversation_features(conversation, result, extra={"spoken_turns": 3})


def test_every_feature_is_documented_and_phrased_for_a_coach():
    for spec in FEATURE_SPECS.values():
        assert spec.description and spec.template
    assert FEATURE_SPECS["longest_gap_s"].phrase(95) == "longest silence 95 s"
    assert FEATURE_SPECS["missing_share"].phrase(0.6) == "60% of required steps not performed"
    assert FEATURE_SPECS["ends_on_customer"].phrase(0) == "ends on an agent turn"


@pytest.mark.parametrize(
    "name, value, text",
    [
        ("late_steps", 1, "1 step late"),
        ("late_steps", 2, "2 steps late"),
        ("critical_missing", 1, "1 critical step missing"),
    ],
)
def test_counts_read_as_english(name, value, text):
    assert FEATURE_SPECS[name].phrase(value) == text
