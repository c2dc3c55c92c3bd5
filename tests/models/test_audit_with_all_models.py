"""The audit a user runs, with every shipped model: steps, dissatisfaction with its trajectory, anomalies (slow)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_complaint_calls_get_dissatisfaction_trajectories_and_flags(tmp_path):
    result = CliRunner().invoke(
        app, ["audit", str(REPO / "corpora"), "--sop", "complaint-handling", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {"dissatisfaction", "dissatisfaction_signals", "anomaly", "step_scorer"} <= set(rows[0]["models"])
    for row in rows:
        block = row["dissatisfaction"]
        assert 0.0 <= block["score"] <= 1.0
        assert block["trajectory"]["kind"] in {"recovered", "worsened", "flat"}
        assert ("dissatisfied" in row["flags"]) == block["flagged"]
    complaints = [r for r in rows if r["metadata"].get("sop_id") == "complaint-handling"]
    others = [r for r in rows if r["metadata"].get("sop_id") == "service-request"]
    mean = lambda group: sum(r["dissatisfaction"]["score"] for r in group) / len(group)  # noqa: E731
    assert mean(complaints) > mean(others), "complaint calls should read as less satisfied than service requests"
    assert "Most dissatisfied customers" in result.output
