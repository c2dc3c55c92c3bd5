"""Shared by the batch tests: the audit as it was before streaming (the reference) and running the batch audit."""

from __future__ import annotations

from pathlib import Path

from auditor.anomaly.attach import detector_for_batch, with_anomalies
from auditor.anomaly.detector import load_default_detector
from auditor.batch.engines import LocalEngine, batch_settings, expected_identity
from auditor.batch.runner import BatchOutcome, run_batch
from auditor.result import ConversationResult
from auditor.sop.loading import resolve_sop
from auditor.transcripts.loaders import load_inputs
from tests.conftest import REPO

CORPORA = REPO / "corpora"
HASHING = batch_settings(embedder="hashing")


def reference_results(inputs: list[Path], sop_id: str, batch_size: int = 32) -> list[ConversationResult]:
    """What `auditor audit` wrote before the batch runner: everything in memory, anomalies over the whole list."""
    from auditor.batch.engines import build_auditor

    sop = resolve_sop(sop_id)
    conversations = load_inputs(inputs).conversations
    auditor, _ = build_auditor(sop, HASHING)
    results = []
    for start in range(0, len(conversations), batch_size):
        results += auditor.audit_many(conversations[start : start + batch_size])
    detector = detector_for_batch(conversations, results, load_default_detector())
    return with_anomalies(detector, conversations, results) if detector is not None else results


def batch_audit(inputs: list[Path], sop_id: str, out: Path, **options) -> BatchOutcome:  # type: ignore[no-untyped-def]
    """run_batch in this process with the hashing embedder."""
    sop = resolve_sop(sop_id)
    return run_batch(
        inputs,
        sop,
        lambda remaining: LocalEngine.start(sop, HASHING)[0],
        out=out,
        identity=expected_identity(sop, HASHING),
        fallback_detector=load_default_detector(),
        **options,
    )


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()
