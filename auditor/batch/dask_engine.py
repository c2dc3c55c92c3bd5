"""Audit batches on Dask distributed: a local cluster on loopback by default, or an existing one by address.

Each worker builds the models once, in a worker plugin (``AuditorPlugin``), and keeps them for every batch it is
given; a batch travels to a worker as a list of conversations and comes back as ``Audited`` records. The driver
keeps only a few batches in flight (``in_flight_per_worker`` a worker) and yields them back in submission order, so
memory stays flat and the results file is the same as with the local engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from auditor.batch.engines import Audited, ModelSpec, audit_batch, build_auditor, in_submission_order
from auditor.sop.schema import Sop
from auditor.transcripts.conversation import Conversation

LOOPBACK = "127.0.0.1"
DEFAULT_WORKERS = 2
IN_FLIGHT_PER_WORKER = 2


class DaskSetupError(RuntimeError):
    """The cluster could not be reached or its workers could not load the models."""


class AuditorPlugin(WorkerPlugin):
    """Builds the Auditor once per worker, when the plugin is registered, and frees it when removed."""

    idempotent = False

    def __init__(self, name: str, sop: Sop, spec: ModelSpec):
        self.name = name
        self.sop = sop
        self.spec = spec
        self.auditor: Any = None
        self.notes: list[str] = []

    def setup(self, worker: Any) -> None:
        self.auditor, self.notes = build_auditor(self.sop, self.spec)

    def teardown(self, worker: Any) -> None:
        self.auditor = None


def audit_on_worker(plugin_name: str, conversations: list[Conversation]) -> list[Audited]:
    """The task each batch runs: audit it with this worker's models."""
    from distributed import get_worker

    plugin = get_worker().plugins[plugin_name]
    assert isinstance(plugin, AuditorPlugin)
    return audit_batch(plugin.auditor, conversations)


def _collect(future: Any) -> list[Audited]:
    """A batch's results, then its future released so the cluster can drop them."""
    audited: list[Audited] = future.result()
    future.release()
    return audited


class DaskEngine:
    """Audit batches on a Dask cluster; ``start`` connects (or starts a local one) and loads models on workers."""

    in_process = False

    def __init__(self, client: Any, cluster: Any, plugin_name: str, in_flight: int):
        self.client = client
        self.cluster = cluster
        self.plugin_name = plugin_name
        self.in_flight = in_flight

    @classmethod
    def start(
        cls,
        sop: Sop,
        spec: ModelSpec,
        *,
        scheduler: str | None = None,
        workers: int = DEFAULT_WORKERS,
        in_flight_per_worker: int = IN_FLIGHT_PER_WORKER,
    ) -> DaskEngine:
        """Connect to ``scheduler`` (e.g. ``tcp://host:8786``) or start ``LocalCluster`` with ``workers`` processes
        of one thread each, every socket on 127.0.0.1 and no dashboard; then load the models on every worker."""
        from distributed import Client, LocalCluster

        cluster = None
        try:
            if scheduler is None:
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
            client.register_plugin(AuditorPlugin(name, sop, spec), name=name)
        except Exception as error:  # noqa: BLE001 - a worker's setup failed: distributed re-raises its exception
            client.close()
            if cluster is not None:
                cluster.close()
            raise DaskSetupError(f"the Dask workers could not load the models: {error}") from error
        threads = sum(client.nthreads().values())
        return cls(client, cluster, name, max(2, in_flight_per_worker * max(threads, 1)))

    @property
    def workers(self) -> int:
        return len(self.client.nthreads())

    def audit(self, batches: Iterable[list[Conversation]]) -> Iterator[tuple[list[Conversation], list[Audited]]]:
        submit = partial(self.client.submit, audit_on_worker, self.plugin_name, pure=False)
        return in_submission_order(batches, submit, _collect, self.in_flight)

    def close(self) -> None:
        """Remove the models from the workers (a shared cluster keeps running) and stop a local cluster."""
        try:
            self.client.unregister_worker_plugin(self.plugin_name)
        except (OSError, TimeoutError, ValueError):  # best effort on the way out: the cluster may be gone already
            pass
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
