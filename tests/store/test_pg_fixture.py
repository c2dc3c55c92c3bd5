"""The PostgreSQL fixture installs the server on a clean machine instead of skipping (tests/pg.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import pg


def test_a_missing_server_is_installed_with_apt_not_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    installed: list[tuple[str, ...]] = []
    folder = tmp_path / "postgresql" / "15" / "bin"

    def apt_install(*packages: str) -> None:  # what apt-get install postgresql leaves behind
        installed.append(packages)
        folder.mkdir(parents=True)
        (folder / "initdb").touch()

    monkeypatch.setattr(pg, "BIN", folder)
    monkeypatch.setattr(pg, "apt_install", apt_install)
    assert pg.ensure_postgres() == folder
    assert installed == [("postgresql",)]
    assert pg.ensure_postgres() == folder and len(installed) == 1  # installed once
