"""Insights and abstention: an uncertain step is neither done nor skipped, and the report says how many there were."""

from __future__ import annotations

from auditor.insights.completion import step_completion
from auditor.insights.report import build_insights, insights_json
from auditor.insights.results_files import load_results
from tests.abstention import failed_call, old_line, passed_call, review_call


def test_completion_leaves_uncertain_out_of_the_rate_and_counts_it() -> None:
    rows = {c.step_id: c for c in step_completion([passed_call(), failed_call(), review_call()])}
    verify = rows["verify"]
    assert (verify.applicable, verify.performed, verify.uncertain, verify.rate) == (2, 1, 1, 0.5)
    assert rows["greet"].uncertain == 0 and rows["greet"].rate == 1.0


def test_the_report_counts_uncertain_verdicts_and_needs_review() -> None:
    report = build_insights([passed_call(), failed_call(), review_call()])
    assert (report.uncertain_verdicts, report.needs_review) == (1, 1)
    assert '"uncertain_verdicts": 1' in insights_json(report)


def test_old_results_without_outcome_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "results.jsonl"
    path.write_text(old_line(True, "a") + "\n" + old_line(False, "b") + "\n", encoding="utf-8")
    loaded = load_results([path])
    assert loaded.problems == [] and len(loaded.results) == 2
    report = build_insights(loaded.results)
    assert (report.uncertain_verdicts, report.needs_review) == (0, 0)
