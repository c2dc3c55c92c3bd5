"""Choosing what to hide: the policy from the command line or settings, and how a result records it."""

from __future__ import annotations

import logging
import pickle

import pytest

from auditor.privacy.logs import RedactingFilter
from auditor.privacy.policy import DEFAULT_KINDS, POLICY_KEY, RedactionPolicy
from auditor.result import ConversationResult, Dissatisfaction, Evidence, StepResult, TurnSignal
from auditor.transcripts.records import quoted

TEXT = "I'm Ben, call 13812345678 or mail ben@example.com, card 4111 1111 1111 1111"


@pytest.mark.parametrize(
    "spec, hidden, kept",
    [
        (None, ["13812345678", "ben@example.com", "4111", "Ben"], []),
        ("", ["13812345678", "ben@example.com"], []),
        ("phone,email", ["13812345678", "ben@example.com"], ["Ben", "4111 1111 1111 1111"]),
        (" Card ", ["4111"], ["13812345678", "ben@example.com", "Ben"]),
        ("none", [], ["13812345678", "ben@example.com", "4111 1111 1111 1111", "Ben"]),
        ("all", ["13812345678", "ben@example.com", "4111", "Ben"], []),
    ],
)
def test_a_policy_hides_its_kinds_and_nothing_else(spec, hidden, kept):
    redacted = RedactionPolicy.parse(spec).redact(TEXT)
    assert all(value not in redacted for value in hidden)
    assert all(value in redacted for value in kept)


def test_an_unknown_kind_is_an_error_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown PII kind\(s\) telephone \(known: email, iban"):
        RedactionPolicy.parse("phone,telephone")


def test_the_record_names_the_kinds_and_reads_back():
    assert RedactionPolicy().record == ",".join(DEFAULT_KINDS)
    assert RedactionPolicy.parse("email,phone").record == "email,phone"
    assert RedactionPolicy.off().record == "none" and not RedactionPolicy.off().enabled
    for policy in (RedactionPolicy(), RedactionPolicy.parse("card"), RedactionPolicy.off()):
        assert RedactionPolicy.recorded_in({POLICY_KEY: policy.record}) == policy
        assert pickle.loads(pickle.dumps(policy)) == policy  # travels to Dask and process workers
    assert RedactionPolicy.recorded_in({}) == RedactionPolicy()  # results from before redaction: the default
    assert RedactionPolicy.of(["phone"], enabled=False) == RedactionPolicy.off()


def _result() -> ConversationResult:
    evidence = [Evidence(turn_index=2, text="Sure, my number is 13812345678.", score=0.9, method="phrase")]
    return ConversationResult(
        conversation_id="13900000000",
        agent_id="a-1",
        sop_id="s",
        sop_version=1,
        lang="en",
        score=1.0,
        passed=True,
        steps=[StepResult(step_id="verify", status="done", confidence=0.9, evidence=evidence)],
        models={"embedder": "hashing"},
        metadata={
            "source": "calls/13812345678.jsonl",
            "caller_id": "+8613812345678",
            "notes": ["customer email ben@example.com", {"callback": "+44 20 7946 0958"}],
            "queue": "billing",
        },
    )


def test_a_redacted_result_hides_evidence_metadata_and_ids_that_hold_personal_data_but_keeps_verdicts():
    result = RedactionPolicy().redact_result(_result())
    assert result.steps[0].evidence[0].text == "Sure, my number is [PHONE]."
    assert (result.steps[0].status, result.steps[0].confidence, result.steps[0].evidence[0].turn_index) == (
        "done",
        0.9,
        2,
    )
    assert result.metadata["notes"] == ["customer email [EMAIL]", {"callback": "[PHONE]"}]
    assert result.metadata["queue"] == "billing"
    # a *_id field is personal data like any other; a contract id that is a phone number is hidden, with a digest
    # that keeps two such ids apart; an ordinary agent id and the source file (resume joins on it) are kept
    assert result.metadata["caller_id"] == "[PHONE]"
    assert result.conversation_id.startswith("[PHONE]~") and len(result.conversation_id) == len("[PHONE]~") + 6
    assert RedactionPolicy().redact_identifier("13900000001") != result.conversation_id
    assert result.agent_id == "a-1"
    assert result.metadata["source"] == "calls/13812345678.jsonl"
    assert result.models == {"embedder": "hashing", POLICY_KEY: RedactionPolicy().record}


def test_no_redaction_keeps_the_text_and_says_so():
    result = RedactionPolicy.off().redact_result(_result())
    assert result.steps[0].evidence[0].text == "Sure, my number is 13812345678."
    assert result.models[POLICY_KEY] == "none"


def test_error_messages_quoting_input_hide_personal_data():
    assert quoted("call 13812345678 now") == "'call [PHONE] now'"
    long = "card 4111111111111111 " + "x" * 200
    assert "4111" not in quoted(long) and "(222 characters)" in quoted(long)


def test_log_records_and_tracebacks_are_redacted():
    record = logging.LogRecord(
        "auditor.api", logging.ERROR, __file__, 1, "bad turn %r", ("mail ben@example.com",), None
    )
    try:
        raise ValueError("cannot parse 13812345678")
    except ValueError as error:
        record.exc_info = (type(error), error, error.__traceback__)
    assert RedactingFilter(RedactionPolicy()).filter(record)
    formatted = logging.Formatter().format(record)
    assert "ben@example.com" not in formatted and "13812345678" not in formatted
    assert "[EMAIL]" in formatted and "cannot parse [PHONE]" in formatted


def test_the_words_that_fired_a_dissatisfaction_signal_are_redacted_like_evidence():
    said = {"churn": "call 13812345678 to close it", "negative": "negativity 0.91"}
    turns = [TurnSignal(turn_index=3, score=0.9, signals=["negative", "churn"], evidence=said)]
    block = Dissatisfaction(score=0.8, flagged=True, turns=turns)
    result = _result().model_copy(update={"dissatisfaction": block})
    hidden = RedactionPolicy().redact_result(result).dissatisfaction
    assert hidden is not None
    assert hidden.turns[0].evidence == {"churn": "call [PHONE] to close it", "negative": "negativity 0.91"}
    assert (hidden.turns[0].score, hidden.turns[0].signals) == (0.9, ["negative", "churn"])
    kept = RedactionPolicy.off().redact_result(result).dissatisfaction
    assert kept is not None and kept.turns[0].evidence == said
