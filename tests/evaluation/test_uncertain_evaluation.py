"""`auditor evaluate` and abstention: an uncertain verdict is neither a detection nor a miss, and is counted apart;
evidence of a step refused predicts nothing."""

from __future__ import annotations

from auditor.evaluation.skipped_steps import SkipCounts
from auditor.evaluation.step_metrics import score_results
from auditor.evaluation.summary import evaluation_json, evaluation_table
from auditor.transcripts.records import conversation_from_mapping
from tests.abstention import TURNS, failed_call, passed_call, review_call


def gold(conversation_id: str, verify_at: int | None):  # type: ignore[no-untyped-def]
    turns = [dict(turn) for turn in TURNS]
    turns[0]["steps"] = ["greet"]
    turns[2]["steps"] = ["discuss"] + (["verify"] if verify_at == 2 else [])
    return conversation_from_mapping({"id": conversation_id, "turns": turns}, source="", default_id=conversation_id)


def test_uncertain_is_left_out_and_counted_and_a_refusal_predicts_nothing() -> None:
    pairs = [
        (gold("c-passed", 2), passed_call()),
        (gold("c-review", 2), review_call()),  # gold says done; the auditor abstained: not a miss
        (gold("c-failed", None), failed_call()),  # refused at turn 2 (evidence), gold says not done: no false alarm
    ]
    metrics = score_results(pairs, ["greet", "verify", "discuss"])
    verify = metrics.conversation["verify"]
    assert (verify.tp, verify.fp, verify.fn) == (1, 0, 0)
    assert (metrics.turn["verify"].tp, metrics.turn["verify"].fp) == (1, 0)
    assert metrics.uncertain["verify"] == 1 and metrics.uncertain_total == 1
    payload = evaluation_json(metrics, None)
    assert payload["overall"]["uncertain"] == 1 and payload["steps"]["verify"]["uncertain"] == 1
    assert evaluation_table(metrics, None, "t").caption.startswith("uncertain:")


def test_skipped_step_rates_are_over_decided_re_audits() -> None:
    counts = SkipCounts(removed=4, caught=2, intact=10, false_missing=1, uncertain_removed=2, uncertain_intact=5)
    assert counts.recall == 1.0, "2 of the 2 decided removals were caught"
    assert counts.false_missing_rate == 0.2
    assert SkipCounts(removed=4, caught=2).recall == 0.5
