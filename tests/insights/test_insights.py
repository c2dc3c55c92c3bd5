"""Insights on a constructed data set where every answer is known: effects, confounding, skips, AHT, FCR."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from auditor.insights.outcomes import find_outcomes
from auditor.insights.report import build_insights, insights_json
from tests.insights.factories import APOLOGY_EFFECT, CSAT_EFFECT, constructed_results


@pytest.fixture(scope="module")
def constructed():
    return constructed_results()


@pytest.fixture(scope="module")
def insights(constructed):
    results, conversations = constructed
    return build_insights(results, conversations=conversations)


def association(insights, step_id, outcome):
    return next(a for a in insights.associations if a.step_id == step_id and a.outcome == outcome)


def test_outcomes_are_found_in_metadata_and_in_the_audit(constructed):
    results, _ = constructed
    names = {o.name: o for o in find_outcomes(results)}
    assert {"dissatisfied", "task success", "CSAT", "flagged dissatisfied"} <= set(names)
    assert names["task success"].source == "metadata.user_task_success_answers"
    assert names["dissatisfied"].higher_is_better is False and names["CSAT"].kind == "numeric"


def test_a_real_step_effect_is_found_within_agents_with_an_interval_around_the_truth(insights):
    unhappy = association(insights, "apologize", "dissatisfied")
    assert "agent" in unhappy.adjusted_for
    assert unhappy.estimate.low <= APOLOGY_EFFECT <= unhappy.estimate.high
    assert unhappy.estimate.high < 0 and unhappy.significant and unhappy.better_when_done
    csat = association(insights, "apologize", "CSAT")
    assert csat.estimate.low <= CSAT_EFFECT <= csat.estimate.high and csat.significant


def test_a_confounded_step_looks_good_crude_but_not_within_agents(insights):
    upsell = association(insights, "upsell", "dissatisfied")
    assert upsell.crude.high < 0 and upsell.crude.p_value < 0.01  # better agents upsell more
    assert upsell.estimate.low < 0 < upsell.estimate.high and not upsell.significant
    csat = association(insights, "upsell", "CSAT")
    assert csat.crude.low > 0 and csat.estimate.low < 0 < csat.estimate.high


def test_completion_rates_skipped_and_late_steps_match_the_data(insights, constructed):
    results, _ = constructed
    rates = {c.step_id: c for c in insights.completion}
    for step_id in ("greet", "survey", "verify"):
        statuses = [r.step(step_id).status for r in results]
        done = sum(s in ("done", "late", "out_of_order") for s in statuses) / len(statuses)
        assert rates[step_id].rate == pytest.approx(done)
        assert rates[step_id].rate_low < done < rates[step_id].rate_high
    assert [c.step_id for c in insights.skipped] == ["survey"]
    assert [c.step_id for c in insights.late] == ["verify"]


def test_steps_with_no_outcome_link_are_flagged_and_the_effective_one_is_not(insights):
    flagged = {step_id for _, step_id, _ in insights.no_link}
    assert "apologize" not in flagged
    assert {"greet", "verify", "upsell"} <= flagged


def test_handle_time_comes_from_turn_timestamps(insights, constructed):
    results, conversations = constructed
    seconds = [max(t.end for t in c.turns) - min(t.start for t in c.turns) for c in conversations.values()]
    overall = insights.handle_time["all"][0]
    assert overall.conversations == len(results)
    assert overall.mean == pytest.approx(statistics.fmean(seconds))
    assert overall.median == pytest.approx(statistics.median(seconds))
    assert len(insights.handle_time["agent"]) == 12


def test_repeat_contacts_and_fcr_follow_customer_ids_and_start_times(insights, constructed):
    results, _ = constructed
    visits = defaultdict(list)
    for r in results:
        visits[r.metadata["customer_id"]].append(datetime.fromisoformat(r.metadata["started_at"]))
    last = max(t for times in visits.values() for t in times)
    repeated = known = 0
    for times in visits.values():
        times.sort()
        for i, t in enumerate(times):
            again = i + 1 < len(times) and times[i + 1] - t <= timedelta(days=7)
            if again or t + timedelta(days=7) <= last or i + 1 < len(times):
                known += 1
                repeated += again
    rc = insights.repeat_contacts
    assert (rc.contacts, rc.repeated) == (known, repeated)
    assert rc.fcr == pytest.approx(1 - repeated / known)
    assert any(o.name.startswith("repeat contact") for o in insights.outcomes)


def test_without_timestamps_or_customers_the_report_says_what_is_missing(constructed):
    results, _ = constructed
    bare = [r.model_copy(update={"metadata": {"dissatisfied": r.metadata["dissatisfied"]}}) for r in results]
    insights = build_insights(bare)
    assert insights.handle_time == {} and insights.repeat_contacts is None
    assert any("handle time" in note for note in insights.notes)
    assert any("repeat contacts" in note for note in insights.notes)
    assert [o.name for o in insights.outcomes] == ["dissatisfied", "flagged dissatisfied"]


def test_json_report_holds_every_association_with_its_interval(insights):
    import json

    payload = json.loads(insights_json(insights))
    assert len(payload["associations"]) == len(insights.associations)
    first = payload["associations"][0]
    assert {"difference", "low", "high", "p_value"} <= set(first["estimate"]) and "q_value" in first
