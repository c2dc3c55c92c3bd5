"""What a QA lead sees at the end of `auditor audit`: progress with a rate, and a closing summary."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from auditor.cli import app
from tests.batch.helpers import CORPORA

runner = CliRunner()


def test_progress_shows_a_rate_and_the_summary_counts_audited_bad_and_flagged(tmp_path):
    calls = tmp_path / "calls.jsonl"
    good = (CORPORA / "en" / "general-inbound-call.jsonl").read_text(encoding="utf-8")
    calls.write_text(good + "{broken\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["audit", str(calls), "--sop", "general-inbound-call", "--out", str(tmp_path / "out"), "--embedder", "hashing"],
    )
    assert result.exit_code == 1, result.output
    assert re.search(r"6/6 [\d.,]+ conv/s", result.output), result.output
    summary = result.output[result.output.index("Summary") :]
    assert "audited 6 conversations in" in summary and "1 bad input;" in summary
    assert re.search(r"flagged: \d+ failed, \d+ needs review, \d+ dissatisfied, \d+ unusual", summary)
