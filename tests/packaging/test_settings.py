"""One settings object for the library: AUDITOR_* variables, the CLI's options over them, folders of SOPs and models
that override the shipped ones, and a missing model that is an error naming its path, never a silent fallback."""

from __future__ import annotations

import pickle
import shutil

import pytest
from typer.testing import CliRunner

from auditor.api.settings import Settings
from auditor.batch.engines import BATCH_CACHE_ENTRIES, batch_settings
from auditor.cli import app
from auditor.detection.scorers import choose_scorer
from auditor.model_files import MODEL_KINDS, STEP_SCORER, ModelFileError
from auditor.resources import MODELS_DIR, RULES_DIR
from auditor.settings import AuditorSettings
from tests.conftest import REPO

runner = CliRunner()
CORPUS = REPO / "corpora" / "en" / "general-inbound-call.jsonl"


def test_the_api_settings_extend_the_library_settings_and_both_pickle(monkeypatch):
    monkeypatch.setenv("AUDITOR_ACCURACY", "Best")
    monkeypatch.setenv("AUDITOR_MODELS_DIR", "/somewhere/models")
    settings = Settings(auth_disabled=True)
    assert isinstance(settings, AuditorSettings)
    assert settings.accuracy == "best" and str(settings.models_dir) == "/somewhere/models"
    assert pickle.loads(pickle.dumps(settings)) == settings
    batch = batch_settings(embedder="hashing")
    assert batch.embedder_threads == 1 and batch.cache_entries == BATCH_CACHE_ENTRIES
    assert pickle.loads(pickle.dumps(batch)) == batch


def test_unset_folders_are_the_shipped_ones(monkeypatch):
    monkeypatch.delenv("AUDITOR_RULES_DIR", raising=False)
    monkeypatch.delenv("AUDITOR_MODELS_DIR", raising=False)
    settings = AuditorSettings()
    assert settings.rules_folder() == RULES_DIR and settings.models_folder() == MODELS_DIR
    for kind in MODEL_KINDS:
        assert kind.present(settings.model_folder(kind)), f"shipped {kind.name} model missing"


def test_a_missing_step_scorer_is_an_error_naming_its_path(tmp_path):
    with pytest.raises(ModelFileError, match=str(tmp_path / STEP_SCORER.folder_name)):
        choose_scorer("hashing-ngrams", None, tmp_path)
    assert choose_scorer("hashing-ngrams", "linear", tmp_path).name == "linear-calibration"
    # an embedder with no trained model keeps the documented fitted calibration
    assert choose_scorer("hashing-ngrams").name == "linear-calibration"


def test_an_empty_models_dir_stops_the_audit_naming_the_path(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("AUDITOR_MODELS_DIR", str(models))
    args = [str(CORPUS), "--sop", "general-inbound-call", "--out", str(tmp_path / "out"), "--embedder", "hashing"]
    result = runner.invoke(app, ["audit", *args])
    assert result.exit_code == 2, result.output
    assert "model unavailable" in result.output and "AUDITOR_MODELS_DIR" in result.output
    flat = "".join(result.output.split())  # the console wraps long paths
    assert str(models / STEP_SCORER.folder_name) in flat


def test_a_models_dir_copy_audits_like_the_shipped_models(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models, ignore=shutil.ignore_patterns("__pycache__"))
    outs = []
    for extra in ([], ["--models-dir", str(models)]):
        out = tmp_path / f"out{len(outs)}"
        args = [str(CORPUS), "--sop", "general-inbound-call", "--out", str(out), "--embedder", "hashing", *extra]
        result = runner.invoke(app, ["audit", *args])
        assert result.exit_code == 0, result.output
        outs.append((out / "results.jsonl").read_bytes())
    assert outs[0] == outs[1]


def test_rules_dir_replaces_the_built_in_sops(tmp_path, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy2(RULES_DIR / "complaint-handling.yaml", rules / "complaint-handling.yaml")
    monkeypatch.setenv("AUDITOR_RULES_DIR", str(rules))
    listed = runner.invoke(app, ["sops"])
    assert listed.exit_code == 0, listed.output
    assert "complaint-handling" in listed.output and "general-inbound-call" not in listed.output
