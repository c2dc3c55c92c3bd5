"""The Dask engine on a local 2-worker cluster (loopback only) writes what the single-process engine writes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from auditor.anomaly.detector import load_default_detector
from auditor.batch.engines import expected_identity
from auditor.batch.runner import run_batch
from auditor.cli import app
from auditor.sop.loading import resolve_sop
from tests.batch.helpers import CORPORA, HASHING, batch_audit, read_lines

pytestmark = pytest.mark.process

runner = CliRunner()
SOP = "general-inbound-call"


def test_two_dask_workers_on_loopback_give_the_single_process_results(tmp_path):
    pytest.importorskip("distributed")
    from auditor.batch.dask_engine import DaskEngine

    sop = resolve_sop(SOP)
    engine = DaskEngine.start(sop, HASHING, workers=2)
    addresses = [engine.client.scheduler.address, *engine.client.nthreads()]
    assert len(addresses) == 3 and all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
    out = tmp_path / "dask"
    outcome = run_batch(
        [CORPORA],
        sop,
        lambda remaining: engine,
        out=out,
        identity=expected_identity(sop, HASHING),
        batch_size=5,
        fallback_detector=load_default_detector(),
    )
    assert engine.client.status == "closed", "the run closes the engine and its local cluster"
    batch_audit([CORPORA], SOP, tmp_path / "local")
    assert outcome.audited == len(read_lines(out / "results.jsonl")) == 68  # 64 gold-labelled + 4 vendor samples
    assert read_lines(out / "results.jsonl") == read_lines(tmp_path / "local" / "results.jsonl")
    for name in ("agents.csv", "steps.csv", "agent_steps.csv"):
        assert (out / name).read_text() == (tmp_path / "local" / name).read_text()


def test_scheduler_without_the_dask_engine_is_a_usage_error(tmp_path):
    result = runner.invoke(
        app, ["audit", str(CORPORA), "--sop", SOP, "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:8786"]
    )
    assert result.exit_code == 2 and "--engine dask" in result.output


def test_a_model_the_workers_cannot_load_is_a_usage_error_naming_it(tmp_path):
    pytest.importorskip("distributed")
    missing = tmp_path / "no-such-model"
    result = runner.invoke(
        app,
        ["audit", str(CORPORA / "en"), "--sop", SOP, "--out", str(tmp_path / "out"), "--embedder", "hashing"]
        + ["--engine", "dask", "--workers", "1", "--step-model", str(missing)],
    )
    assert result.exit_code == 2
    assert "could not load the models" in result.output and str(missing) in result.output
    assert not (tmp_path / "out" / "results.jsonl").exists()
