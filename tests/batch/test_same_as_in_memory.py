"""The streaming batch audit writes what the in-memory audit wrote: same results, same tables, same report."""

from __future__ import annotations

import csv
import re

from auditor.anomaly.agent_steps import agent_step_deviations, flagged_deviations
from auditor.reports.aggregates import summarise_agents, summarise_steps
from auditor.reports.charts import chart_data, render_charts
from auditor.reports.files import write_agent_steps_csv, write_agents_csv, write_steps_csv
from auditor.reports.html import render_report
from auditor.sop.loading import resolve_sop
from auditor.transcripts.loaders import load_inputs
from tests.batch.helpers import CORPORA, batch_audit, read_lines, reference_results

SOP = "general-inbound-call"


CHARTS = re.compile(r'<section class="charts".*?</section>', re.S)


def _without_timestamp(html: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "(generated)", html)


def _charts(html: str) -> str:
    """The charts section of a report."""
    found = CHARTS.search(html)
    assert found is not None, "the report has its charts"
    return found.group(0)


def test_results_tables_and_report_equal_the_in_memory_audit(tmp_path):
    inputs = [CORPORA]
    expected = reference_results(inputs, SOP)
    assert len(expected) >= 50, "enough conversations for the audit to be its own anomaly baseline"
    outcome = batch_audit(inputs, SOP, tmp_path / "batch", batch_size=7)

    assert read_lines(tmp_path / "batch" / "results.jsonl") == [r.model_dump_json() for r in expected]
    assert "this audit's" in expected[0].models["anomaly"]

    reference = tmp_path / "reference"
    reference.mkdir()
    cells = agent_step_deviations(expected)
    write_agents_csv(reference / "agents.csv", summarise_agents(expected))
    write_steps_csv(reference / "steps.csv", summarise_steps(expected))
    write_agent_steps_csv(reference / "agent_steps.csv", cells)
    for name in ("agents.csv", "steps.csv", "agent_steps.csv"):
        assert (tmp_path / "batch" / name).read_text() == (reference / name).read_text(), name

    conversations = {c.id: c for c in load_inputs(inputs).conversations}
    html = render_report(
        expected,
        summarise_agents(expected),
        summarise_steps(expected),
        conversations,
        sop_name=resolve_sop(SOP).name,
        deviations=flagged_deviations(cells),
        deviation_cells=len(cells),
    )
    written = (tmp_path / "batch" / "report.html").read_text()
    # the charts count results in file order (the in-memory report feeds them worst first): same figures
    assert _without_timestamp(CHARTS.sub("", written)) == _without_timestamp(CHARTS.sub("", html))
    charts = render_charts(chart_data((r, conversations[r.conversation_id].started_at) for r in expected))
    drawn = _charts(written)
    for figure in (charts.steps, charts.heatmap, charts.scores):
        assert str(figure) in drawn
    assert outcome.audited == len(expected) and outcome.resumed == 0 and not outcome.problems


def test_a_large_audit_shows_the_worst_transcripts_and_counts_them_all(tmp_path):
    outcome = batch_audit([CORPORA], SOP, tmp_path, report_conversations=5)
    html = (tmp_path / "report.html").read_text()
    expected = sorted(reference_results([CORPORA], SOP), key=lambda r: (r.passed, r.score, r.conversation_id))
    shown = re.findall(r'<details class="conv[^"]*" id="c-([^"]+)"', html)
    assert shown == [r.conversation_id for r in expected[:5]]
    assert f"Showing the 5 lowest-scoring of {len(expected)} conversations" in html
    assert f"<b>{len(expected)}</b>" in html, "the headline counts every conversation, not the 5 shown"
    with (tmp_path / "agents.csv").open() as handle:
        assert sum(int(row["conversations"]) for row in csv.DictReader(handle)) == len(expected)
    assert outcome.shown_in_report == 5
