"""`auditor audit --workers N` on the local engine: worker processes write what one process writes."""

from __future__ import annotations

from typer.testing import CliRunner

from auditor.anomaly.detector import load_default_detector
from auditor.batch.engines import expected_identity
from auditor.batch.process_engine import ProcessEngine
from auditor.batch.runner import run_batch
from auditor.cli import app
from auditor.sop.loading import resolve_sop
from tests.batch.helpers import CORPORA, HASHING, batch_audit, read_lines

runner = CliRunner()
SOP = "general-inbound-call"


def test_two_worker_processes_give_the_single_process_results_in_the_same_order(tmp_path):
    sop = resolve_sop(SOP)
    engine, notes = ProcessEngine.start(sop, HASHING, workers=2)
    outcome = run_batch(
        [CORPORA],
        sop,
        lambda: engine,
        out=tmp_path / "workers",
        identity=expected_identity(sop, HASHING),
        batch_size=3,  # many batches, so both workers get some and several are in flight at once
        fallback_detector=load_default_detector(),
    )
    batch_audit([CORPORA], SOP, tmp_path / "one")
    assert outcome.audited == 64
    assert read_lines(tmp_path / "workers" / "results.jsonl") == read_lines(tmp_path / "one" / "results.jsonl")
    for name in ("agents.csv", "steps.csv", "agent_steps.csv"):
        assert (tmp_path / "workers" / name).read_text() == (tmp_path / "one" / name).read_text()
    assert engine.pool._shutdown_thread, "the run shuts the worker processes down"


def test_workers_that_cannot_load_a_model_are_a_usage_error_naming_it(tmp_path):
    missing = tmp_path / "no-such-model"
    result = runner.invoke(
        app,
        ["audit", str(CORPORA / "en"), "--sop", SOP, "--out", str(tmp_path / "out"), "--embedder", "hashing"]
        + ["--workers", "2", "--step-model", str(missing)],
    )
    assert result.exit_code == 2, result.output
    assert "no-such-model" in result.output
    assert not (tmp_path / "out" / "results.jsonl").exists() or not read_lines(tmp_path / "out" / "results.jsonl")


def test_the_cli_with_two_workers_audits_everything(tmp_path):
    result = runner.invoke(
        app,
        ["audit", str(CORPORA / "zh-Hant"), "--sop", SOP, "--out", str(tmp_path), "--embedder", "hashing"]
        + ["--workers", "2", "--batch-size", "2"],
    )
    assert result.exit_code == 0, result.output
    single = tmp_path / "single"
    batch_audit([CORPORA / "zh-Hant"], SOP, single, batch_size=2)
    assert read_lines(tmp_path / "results.jsonl") == read_lines(single / "results.jsonl")
