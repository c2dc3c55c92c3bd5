"""Audit batches on worker processes of this machine (``auditor audit --workers N``, local engine).

One process audits at about the embedder's own speed on one core, and threads do not help: the multilingual
embedder's forward pass is many small numpy operations that keep the GIL (measured: a second thread doing Python
work while it embeds makes both take the sum of their times). Processes do. Each worker builds the models once (in
the pool's initializer, like a Dask worker plugin) and keeps its own utterance cache; the driver reads inputs, keeps
a few batches in flight a worker, and yields results back in submission order, so results.jsonl is the same file
as with one process (a test compares them byte for byte).

Workers are started with ``spawn``: a fresh interpreter imports only what auditing needs, and nothing the driver
holds (threads of the progress bar, open files) is copied into a forked child.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from auditor.batch.engines import Audited, ModelSpec, audit_batch, build_auditor, in_submission_order
from auditor.sop.schema import Sop
from auditor.transcripts.conversation import Conversation

IN_FLIGHT_PER_WORKER = 2
AUTO_MAX_WORKERS = 4
"""Most worker processes ``auditor audit`` starts on its own (each holds its models: about 400 MB with USE-m)."""
AUTO_FROM_CONVERSATIONS = 256
"""Smallest audit ``auditor audit`` spreads over worker processes on its own; a smaller one runs in its process."""

_auditor: Any = None
_notes: list[str] = []
_failure: str | None = None


def auto_workers(conversations: int) -> int:
    """Audit processes when ``--workers`` is not given: one per core this process may use, at most
    ``AUTO_MAX_WORKERS``, for an audit of ``AUTO_FROM_CONVERSATIONS`` conversations or more; else 1, the driver
    auditing alone. Workers are faster even for small audits (measured on 2 cores: 64 STAR conversations 3.5 s
    instead of 4.5 s, 256 in 5.4 s instead of 6.6 s), but each holds its own models (about 300 MB with USE-m), a
    cost worth paying for a batch, not for a handful of conversations."""
    if conversations < AUTO_FROM_CONVERSATIONS:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, AUTO_MAX_WORKERS))


class WorkerSetupError(RuntimeError):
    """A worker process could not load the models (the message is the worker's error)."""


def _init_worker(sop: Sop, spec: ModelSpec) -> None:
    """Pool initializer: build this worker's Auditor once; a failure is kept and reported by every task."""
    global _auditor, _notes, _failure
    watch = threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True)
    watch.start()
    try:
        _auditor, _notes = build_auditor(sop, spec)
    except Exception as error:  # reported to the driver by _ready / _audit, which name it
        _failure = f"{type(error).__name__}: {error}"


def _exit_with_parent(parent: int, interval: float = 1.0) -> None:
    """End this worker when the driver is gone (killed with SIGKILL, say): a pool worker otherwise waits on its
    task queue for ever, holding its models' memory. The driver's death re-parents the worker."""
    while True:
        time.sleep(interval)
        if os.getppid() != parent:
            os._exit(1)


def _ready() -> list[str]:
    if _failure is not None:
        raise WorkerSetupError(_failure)
    return list(_notes)


def _audit(conversations: list[Conversation]) -> list[Audited]:
    if _failure is not None:
        raise WorkerSetupError(_failure)
    return audit_batch(_auditor, conversations)


class ProcessEngine:
    """Audit batches on ``workers`` processes of this machine and yield them back in the order given."""

    in_process = False

    def __init__(self, pool: ProcessPoolExecutor, workers: int, in_flight_per_worker: int = IN_FLIGHT_PER_WORKER):
        self.pool = pool
        self.workers = workers
        self.in_flight = max(1, workers * in_flight_per_worker)

    @classmethod
    def start(cls, sop: Sop, spec: ModelSpec, workers: int) -> tuple[ProcessEngine, list[str]]:
        """Start the workers and wait until each has loaded the models; raises WorkerSetupError if one cannot."""
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(sop, spec),
        )
        try:
            # one task a worker: each is started and has run its initializer before the first batch is sent
            notes = [pool.submit(_ready) for _ in range(workers)]
            found = [note for future in notes for note in future.result()]
        except (WorkerSetupError, BrokenProcessPool) as error:
            pool.shutdown(wait=True, cancel_futures=True)
            raise WorkerSetupError(str(error) or "a worker process died while loading the models") from error
        return cls(pool, workers), list(dict.fromkeys(found))

    def audit(self, batches: Iterable[list[Conversation]]) -> Iterator[tuple[list[Conversation], list[Audited]]]:
        return in_submission_order(batches, self._submit, Future.result, self.in_flight)

    def _submit(self, batch: list[Conversation]) -> Future[list[Audited]]:
        return self.pool.submit(_audit, batch)

    def close(self) -> None:
        """Stop the workers without waiting for them to exit (about 0.2 s the anomaly pass need not wait for);
        the interpreter joins them at exit, long after they are gone."""
        self.pool.shutdown(wait=False, cancel_futures=True)
