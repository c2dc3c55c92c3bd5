"""Audit batches on worker processes of this machine (``auditor audit --workers N``, local engine).

One process audits at about the embedder's own speed on one core, and threads do not help: the multilingual
embedder's forward pass is many small numpy operations that keep the GIL (measured: a second thread doing Python
work while it embeds makes both take the sum of their times). Processes do. Each worker builds the models once (in
the pool's initializer, like a Dask worker plugin) and keeps its own utterance cache; the driver reads inputs, keeps
a few batches in flight a worker, and yields results back in submission order, so results.jsonl is the same file
as with one process (a test compares them byte for byte).

Workers are started with ``spawn``: a fresh interpreter imports only what auditing needs, and nothing the driver
holds (threads of the progress bar, open files) is copied into a forked child.

A worker that dies (the out-of-memory killer, a segfault in a native library) breaks the whole pool; the engine
starts a fresh one and audits each batch that was in flight again, alone, so that a batch that kills its worker
again is known; that batch is audited one conversation at a time, and the conversation that kills its worker alone
becomes its problem (``engines.died``) while the others are audited. When ``MAX_DEATHS_IN_A_ROW`` conversations in a
row each kill their worker alone, the workers die whatever they audit and the audit stops (``WorkersDiedError``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from auditor.batch.engines import (
    Audited,
    DeathsInARow,
    WorkersDiedError,
    audit_batch,
    build_auditor,
    died,
)
from auditor.conversation import Conversation
from auditor.settings import AuditorSettings
from auditor.sop_format import Sop

IN_FLIGHT_PER_WORKER = 2
AUTO_MAX_WORKERS = 4
"""Most worker processes ``auditor audit`` starts on its own (each holds its models: about 400 MB with USE-m)."""
AUTO_FROM_CONVERSATIONS = 256
"""Smallest audit ``auditor audit`` spreads over worker processes on its own; a smaller one runs in its process."""

AuditFunction = Callable[[Any, list[Conversation]], list[Audited]]
"""What a worker runs on each batch with its Auditor: ``audit_batch``; a test gives a module-level one that kills its
worker for some conversation (spawned workers import it by name)."""

_auditor: Any = None
_notes: list[str] = []
_failure: str | None = None
_audit_function: AuditFunction = audit_batch


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


def _init_worker(sop: Sop, settings: AuditorSettings, audit: AuditFunction = audit_batch) -> None:
    """Pool initializer: build this worker's Auditor once; a failure is kept and reported by every task."""
    global _auditor, _notes, _failure, _audit_function
    _audit_function = audit
    watch = threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True)
    watch.start()
    try:
        _auditor, _notes = build_auditor(sop, settings)
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
    return _audit_function(_auditor, conversations)


