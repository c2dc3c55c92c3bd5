"""Where the shipped SOPs and models are: package data of ``auditor``, found through ``importlib.resources``.

They travel inside the package (``auditor/rules``, ``auditor/models``), so an installed wheel audits exactly as a
checkout does. ``AuditorSettings.rules_dir`` / ``models_dir`` (``AUDITOR_RULES_DIR`` / ``AUDITOR_MODELS_DIR``) point an
audit at other folders; each kind of model folder is described in ``auditor.model_files.MODEL_KINDS``.
"""

from __future__ import annotations

import os
import tempfile
from importlib.resources import files
from pathlib import Path


def _packaged(name: str) -> Path:
    return Path(str(files("auditor").joinpath(name)))


RULES_DIR = _packaged("rules")
"""The built-in SOPs (``auditor sops``)."""
MODELS_DIR = _packaged("models")
"""The shipped models, one folder per kind."""
CACHE_DIR_ENV = "AUDITOR_CACHE_DIR"


def cache_dir() -> str:
    """Where jieba keeps its dictionary cache: ``AUDITOR_CACHE_DIR``, else the system's temporary folder.

    The one read of that variable. It happens where jieba is first loaded (the Chinese text pipeline and name
    redaction), which sits below the settings layer and runs for commands that build no settings (e.g. SOP
    linting), so it is not an ``AuditorSettings`` field; docs/settings.md lists it beside them."""
    return os.environ.get(CACHE_DIR_ENV) or tempfile.gettempdir()
