"""`auditor audit --engine dask` with the default multilingual embedder on real STAR dialogues (slow)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from tests.conftest import EXTERNAL

pytestmark = pytest.mark.slow

STAR = EXTERNAL / "star_dev.jsonl"
LIMIT = 48
runner = CliRunner()

if not STAR.exists():
    pytest.skip(f"STAR data not found at {STAR} (see ../shared/data/external/README.md)", allow_module_level=True)


def _results(path):  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_dask_workers_with_use_m_audit_like_one_process(tmp_path):
    calls = tmp_path / "star.jsonl"
    with STAR.open(encoding="utf-8") as source:
        good = [line for line in source if json.loads(line).get("turns")]
    calls.write_text("".join(good[:LIMIT]), encoding="utf-8")
    args = ["audit", str(calls), "--sop", "general-inbound-call", "--batch-size", "8"]
    local = runner.invoke(app, [*args, "--out", str(tmp_path / "local")])
    dask = runner.invoke(app, [*args, "--out", str(tmp_path / "dask"), "--engine", "dask", "--workers", "2"])
    assert local.exit_code == 0, local.output
    assert dask.exit_code == 0, dask.output
    expected, got = _results(tmp_path / "local" / "results.jsonl"), _results(tmp_path / "dask" / "results.jsonl")
    assert [r["conversation_id"] for r in got] == [r["conversation_id"] for r in expected]
    assert got[0]["models"]["embedder"].startswith("use-multilingual")
    for mine, theirs in zip(got, expected, strict=True):
        # each worker caches its own utterances, so a text may be embedded in another micro-batch: 1e-7 apart
        assert [s["status"] for s in mine["steps"]] == [s["status"] for s in theirs["steps"]]
        assert mine["score"] == pytest.approx(theirs["score"], abs=1e-4)
        assert mine["passed"] == theirs["passed"]