def _started_pool(
    sop: Sop, settings: AuditorSettings, workers: int, audit: AuditFunction
) -> tuple[ProcessPoolExecutor, list[str]]:
    """A pool of ``workers`` processes that have each loaded the models; raises WorkerSetupError if one cannot."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(sop, settings, audit),
    )
    try:
        # one task a worker: each is started and has run its initializer before the first batch is sent
        notes = [pool.submit(_ready) for _ in range(workers)]
        found = [note for future in notes for note in future.result()]
    except (WorkerSetupError, BrokenProcessPool) as error:
        pool.shutdown(wait=True, cancel_futures=True)
        raise WorkerSetupError(str(error) or "a worker process died while loading the models") from error
    return pool, list(dict.fromkeys(found))


def _how_it_died(processes: list[Any]) -> str:
    """How the worker of a broken pool ended, from the exit codes of its processes (the pool terminates the others
    with SIGTERM once one has died)."""
    codes = [process.exitcode for process in processes]
    dead = [code for code in codes if code not in (None, 0, -signal.SIGTERM)]
    if not dead:
        return "exit code unknown"
    code = dead[0]
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}" + (", as the out-of-memory killer does" if -code == signal.SIGKILL else "")
    return f"exit code {code}"


Submitted = Future | list[Audited] | None
"""A batch in flight: its future, its results once known, or None when it could not be submitted (pool broken)."""


class ProcessEngine:
    """Audit batches on ``workers`` processes of this machine and yield them back in the order given."""

    in_process = False

    def __init__(
        self,
        pool: ProcessPoolExecutor,
        workers: int,
        in_flight_per_worker: int = IN_FLIGHT_PER_WORKER,
        *,
        restart: Callable[[], ProcessPoolExecutor] | None = None,
    ):
        self.pool = pool
        self.workers = workers
        self.in_flight = max(1, workers * in_flight_per_worker)
        self._restart = restart
        """Starts a fresh pool when a worker died (None: a dead worker stops the audit, as BrokenProcessPool)."""
        self.restarts = 0
        """Pools started again because a worker died."""
        self._deaths = DeathsInARow()

    @classmethod
    def start(
        cls, sop: Sop, settings: AuditorSettings, workers: int, *, audit: AuditFunction = audit_batch
    ) -> tuple[ProcessEngine, list[str]]:
        """Start the workers and wait until each has loaded the models; raises WorkerSetupError if one cannot.
        ``audit`` (module-level, so a spawned worker can import it) is what workers run on each batch."""
        pool, notes = _started_pool(sop, settings, workers, audit)

        def restart() -> ProcessPoolExecutor:
            return _started_pool(sop, settings, workers, audit)[0]

        return cls(pool, workers, restart=restart), notes

    def audit(self, batches: Iterable[list[Conversation]]) -> Iterator[tuple[list[Conversation], list[Audited]]]:
        """Keep ``in_flight`` batches submitted and yield them back in submission order (so results.jsonl does not
        depend on which worker finished first); a worker that dies is survived (see the module's docstring)."""
        pending: deque[tuple[list[Conversation], Submitted]] = deque()
        for batch in batches:
            pending.append((batch, self._submit(batch)))
            if len(pending) >= self.in_flight:
                yield self._first(pending)
        while pending:
            yield self._first(pending)

    def _submit(self, batch: list[Conversation]) -> Submitted:
        try:
            return self.pool.submit(_audit, batch)
        except BrokenProcessPool:  # broke since the last batch was collected: recovered when the next one is
            if self._restart is None:
                raise
            return None

    def _first(self, pending: deque[tuple[list[Conversation], Submitted]]) -> tuple[list[Conversation], list[Audited]]:
        """The first batch in flight, audited (after recovering the pool if it broke)."""
        batch, submitted = pending[0]
        if isinstance(submitted, Future):
            try:
                pending[0] = (batch, submitted.result())
            except BrokenProcessPool:
                if self._restart is None:
                    raise
                self._recover(pending)
        elif submitted is None:
            self._recover(pending)
        batch, audited = pending.popleft()
        assert isinstance(audited, list)
        self._deaths.audited(audited)
        return batch, audited

    def _recover(self, pending: deque[tuple[list[Conversation], Submitted]]) -> None:
        """A worker died and took the pool down: start a fresh pool and audit each batch in flight that the pool lost
        again, in order, alone (nothing else running), so that a batch that kills its worker again is known."""
        self._start_fresh(self._shut_broken())
        for index, (batch, submitted) in enumerate(pending):
            if isinstance(submitted, Future) and not submitted.cancelled():
                error = submitted.exception()  # the broken pool is shut down: every future of it is done
                if not isinstance(error, BrokenProcessPool):
                    pending[index] = (batch, submitted.result())  # its results, or the error it raised, as before
                    continue
            if not isinstance(submitted, list):
                pending[index] = (batch, self._alone(batch))

    def _alone(self, batch: list[Conversation]) -> list[Audited]:
        """Audit a batch with nothing else in flight; if its worker dies, audit its conversations one at a time."""
        try:
            audited: list[Audited] = self.pool.submit(_audit, batch).result()
        except BrokenProcessPool:
            how = self._shut_broken()
            if len(batch) == 1:
                return [self._died(batch[0], how)]
            self._start_fresh(how)
            return [record for conversation in batch for record in self._alone([conversation])]
        self._deaths.audited(audited)
        return audited

    def _died(self, conversation: Conversation, how: str) -> Audited:
        """The problem of a conversation that killed its worker alone; the pool is started again, unless workers have
        died on ``MAX_DEATHS_IN_A_ROW`` conversations in a row: then the audit stops."""
        self._deaths.died(
            conversation, "worker processes", f"; the last one {how}", " (fewer --workers need less memory)"
        )
        self._start_fresh(how)
        return died(conversation, how)

    def _shut_broken(self) -> str:
        """Shut the broken pool down; how its dead worker ended (exit code or signal, when known)."""
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=True, cancel_futures=True)
        return _how_it_died(processes)

    def _start_fresh(self, how: str) -> None:
        assert self._restart is not None
        try:
            self.pool = self._restart()
        except WorkerSetupError as error:
            raise WorkersDiedError(
                f"a worker process died ({how}) and fresh ones could not start: {error}"
            ) from error
        self.restarts += 1

    def close(self) -> None:
        """Stop the workers without waiting for them to exit (about 0.2 s the anomaly pass need not wait for);
        the interpreter joins them at exit, long after they are gone."""
        self.pool.shutdown(wait=False, cancel_futures=True)
