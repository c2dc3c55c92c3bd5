"""`auditor audit --workers N` on the local engine: worker processes write what one process writes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor.anomaly.detector import load_default_detector
from auditor.batch.engines import expected_identity
from auditor.batch.process_engine import ProcessEngine
from auditor.batch.runner import run_batch
from auditor.cli import app
from auditor.sop.loading import resolve_sop
from tests.batch.helpers import CORPORA, HASHING, batch_audit, read_lines

pytestmark = pytest.mark.process

runner = CliRunner()
SOP = "general-inbound-call"


def test_two_worker_processes_give_the_single_process_results_in_the_same_order(tmp_path):
    sop = resolve_sop(SOP)
    engine, notes = ProcessEngine.start(sop, HASHING, workers=2)
    outcome = run_batch(
        [CORPORA],
        sop,
        lambda remaining: engine,
        out=tmp_path / "workers",
        identity=expected_identity(sop, HASHING),
        batch_size=3,  # many batches, so both workers get some and several are in flight at once
        fallback_detector=load_default_detector(),
    )
    batch_audit([CORPORA], SOP, tmp_path / "one")
    assert outcome.audited == 68  # 64 gold-labelled + 4 vendor samples (corpora/vendors)
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


def test_without_workers_a_batch_uses_one_process_per_core_up_to_four(monkeypatch):
    from auditor.batch import process_engine

    monkeypatch.setattr(process_engine.os, "sched_getaffinity", lambda pid: set(range(2)), raising=False)
    assert process_engine.auto_workers(10) == 1, "a handful of conversations is audited in the driver"
    assert process_engine.auto_workers(process_engine.AUTO_FROM_CONVERSATIONS) == 2
    monkeypatch.setattr(process_engine.os, "sched_getaffinity", lambda pid: set(range(32)), raising=False)
    assert process_engine.auto_workers(100_000) == process_engine.AUTO_MAX_WORKERS
    monkeypatch.setattr(process_engine.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert process_engine.auto_workers(100_000) == 1, "one core: no worker process"


def test_the_cli_spreads_a_large_audit_over_workers_by_default_with_the_same_results(tmp_path, monkeypatch):
    """A QA lead runs `auditor audit month.jsonl` without options: a large enough input is audited on worker
    processes (said on stderr), and results.jsonl is the one `--workers 1` writes."""
    from auditor.batch import process_engine

    monkeypatch.setattr(process_engine.os, "sched_getaffinity", lambda pid: set(range(2)), raising=False)
    transcripts = [file for lang in ("en", "zh-Hans", "zh-Hant") for file in sorted((CORPORA / lang).glob("*.jsonl"))]
    records = [line for file in transcripts for line in file.read_text("utf-8").splitlines()]
    month = tmp_path / "month.jsonl"
    with month.open("w", encoding="utf-8") as handle:
        for number in range(process_engine.AUTO_FROM_CONVERSATIONS):
            record = json.loads(records[number % len(records)])
            handle.write(json.dumps({**record, "id": f"m-{number:04d}"}, ensure_ascii=False) + "\n")
    common = ["audit", str(month), "--sop", SOP, "--embedder", "hashing"]
    default = runner.invoke(app, [*common, "--out", str(tmp_path / "default")])
    assert default.exit_code == 0, default.output
    assert "auditing on 2 worker processes" in default.output
    single = runner.invoke(app, [*common, "--out", str(tmp_path / "single"), "--workers", "1"])
    assert single.exit_code == 0, single.output
    assert "worker processes" not in single.output
    assert read_lines(tmp_path / "default" / "results.jsonl") == read_lines(tmp_path / "single" / "results.jsonl")
    assert len(read_lines(tmp_path / "single" / "results.jsonl")) == process_engine.AUTO_FROM_CONVERSATIONS
