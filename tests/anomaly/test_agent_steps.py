"""Agent x step deviations: a clearly worse agent is flagged, small samples and chance differences are not."""

from __future__ import annotations

import pytest
from scipy.stats import false_discovery_control

from auditor.anomaly.agent_steps import agent_step_deviations, flagged_deviations
from tests.anomaly.factories import make_result


def conversations(agent_id: str, step_id: str, missed: int, done: int, *, status: str = "missing", **others: str):
    """``missed`` + ``done`` results of one agent on one step (plus fixed statuses of other steps)."""
    results = []
    for index in range(missed + done):
        statuses = {step_id: status if index < missed else "done", **others}
        results.append(make_result(statuses, conversation_id=f"{agent_id}-{step_id}-{index}", agent_id=agent_id))
    return results


def find(rows, agent_id, step_id):
    return next(row for row in rows if row.agent_id == agent_id and row.step_id == step_id)


def test_an_agent_who_skips_the_recap_far_more_often_is_flagged():
    results = conversations("a-tom", "recap", 8, 2)
    for peer in ("a-lena", "a-marco", "a-priya", "a-li"):
        results += conversations(peer, "recap", 1 if peer != "a-li" else 0, 10 if peer != "a-li" else 10)
    rows = agent_step_deviations(results)
    tom = find(rows, "a-tom", "recap")
    assert tom.flagged and tom.direction == "worse" and tom.q_value < 0.05
    assert (tom.agent_misses, tom.agent_conversations, tom.peer_misses, tom.peer_conversations) == (8, 10, 3, 43)
    assert tom.agent_rate == pytest.approx(0.8)
    assert rows[0] == tom  # sorted by q
    assert "a-tom misses 'recap' in 8/10 conversations vs 3/43 for peers (q=" in tom.describe()
    assert flagged_deviations(rows) == [tom]


def test_a_better_agent_is_significant_but_not_flagged():
    results = conversations("a-star", "recap", 0, 20) + conversations("a-peer", "recap", 15, 5)
    results += conversations("a-other", "recap", 14, 6)
    star = find(agent_step_deviations(results), "a-star", "recap")
    assert star.direction == "better" and star.q_value < 0.05 and not star.flagged


def test_a_small_sample_difference_is_not_flagged():
    results = conversations("a-new", "recap", 3, 2) + conversations("a-peer", "recap", 10, 35)
    new = find(agent_step_deviations(results), "a-new", "recap")
    assert new.direction == "worse" and new.agent_rate == 0.6 and new.peer_rate == pytest.approx(10 / 45)
    assert not new.flagged and new.p_value > 0.05


def test_too_few_conversations_are_not_tested():
    results = conversations("a-new", "recap", 4, 0) + conversations("a-peer", "recap", 2, 40)
    assert agent_step_deviations(results) == []  # a-new has 4 conversations; a-peer's peers (a-new) too few
    assert agent_step_deviations(results, min_conversations=4)


def test_benjamini_hochberg_correction_across_all_cells():
    # One agent moderately worse on one step (p < 0.05 alone) among many cells tested: not flagged after correction.
    results = conversations("a-tom", "recap", 6, 4) + conversations("a-peer", "recap", 3, 17)
    rows = agent_step_deviations(results)
    alone = find(rows, "a-tom", "recap")
    assert alone.p_value < 0.05 and alone.flagged
    for step in range(12):
        for agent in ("a-tom", "a-peer"):
            results += conversations(agent, f"step{step}", 3, 7)
    rows = agent_step_deviations(results)
    corrected = find(rows, "a-tom", "recap")
    assert corrected.p_value == pytest.approx(alone.p_value)
    assert corrected.q_value > 0.05 and not corrected.flagged
    expected = false_discovery_control([row.p_value for row in rows], method="bh")
    assert [row.q_value for row in rows] == pytest.approx(list(expected))
    assert all(row.q_value >= row.p_value for row in rows)


def test_misplaced_and_late_steps_count_as_misses_not_applicable_does_not():
    results = conversations("a-tom", "verify", 6, 0, status="out_of_order") + conversations(
        "a-tom", "verify", 6, 0, status="late"
    )
    results += conversations("a-tom", "verify", 20, 0, status="not_applicable")
    results += conversations("a-peer", "verify", 1, 20)
    tom = find(agent_step_deviations(results), "a-tom", "verify")
    assert (tom.agent_misses, tom.agent_conversations) == (12, 12)
    assert tom.flagged


def test_results_without_an_agent_and_steps_never_missed_are_left_out():
    results = conversations("a-tom", "greet", 0, 10) + conversations("a-peer", "greet", 0, 10)
    results += [make_result({"greet": "missing"}, conversation_id="anon", agent_id=None)]
    assert agent_step_deviations(results) == []


def test_required_only_leaves_optional_steps_out():
    results = conversations("a-tom", "upsell", 10, 0) + conversations("a-peer", "upsell", 1, 20)
    for result in results:
        result.steps[0].required = False
    assert agent_step_deviations(results)
    assert agent_step_deviations(results, required_only=True) == []
