"""Anomalies over a whole batch audit without holding it: features kept as numbers, results rescored in chunks.

``auditor.anomaly.attach`` needs every conversation and result in memory; here each audited conversation leaves
only its feature vector (23 floats, 184 bytes) in a ``FeatureTable`` indexed by its line in results.jsonl. Once the
audit is in, the detector is fitted on the table as ``detector_for_batch`` does (the audit is its own baseline from
``BATCH_BASELINE_MIN`` conversations on; beyond ``FIT_SAMPLE`` a seeded uniform sample of them: an IsolationForest
looks at 256 rows a tree and percentiles of 10,000 rows are as good as of 1,000,000), then the results are annotated
chunk by chunk with ``with_anomaly_blocks``, the annotation ``with_anomalies`` makes, and results.jsonl is rewritten
with them (``rescore_anomalies``: the explicit step ``auditor.batch.runner.BatchRun.finish`` takes).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

import numpy as np

from auditor.anomaly.attach import BATCH_BASELINE_MIN, with_anomaly_blocks
from auditor.anomaly.detector import AnomalyDetector, fit_anomaly_detector
from auditor.anomaly.features import FEATURE_NAMES
from auditor.result import ConversationResult
from auditor.results_file import ResultsLog, ResultsWriter, rewriting

FIT_SAMPLE = 10_000
_COLUMN = {name: index for index, name in enumerate(FEATURE_NAMES)}


class FeatureRow(Mapping[str, float]):
    """One row of the table read as the ``{feature: value}`` mapping the detector takes (no dict built)."""

    __slots__ = ("_values",)

    def __init__(self, values: np.ndarray):
        self._values = values

    def __getitem__(self, name: str) -> float:
        return float(self._values[_COLUMN[name]])

    def __iter__(self) -> Iterator[str]:
        return iter(FEATURE_NAMES)

    def __len__(self) -> int:
        return len(FEATURE_NAMES)


class FeatureTable:
    """Feature vectors by results.jsonl line, in fixed blocks of rows so growing never copies; a line without
    features (a result kept from an earlier run whose conversation is not among this run's inputs) is absent."""

    BLOCK_ROWS = 4096

    def __init__(self) -> None:
        self._values: list[np.ndarray] = []
        self._present: list[np.ndarray] = []

    def set(self, line: int, vector: np.ndarray) -> None:
        block, row = divmod(line, self.BLOCK_ROWS)
        while len(self._values) <= block:
            self._values.append(np.full((self.BLOCK_ROWS, len(FEATURE_NAMES)), np.nan))
            self._present.append(np.zeros(self.BLOCK_ROWS, dtype=bool))
        self._values[block][row] = vector
        self._present[block][row] = True

    def has(self, line: int) -> bool:
        block, row = divmod(line, self.BLOCK_ROWS)
        return block < len(self._present) and bool(self._present[block][row])

    def row(self, line: int) -> FeatureRow:
        block, row = divmod(line, self.BLOCK_ROWS)
        return FeatureRow(self._values[block][row])

    def present_lines(self) -> np.ndarray:
        """The lines that have features, in order."""
        if not self._present:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(np.concatenate(self._present))


Fallback = AnomalyDetector | Callable[[], AnomalyDetector | None] | None
"""The baseline for an audit too small to be its own: a detector, or a function loading one only when needed (the
shipped baseline costs seconds of start-up that an audit of 50 conversations or more never uses)."""


def _resolve(fallback: Fallback) -> AnomalyDetector | None:
    return fallback if fallback is None or isinstance(fallback, AnomalyDetector) else fallback()


def detector_for_audit(table: FeatureTable, fallback: Fallback) -> AnomalyDetector | None:
    """Fit the detector on this audit's own conversations when there are enough of them, else ``fallback``."""
    lines = table.present_lines()
    if len(lines) < BATCH_BASELINE_MIN:
        return _resolve(fallback)
    if len(lines) <= FIT_SAMPLE:
        sample, trained_on = lines, f"this audit's {len(lines)} conversations"
    else:
        sample = np.sort(np.random.default_rng(0).choice(lines, FIT_SAMPLE, replace=False))
        trained_on = f"a seeded random {FIT_SAMPLE} of this audit's {len(lines)} conversations"
    try:
        return fit_anomaly_detector([table.row(int(line)) for line in sample], trained_on=trained_on)
    except ValueError:
        return _resolve(fallback)


RESCORE_CHUNK = 256
"""Results parsed, rescored and rewritten at a time."""

T = TypeVar("T")


def rescore_anomalies(
    log: ResultsLog,
    table: FeatureTable,
    detector: AnomalyDetector | None,
    consume: Callable[[Iterator[tuple[int, ConversationResult]]], T],
) -> T:
    """The anomaly step of a batch audit: rewrite results.jsonl (atomically) with every result's anomaly block, and
    hand the final results, with their 0-based line, to ``consume`` as they go; its answer is returned.

    Whatever of the stream ``consume`` leaves unread is read here before the file is replaced, so the rewrite never
    depends on the consumer. A line without features (kept from an earlier run whose conversation is not among this
    run's inputs) is written as it was; with no ``detector`` (an audit too small to be its own baseline and no
    fallback) nothing is rewritten and ``consume`` reads the file as it is.
    """
    if detector is None:
        stream = log.results()
        answer = consume(stream)
        for _ in stream:
            pass
        return answer
    with rewriting(log.path) as writer:
        rescored = _rescored(log, table, detector, writer)
        answer = consume(rescored)
        for _ in rescored:  # what the consumer left: the file is whole only once every chunk is written
            pass
    return answer


def _rescored(
    log: ResultsLog, table: FeatureTable, detector: AnomalyDetector, writer: ResultsWriter
) -> Iterator[tuple[int, ConversationResult]]:
    lines = log.results()
    while chunk := list(itertools.islice(lines, RESCORE_CHUNK)):
        scored = [k for k, (number, _) in enumerate(chunk) if table.has(number)]
        rows = [table.row(chunk[k][0]) for k in scored]
        annotated = with_anomaly_blocks(detector, [chunk[k][1] for k in scored], rows)
        for k, result in zip(scored, annotated, strict=True):
            chunk[k] = (chunk[k][0], result)
        writer.write(result for _, result in chunk)
        yield from chunk
        del chunk  # before the next chunk is parsed, so two never coexist
