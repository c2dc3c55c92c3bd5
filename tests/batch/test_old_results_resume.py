"""An audit resumed from a results.jsonl written before outcomes existed: the old lines read as passed / failed."""

from __future__ import annotations

import json

from auditor.outcome import outcome_of
from auditor.results_file import read_results
from tests.batch.helpers import CORPORA, batch_audit, read_lines

SOP = "general-inbound-call"


def test_resuming_over_lines_without_outcome_counts_them_from_passed(tmp_path):
    out = tmp_path / "out"
    batch_audit([CORPORA / "en"], SOP, out)
    lines = read_lines(out / "results.jsonl")
    old = []
    for line in lines[:10]:  # written "before": no outcome key at all
        record = json.loads(line)
        record.pop("outcome", None)
        old.append(json.dumps(record, ensure_ascii=False))
    (out / "results.jsonl").write_text("\n".join(old) + "\n", encoding="utf-8")
    outcome = batch_audit([CORPORA / "en"], SOP, out, resume=True)
    assert (outcome.resumed, outcome.audited) == (10, len(lines) - 10)
    summary = outcome.summary
    results = read_results(out / "results.jsonl")
    assert summary.passed + summary.failed + summary.needs_review == summary.total == len(lines)
    assert summary.passed == sum(outcome_of(r) == "passed" for r in results)
    assert all(outcome_of(r) == ("passed" if r.passed else "failed") for r in results[:10])
    assert (out / "report.html").read_text(encoding="utf-8").count('<details class="conv ') == len(lines)
