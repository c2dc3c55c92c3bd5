"""A throwaway PostgreSQL 15 for tests: Debian's ``postgresql`` package (installed with apt-get when missing, the way
the browser tests install chromium), a cluster in a temporary folder listening only on a Unix socket.

``tests/conftest.py`` exposes it as the session fixture ``postgres`` (a ``PostgresCluster``); ``cluster.database()``
makes a fresh empty database and returns its SQLAlchemy URL, so each test (store, API, schemathesis) starts clean.
A missing server never skips a test: it is installed, or the test fails saying why.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.debian import apt_install

BIN = Path("/usr/lib/postgresql/15/bin")


def ensure_postgres() -> Path:
    """The PostgreSQL 15 binaries folder, installing Debian's ``postgresql`` package when ``initdb`` is missing."""
    if not (BIN / "initdb").exists():
        apt_install("postgresql")
    if not (BIN / "initdb").exists():
        pytest.fail(f"apt-get installed postgresql but {BIN / 'initdb'} is missing (not PostgreSQL 15?)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.fail("running as root needs runuser (util-linux) to start PostgreSQL as the postgres user")
    return BIN


def _as_postgres(command: list[str]) -> subprocess.CompletedProcess[str]:
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # initdb refuses to run as root
    return subprocess.run(runner + command, capture_output=True, text=True, timeout=120)


class PostgresCluster:
    """A running throwaway cluster; ``database()`` creates a new database in it and returns its URL."""

    def __init__(self, socket: Path):
        self.socket = socket
        self._names = itertools.count(1)

    def database(self, prefix: str = "test") -> str:
        name = f"{prefix}_{next(self._names)}"
        created = _as_postgres([str(BIN / "createdb"), "-h", str(self.socket), "-U", "postgres", name])
        if created.returncode != 0:
            pytest.fail(f"createdb {name} failed: {created.stderr[-500:]}")
        return f"postgresql+psycopg://postgres@/{name}?host={self.socket}"


@contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    """Start a cluster (installing PostgreSQL first when needed); stopped and deleted on exit."""
    ensure_postgres()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("psycopg is missing: it is a pinned dev dependency (pip install -e '.[dev]')")
    folder = Path(tempfile.mkdtemp(prefix="auditor-pg-"))
    os.chmod(folder, 0o777)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    done = _as_postgres([str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"initdb failed: {done.stderr[-500:]}")
    options = f"-c listen_addresses='' -c unix_socket_directories={folder} -c fsync=off -c max_connections=200"
    log = folder / "server.log"
    started = _as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"])
    if started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed: {started.stderr[-500:]}")
    try:
        yield PostgresCluster(folder)
    finally:
        _as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(folder, ignore_errors=True)
