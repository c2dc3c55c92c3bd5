"""The built wheel carries everything an audit needs: installed into a clean virtual environment (no checkout on
its path), run from another folder, it lists the built-in SOPs and audits with the shipped models exactly as the
checkout does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpora" / "en" / "general-inbound-call.jsonl"
SOP = "general-inbound-call"


def _run(command: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if name not in {"PYTHONPATH", "PYTHONHOME"}}
    environment = {name: value for name, value in environment.items() if not name.startswith("AUDITOR_")}
    environment |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONNOUSERSITE": "1"}
    result = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a clean copy of the sources (no stale build/ folder, no caches)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "auditor", source / "auditor", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    # no build isolation: the build backend (setuptools) comes from this environment, so no network is needed
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)]
    _run(build, dist)
    (built,) = dist.glob("sop_auditor-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh virtual environment with the wheel installed; its dependencies come from this
    environment's site-packages through a .pth path line, which adds the folder without running that folder's own
    .pth files, so the checkout's editable install is not on its path."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], venv)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], venv)
    where = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], venv).stdout
    site = Path(where.strip())
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


def test_every_package_data_pattern_lands_in_the_wheel(wheel: Path):
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]
    names = set(zipfile.ZipFile(wheel).namelist())
    for package, globs in patterns.items():
        folder = REPO.joinpath(*package.split("."))
        for pattern in globs:
            expected = [p for p in folder.glob(pattern) if p.is_file() and "__pycache__" not in p.parts]
            assert expected, f"{package}: {pattern} matches nothing in the checkout"
            missing = [str(p.relative_to(REPO)) for p in expected if str(p.relative_to(REPO)) not in names]
            assert not missing, f"{package}: {pattern}: not in the wheel: {missing}"
    for must in ("auditor/checklist/uncertain_bands.json", "auditor/models/step-scorer/step_scorer.skops"):
        assert must in names


def test_the_installed_wheel_lists_the_sops_and_audits_as_the_checkout_does(installed: Path, tmp_path: Path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run([str(installed), "-c", "import auditor; print(auditor.__file__)"], work).stdout.strip()
    assert Path(where).is_relative_to(installed.parent.parent), f"auditor imported from {where}, not the new venv"
    assert not Path(where).is_relative_to(REPO)

    listed = _run([str(installed), "-m", "auditor.cli", "sops"], work).stdout
    for rules in sorted((REPO / "auditor" / "rules").glob("*.yaml")):
        assert rules.stem in listed, f"built-in SOP {rules.stem} not listed by the installed package"

    shutil.copy2(CORPUS, work / CORPUS.name)
    _run([str(installed), "-m", "auditor.cli", "audit", CORPUS.name, "--sop", SOP, "--out", "out"], work)
    installed_lines = (work / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    models = json.loads(installed_lines[0])["models"]
    assert models["step_scorer"].startswith("trained-step-scorer@"), models
    assert "act-model@" in models["detectors"], models
    assert "dissatisfaction" in models and "anomaly" in models, models

    checkout = tmp_path / "checkout"  # the same audit by the checkout (this environment), the same relative path
    checkout.mkdir()
    shutil.copy2(CORPUS, checkout / CORPUS.name)
    _run([sys.executable, "-m", "auditor.cli", "audit", CORPUS.name, "--sop", SOP, "--out", "out"], checkout)
    checkout_lines = (checkout / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(checkout_lines[0])["models"] == models
    assert installed_lines == checkout_lines, "the installed wheel audits differently from the checkout"
