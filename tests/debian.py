"""Debian packages the tests need (chromium, fonts, PostgreSQL): installed with apt-get when missing, never skipped."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def apt_install(*packages: str) -> None:
    """Install Debian packages (as the CI machine's root); fail the test with apt's own message when that fails."""
    if shutil.which("apt-get") is None:
        pytest.fail(f"{' '.join(packages)} missing and no apt-get to install them: install them first")
    environment = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
