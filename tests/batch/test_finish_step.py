"""The anomaly step of a batch audit is explicit: ``BatchRun.finish()`` scores and rewrites results.jsonl, and a
caller that stops iterating early gets anomaly blocks by calling it, or a file that says it has none."""

from __future__ import annotations

import itertools
from pathlib import Path

from auditor.anomaly.detector import load_default_detector
from auditor.batch.engines import LocalEngine, expected_identity
from auditor.batch.runner import BatchRun, start_batch
from auditor.results_file import anomaly_scored, read_results
from auditor.sop.loading import resolve_sop
from tests.batch.helpers import CORPORA, HASHING, batch_audit

SOP = "general-inbound-call"
REPORTS = ("agents.csv", "steps.csv", "agent_steps.csv", "report.html")


def _start(out: Path, **options) -> BatchRun:  # type: ignore[no-untyped-def]
    sop = resolve_sop(SOP)
    return start_batch(
        [CORPORA],
        sop,
        lambda remaining: LocalEngine.start(sop, HASHING)[0],
        out=out,
        identity=expected_identity(sop, HASHING),
        fallback_detector=load_default_detector(),
        batch_size=7,
        **options,
    )


def test_a_caller_that_stops_early_and_finishes_gets_anomaly_blocks_and_reports(tmp_path):
    with _start(tmp_path) as run:
        taken = list(itertools.islice(run, 2))
        assert sum(len(batch) for batch in taken) == 14
        outcome = run.finish()
    results = read_results(tmp_path / "results.jsonl")
    assert len(results) == 14 == outcome.summary.total == outcome.audited
    assert all(anomaly_scored(result) for result in results)
    assert not outcome.complete, "the outcome says the audit stopped before every input"
    assert run.finished and run.pending is None
    assert all((tmp_path / name).exists() for name in REPORTS)
    assert not (tmp_path / "results.jsonl.partial").exists()


def test_a_caller_that_stops_early_without_finishing_gets_no_blocks_and_is_told(tmp_path):
    with _start(tmp_path) as run:
        next(iter(run))
        assert run.pending is not None
    results = read_results(tmp_path / "results.jsonl")
    assert len(results) == 7
    assert not any(anomaly_scored(result) for result in results), "no line claims an anomaly score"
    assert not any((tmp_path / name).exists() for name in REPORTS), "no report claims a finished audit"
    assert not run.finished
    assert run.pending is not None and "without anomaly blocks" in run.pending and "finish()" in run.pending

    outcome = batch_audit([CORPORA], SOP, tmp_path, resume=True)  # what the pending note says finishes the job
    assert outcome.resumed == 7 and outcome.complete
    assert all(anomaly_scored(result) for result in read_results(tmp_path / "results.jsonl"))


def test_an_audit_drained_and_finished_is_complete(tmp_path):
    with _start(tmp_path) as run:
        audited = sum(len(batch) for batch in run)
        outcome = run.finish()
    assert outcome.complete and outcome.audited == audited == outcome.summary.total
    assert all(anomaly_scored(result) for result in read_results(tmp_path / "results.jsonl"))
