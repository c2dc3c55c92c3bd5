"""Audit batches on Dask distributed: a local cluster on loopback by default, or an existing one by address.

Each worker builds the models once, in a worker plugin (``AuditorPlugin``), and keeps them for every batch it is
given; a batch travels to a worker as a list of conversations and comes back as ``Audited`` records. The driver
keeps only a few batches in flight (``in_flight_per_worker`` a worker) and yields them back in submission order, so
memory stays flat and the results file is the same as with the local engine.

A worker that dies (out of memory, a segfault) is restarted by its nanny, and the scheduler runs its task again;
a task that kills ``allowed-failures`` + 1 workers fails with ``KilledWorker`` (``ALLOWED_FAILURES`` on the local
cluster). Its batch is then audited one conversation per task, and a conversation that kills its workers alone is
its problem (``engines.died``); ``MAX_DEATHS_IN_A_ROW`` of them in a row stop the audit (``WorkersDiedError``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from auditor.batch.engines import (
    Audited,
    DeathsInARow,
    audit_batch,
    build_auditor,
    died,
    in_submission_order,
)
from auditor.conversation import Conversation
from auditor.settings import AuditorSettings
from auditor.sop_format import Sop

LOOPBACK = "127.0.0.1"
DEFAULT_WORKERS = 2
IN_FLIGHT_PER_WORKER = 2
ALLOWED_FAILURES = 1
"""Workers a task may kill on the local cluster before it fails with KilledWorker (Dask's default, 3, would load
the models again four times per bad conversation); a shared cluster keeps its own setting."""
AuditFunction = Callable[[Any, list[Conversation]], list[Audited]]


class DaskSetupError(RuntimeError):
    """The cluster could not be reached or its workers could not load the models."""


class AuditorPlugin(WorkerPlugin):
    """Builds the Auditor once per worker, when the plugin is registered, and frees it when removed."""

    idempotent = False

    def __init__(self, name: str, sop: Sop, settings: AuditorSettings):
        self.name = name
        self.sop = sop
        self.settings = settings
        self.auditor: Any = None
        self.notes: list[str] = []

    def setup(self, worker: Any) -> None:
        self.auditor, self.notes = build_auditor(self.sop, self.settings)

    def teardown(self, worker: Any) -> None:
        self.auditor = None


def audit_on_worker(
    plugin_name: str, conversations: list[Conversation], audit: AuditFunction = audit_batch
) -> list[Audited]:
    """The task each batch runs: audit it with this worker's models."""
    from distributed import get_worker

    plugin = get_worker().plugins[plugin_name]
    assert isinstance(plugin, AuditorPlugin)
    return audit(plugin.auditor, conversations)


class DaskEngine:
    """Audit batches on a Dask cluster; ``start`` connects (or starts a local one) and loads models on workers."""

    in_process = False

    def __init__(
        self, client: Any, cluster: Any, plugin_name: str, in_flight: int, audit: AuditFunction = audit_batch
    ):
        self.client = client
        self.cluster = cluster
        self.plugin_name = plugin_name
        self.in_flight = in_flight
        self.audit_function = audit
        """What a task runs on its batch (``audit_batch``; a test gives one that kills its worker)."""
        self._deaths = DeathsInARow()

    @classmethod
    def start(
        cls,
        sop: Sop,
        settings: AuditorSettings,
        *,
        scheduler: str | None = None,
        workers: int = DEFAULT_WORKERS,
        in_flight_per_worker: int = IN_FLIGHT_PER_WORKER,
        audit: AuditFunction = audit_batch,
    ) -> DaskEngine:
        """Connect to ``scheduler`` (e.g. ``tcp://host:8786``) or start ``LocalCluster`` with ``workers`` processes
        of one thread each, every socket on 127.0.0.1 and no dashboard; then load the models on every worker."""
        import dask
        from distributed import Client, LocalCluster

        cluster = None
        try:
            if scheduler is None:
                with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
                    cluster = LocalCluster(
                        host=LOOPBACK,
                        n_workers=workers,
                        threads_per_worker=1,
                        dashboard_address=None,
                        processes=True,
                    )
                client = Client(cluster)
            else:
                client = Client(scheduler, timeout="30s")
        except OSError as error:  # connection refused, timeouts
            if cluster is not None:
                cluster.close()
            where = scheduler or "of the local cluster"
            raise DaskSetupError(f"cannot reach the Dask scheduler {where}: {error}") from error
        name = f"sop-auditor-{sop.id}-{uuid.uuid4().hex[:8]}"
        try:
            client.register_plugin(AuditorPlugin(name, sop, settings), name=name)
        except Exception as error:  # noqa: BLE001 - a worker's setup failed: distributed re-raises its exception
            client.close()
            if cluster is not None:
                cluster.close()
            raise DaskSetupError(f"the Dask workers could not load the models: {error}") from error
        threads = sum(client.nthreads().values())
        return cls(client, cluster, name, max(2, in_flight_per_worker * max(threads, 1)), audit)

    @property
    def workers(self) -> int:
        return len(self.client.nthreads())

    def audit(self, batches: Iterable[list[Conversation]]) -> Iterator[tuple[list[Conversation], list[Audited]]]:
        return in_submission_order(batches, self._submit, self._collect, self.in_flight)

    def _submit(self, batch: list[Conversation]) -> tuple[list[Conversation], Any]:
        future = self.client.submit(audit_on_worker, self.plugin_name, batch, self.audit_function, pure=False)
        return batch, future

    def _collect(self, submitted: tuple[list[Conversation], Any], alone: bool = False) -> list[Audited]:
        """A batch's results, then its future released so the cluster can drop them; a batch that killed its
        workers is audited one conversation per task (``alone``, one after another), and one that kills its
        workers alone is its problem."""
        from distributed import KilledWorker

        batch, future = submitted
        try:
            audited: list[Audited] = future.result()
        except KilledWorker as error:
            future.release()
            if not alone:  # maybe only beside the culprit on a worker that died: each conversation again, alone
                alone_each = (self._collect(self._submit([conversation]), alone=True) for conversation in batch)
                return [record for records in alone_each for record in records]
            return [self._died(batch[0], error)]
        future.release()
        self._deaths.audited(audited)
        return audited

    def _died(self, conversation: Conversation, error: Exception) -> Audited:
        self._deaths.died(conversation, "Dask workers", cause=error)
        return died(conversation, "KilledWorker: its task killed every worker it ran on")

    def close(self) -> None:
        """Remove the models from the workers (a shared cluster keeps running) and stop a local cluster."""
        try:
            self.client.unregister_worker_plugin(self.plugin_name)
        except (OSError, TimeoutError, ValueError):  # best effort on the way out: the cluster may be gone already
            pass
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
