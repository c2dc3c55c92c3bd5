"""On Dask, a worker that dies costs only the conversation that kills it (issue 17, item 1): the nanny restarts the
worker, the batch that killed it (KilledWorker) is audited one conversation per task, the others are written."""

from __future__ import annotations

import pytest

from auditor.anomaly.detector import load_default_detector
from auditor.batch.engines import expected_identity
from auditor.batch.runner import run_batch
from auditor.sop.loading import resolve_sop
from tests.batch.dying_worker import DYING_ID, audit_or_die
from tests.batch.helpers import HASHING, batch_audit, read_lines
from tests.batch.test_dying_worker import SOP, records, write_jsonl

pytestmark = pytest.mark.process


def test_a_conversation_that_kills_its_dask_worker_is_named_and_every_other_one_is_audited(tmp_path):
    pytest.importorskip("distributed")
    from auditor.batch.dask_engine import DaskEngine

    good = records(6)
    inputs = write_jsonl(tmp_path / "calls.jsonl", [*good[:2], {**good[2], "id": DYING_ID}, *good[2:]])
    sop = resolve_sop(SOP)
    engine = DaskEngine.start(sop, HASHING, workers=2, audit=audit_or_die)
    outcome = run_batch(
        [inputs],
        sop,
        lambda remaining: engine,
        out=tmp_path / "out",
        identity=expected_identity(sop, HASHING),
        batch_size=2,
        fallback_detector=load_default_detector(),
    )
    [problem] = outcome.problems
    assert str(problem).startswith(f"{inputs}:3: conversation {DYING_ID} could not be audited: its worker process died")
    assert outcome.audited == len(good)
    write_jsonl(inputs, good)
    batch_audit([inputs], SOP, tmp_path / "without", batch_size=2)
    assert read_lines(tmp_path / "out" / "results.jsonl") == read_lines(tmp_path / "without" / "results.jsonl")
