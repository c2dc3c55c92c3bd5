"""A worker process that dies (out-of-memory killer, segfault, os._exit) costs only the conversation that kills it
(issue 17, item 1): the pool is started again, the others are audited, and a pool that dies on everything stops
the audit with a clear error instead of looping."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from auditor.anomaly.detector import load_default_detector
from auditor.batch.engines import MAX_DEATHS_IN_A_ROW, WorkersDiedError, expected_identity
from auditor.batch.process_engine import ProcessEngine
from auditor.batch.runner import BatchOutcome, run_batch
from auditor.sop.loading import resolve_sop
from tests.batch.dying_worker import DYING_ID, EXIT_CODE, always_die, audit_or_die
from tests.batch.helpers import CORPORA, HASHING, batch_audit, read_lines

pytestmark = pytest.mark.process

SOP = "general-inbound-call"


def records(count: int) -> list[dict]:
    files = sorted((CORPORA / "en").glob("*.jsonl"))
    lines = [line for file in files for line in file.read_text("utf-8").splitlines()]
    assert len(lines) >= count
    return [json.loads(line) for line in lines[:count]]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def audit_on_workers(inputs: Path, out: Path, audit, workers: int = 2) -> tuple[BatchOutcome, ProcessEngine]:  # type: ignore[no-untyped-def]
    sop = resolve_sop(SOP)
    engine, _ = ProcessEngine.start(sop, HASHING, workers, audit=audit)
    outcome = run_batch(
        [inputs],
        sop,
        lambda remaining: engine,
        out=out,
        identity=expected_identity(sop, HASHING),
        batch_size=3,  # several batches in flight on both workers when one dies
        fallback_detector=load_default_detector(),
    )
    return outcome, engine


def test_a_conversation_that_kills_its_worker_is_named_and_every_other_one_is_audited(tmp_path):
    good = records(10)
    dying = {**good[4], "id": DYING_ID}
    inputs = write_jsonl(tmp_path / "calls.jsonl", [*good[:4], dying, *good[4:]])
    outcome, engine = audit_on_workers(inputs, tmp_path / "out", audit_or_die)

    [problem] = outcome.problems
    assert str(problem) == (
        f"{inputs}:5: conversation {DYING_ID} could not be audited: its worker process died"
        f" (exit code {EXIT_CODE}); the others were"
    )
    assert outcome.audited == len(good)
    assert engine.restarts >= 2, "the pool broke in flight, then again on the batch alone, then on the conversation"
    # the same results.jsonl as a run of the same file without that conversation, in the same order
    write_jsonl(inputs, good)
    batch_audit([inputs], SOP, tmp_path / "without", batch_size=3)
    assert read_lines(tmp_path / "out" / "results.jsonl") == read_lines(tmp_path / "without" / "results.jsonl")
    assert (tmp_path / "out" / "report.html").exists()


def test_workers_that_die_on_everything_stop_the_audit_with_a_clear_error_in_bounded_time(tmp_path):
    inputs = write_jsonl(tmp_path / "calls.jsonl", records(8))
    began = time.perf_counter()
    with pytest.raises(WorkersDiedError) as raised:
        audit_on_workers(inputs, tmp_path / "out", always_die, workers=1)
    message = str(raised.value)
    assert f"died auditing {MAX_DEATHS_IN_A_ROW} conversations in a row" in message
    assert f"exit code {EXIT_CODE}" in message and "--resume" in message
    assert time.perf_counter() - began < 120
    assert not (tmp_path / "out" / "results.jsonl").exists() or not read_lines(tmp_path / "out" / "results.jsonl")
