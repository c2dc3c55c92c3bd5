"""Where the shipped SOPs and models are: package data of ``auditor``, found through ``importlib.resources``.

They travel inside the package (``auditor/rules``, ``auditor/models``), so an installed wheel audits exactly as a
checkout does.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _packaged(name: str) -> Path:
    return Path(str(files("auditor").joinpath(name)))


RULES_DIR = _packaged("rules")
"""The built-in SOPs (``auditor sops``)."""
MODELS_DIR = _packaged("models")
"""The shipped models, one folder per kind."""
