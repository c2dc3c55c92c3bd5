"""Uncertain steps, violated steps and the needs_review outcome as a QA lead meets them: counts, CSVs, the report.

Each check has its near miss beside it: an uncertain step is not done and not missing, a needs_review call is not
failed, a step refused (missing, with evidence) is not uncertain, and an old result without ``outcome`` reads as
passed / failed.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from rich.console import Console

from auditor.anomaly.agent_steps import agent_step_deviations
from auditor.batch.summary import WorstConversations
from auditor.outcome import act_note, outcome_of, with_outcome
from auditor.reports.aggregates import summarise_agents, summarise_steps
from auditor.reports.console import agents_table, steps_table
from auditor.reports.files import write_agent_steps_csv, write_agents_csv, write_steps_csv
from auditor.reports.html import render_report
from auditor.reports.summary import AuditSummary, worst_first_key
from auditor.results_file import read_results
from tests.abstention import (
    conversation,
    failed_call,
    old_line,
    old_result,
    passed_call,
    review_call,
    violated_call,
)


def calls():  # type: ignore[no-untyped-def]
    return [passed_call(), failed_call(), review_call(), violated_call()]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_an_old_result_without_outcome_reads_as_passed_or_failed() -> None:
    assert old_result(True).outcome is None and outcome_of(old_result(True)) == "passed"
    assert outcome_of(old_result(False)) == "failed"
    assert with_outcome(old_result(False)).outcome == "failed"
    assert outcome_of(review_call()) == "needs_review" and review_call().passed is False


def test_steps_csv_counts_uncertain_and_violated_apart_from_done_and_missing(tmp_path: Path) -> None:
    write_steps_csv(tmp_path / "steps.csv", summarise_steps(calls()))
    verify = next(row for row in rows(tmp_path / "steps.csv") if row["step_id"] == "verify")
    # passed + violated calls did it, the failed call refused it (missing), the review call is undecided
    assert (verify["done"], verify["missing"], verify["uncertain"]) == ("2", "1", "1")
    assert verify["applicable"] == "3" and verify["done_rate"] == "0.6667", "the uncertain call is not in the rate"
    promise = next(row for row in rows(tmp_path / "steps.csv") if row["step_id"] == "promise")
    assert (promise["violated"], promise["done"], promise["uncertain"]) == ("1", "3", "0")
    assert list(rows(tmp_path / "steps.csv")[0])[:9] == [
        "step_id",
        "name",
        "applicable",
        "done",
        "done_rate",
        "missing",
        "out_of_order",
        "late",
        "not_applicable",
    ], "the columns of before keep their place"


def test_an_all_done_audit_keeps_its_steps_csv_rate(tmp_path: Path) -> None:
    write_steps_csv(tmp_path / "steps.csv", summarise_steps([passed_call(), old_result(True)]))
    verify = next(row for row in rows(tmp_path / "steps.csv") if row["step_id"] == "verify")
    assert (verify["done_rate"], verify["uncertain"], verify["violated"]) == ("1.0000", "0", "0")


def test_agents_csv_pass_rate_is_over_decided_conversations(tmp_path: Path) -> None:
    results = [*calls(), passed_call("c-b", agent_id="a-9"), review_call("c-c", agent_id="a-8")]
    write_agents_csv(tmp_path / "agents.csv", summarise_agents(results))
    agents = {row["agent_id"]: row for row in rows(tmp_path / "agents.csv")}
    seven = agents["a-7"]
    assert (seven["passed"], seven["failed"], seven["needs_review"]) == ("1", "2", "1")
    assert seven["pass_rate"] == "0.3333", "1 of the 3 decided, not 1 of 4"
    assert (seven["uncertain_steps"], seven["violated_steps"]) == ("1", "1")
    assert agents["a-9"]["pass_rate"] == "1.0000" and agents["a-9"]["needs_review"] == "0"
    assert agents["a-8"]["pass_rate"] == "" and agents["a-8"]["needs_review"] == "1", "nothing decided: no rate"


def test_agent_steps_csv_leaves_uncertain_out_of_the_misses(tmp_path: Path) -> None:
    results = [review_call(f"r-{n}", agent_id="a-unsure") for n in range(5)]
    results += [failed_call(f"f-{n}", agent_id="a-missing") for n in range(5)]
    results += [passed_call(f"p-{n}", agent_id="a-peer") for n in range(5)]
    cells = agent_step_deviations(results)
    write_agent_steps_csv(tmp_path / "agent_steps.csv", cells)
    verify = {row["agent_id"]: row for row in rows(tmp_path / "agent_steps.csv") if row["step_id"] == "verify"}
    assert "a-unsure" not in verify, "five uncertain verdicts are no conversations to test"
    assert verify["a-missing"]["agent_misses"] == "5" and verify["a-missing"]["peer_uncertain"] == "5"
    assert verify["a-missing"]["agent_uncertain"] == "0"


def test_console_tables_show_needs_review_and_uncertain_only_when_there_are_any() -> None:
    console = Console(width=200, record=True)
    console.print(agents_table(summarise_agents(calls())), steps_table(summarise_steps(calls())))
    text = console.export_text()
    assert "needs review" in text and "uncertain" in text and "violated" in text
    plain = Console(width=200, record=True)
    plain.print(agents_table(summarise_agents([passed_call()])), steps_table(summarise_steps([passed_call()])))
    assert "uncertain" not in plain.export_text() and "needs review" not in plain.export_text()


def test_audit_summary_counts_the_three_outcomes() -> None:
    summary = AuditSummary()
    for result in [*calls(), old_result(True, "old-pass"), old_result(False, "old-fail")]:
        summary.add(result)
    assert (summary.passed, summary.failed, summary.needs_review) == (2, 3, 1)
    assert summary.pass_rate == 2 / 5 and summary.uncertain_steps == 1 and summary.violated_steps == 1


def test_worst_first_puts_failed_then_needs_review_then_passed() -> None:
    keys = {r.conversation_id: worst_first_key(outcome_of(r), r.score, r.conversation_id) for r in calls()}
    assert sorted(keys, key=keys.__getitem__) == ["c-failed", "c-violated", "c-review", "c-passed"]
    worst = WorstConversations(limit=2)
    for line, r in enumerate(calls()):
        worst.offer(keys[r.conversation_id], line, conversation(r.conversation_id))
    assert sorted(worst.conversations_by_line()) == [1, 3], "the two failed calls are kept, not the review one"


def test_old_results_jsonl_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(old_line(True, "a") + "\n" + old_line(False, "b") + "\n", encoding="utf-8")
    assert [outcome_of(r) for r in read_results(path)] == ["passed", "failed"]


def test_act_note_names_what_the_turn_did_unless_it_performed_the_step() -> None:
    assert act_note("refused", "can't … by phone") == "refused: 'can't … by phone'"
    assert act_note("not_available", None) == "not available"
    assert act_note("performed", "anything") is None and act_note(None, None) is None


def report(results) -> str:  # type: ignore[no-untyped-def]
    conversations = {r.conversation_id: conversation(r.conversation_id) for r in results}
    return render_report(results, summarise_agents(results), summarise_steps(results), conversations, sop_name="Cards")


def section(html: str, conversation_id: str) -> str:
    start = html.index(f'id="c-{conversation_id}"')
    return html[start : html.index("</details>", start)]


def test_report_shows_three_outcomes_and_orders_failed_review_passed() -> None:
    html = report([passed_call(), review_call(), failed_call(), old_result(False)])
    assert re.search(r'<span class="label">needs review</span><b>1\b', html)
    review = section(html, "c-review")
    assert 'class="verdict review"' in review and "NEEDS REVIEW" in review and "FAILED" not in review
    assert 'class="conv needs-review' in html and 'class="conv failed' in html
    assert "FAILED" in section(html, "c-old"), "an old failed result reads as failed"
    order = [html.index(f'id="c-{cid}"') for cid in ("c-old", "c-failed", "c-review", "c-passed")]
    assert order == sorted(order)
    assert 'id="show-review"' in html and "needs review (1)" in html


def test_report_marks_uncertain_steps_apart_from_done_and_missing() -> None:
    review = section(report([review_call()]), "c-review")
    assert '<span class="status s-uncertain">uncertain</span>' in review
    assert '<i class="s-uncertain" title="verify: uncertain">' in review
    assert "turn agent ev ev-best ev-unsure" in review, "its evidence turn is highlighted as to decide, not as done"
    assert "to decide: expected here" in review and 'class="marker m-uncertain"' in review
    assert "offered: &#39;I can … check&#39;" in review
    passed = section(report([passed_call()]), "c-passed")
    assert "s-uncertain" not in passed and "ev-unsure" not in passed and "ev-ok" in passed


def test_report_shows_refusals_and_violations_where_they_were_said() -> None:
    html = report([failed_call(), violated_call()])
    failed = section(html, "c-failed")
    assert "refused: &#39;can&#39;t … by phone&#39;" in failed and "ev-bad" in failed
    assert '<span class="status s-missing">missing</span>' in failed
    violated = section(html, "c-violated")
    assert '<span class="status s-violated">violated</span>' in violated and "violated:promise" in violated
    assert "tag best s-violated" in violated
    assert "forbidden steps said</span><b>1</b>" in html
    legend = html[html.index('id="legend"') :]
    assert "a person decides" in legend and "forbidden" in legend


def test_report_charts_stack_needs_review_and_count_uncertain_apart() -> None:
    html = report([passed_call(), review_call(), failed_call()])
    assert re.search(
        r"<title>score 1\.0–1\.1: 1 needs review</title>|<title>score 0\.9–1\.0: 1 needs review</title>", html
    )
    assert "verify: uncertain 1 of 3" in html
    assert "a-7 · verify: done 1 of 2 (50%); 1 more uncertain" in html
