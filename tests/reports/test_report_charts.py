"""The report's charts: inline SVG only, numbers a QA lead would read off them, links to flagged conversations."""

from __future__ import annotations

import re

from auditor.reports.aggregates import summarise_agents, summarise_steps
from auditor.reports.charts import chart_data, render_charts
from auditor.reports.html import render_report
from tests.review.factories import audited


def report(with_dates: bool = True) -> str:
    results, conversations = audited()
    if not with_dates:
        for conversation in conversations.values():
            conversation.started_at = None
        for result in results:
            result.metadata.pop("started_at", None)
    return render_report(
        results, summarise_agents(results), summarise_steps(results), conversations, sop_name="Card check"
    )


def test_charts_are_inline_and_load_nothing_from_outside() -> None:
    html = report()
    assert html.count('<svg class="chart"') == 5  # steps, scores, heatmap, dissatisfaction, trend
    outside = re.findall(r'(?:src|href)="(https?:)?//', html)
    assert outside == []
    assert "<script src" not in html and "<link" not in html


def test_heatmap_and_step_bars_carry_the_rates() -> None:
    html = report()
    assert "a-9 · verify: done 0 of 2 (0%)" in html  # agent a-9 never verified in time
    assert "a-7 · verify: done 1 of 1 (100%)" in html
    assert "verify: missing 1 of 3 (33%)" in html and "verify: out of order 1 of 3 (33%)" in html


def test_points_and_flagged_list_link_to_the_conversations() -> None:
    html = report()
    assert '<a href="#c-zh-call"><circle' in html
    flagged = re.findall(r'<a class="flagged-item" href="#c-([^"]+)"', html)
    assert flagged == ["en-no-verify", "zh-call"]  # lowest score first; the compliant call is not flagged
    for conversation_id in flagged:
        assert f'id="c-{conversation_id}"' in html  # each link has its target in the page


def test_trend_needs_dates() -> None:
    assert "Trend per day" in report(with_dates=True)
    assert "Trend per" not in report(with_dates=False)


def test_score_distribution_counts_every_conversation() -> None:
    results, _ = audited()
    charts = render_charts(chart_data((r, None) for r in results))
    bands = re.findall(r"<title>score ([0-9.]+)–[0-9.]+: (\d+) (passed|failed)</title>", str(charts.scores))
    assert sorted(bands) == [
        ("0.7", "1", "failed"),
        ("0.8", "1", "failed"),
        ("0.9", "1", "passed"),
    ]  # 1.0 is in the top band


def test_a_forbidden_step_reads_never_said_where_other_steps_read_done() -> None:
    results, _ = audited()
    forbidden = results[0].steps[0].model_copy(
        update={"step_id": "promise_guarantee", "name": "Promise a guaranteed refund", "forbidden": True}
    )
    said = forbidden.model_copy(update={"status": "violated"})
    results = [
        r.model_copy(update={"steps": [*r.steps, forbidden.model_copy(update={"status": "done"}) if i else said]})
        for i, r in enumerate(results)
    ]
    bars = str(render_charts(chart_data((r, None) for r in results)).steps)
    assert "⊘ promise_guarantee" in bars and "promise_guarantee: never said 2 of 3 (67%)" in bars
    assert "promise_guarantee: violated 1 of 3" in bars
    assert "⊘ verify" not in bars and "verify: missing 1 of 3 (33%)" in bars  # an ordinary step reads as before
