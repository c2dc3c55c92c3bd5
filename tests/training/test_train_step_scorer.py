"""`auditor train`: learn the step scorer from labelled transcripts, save it safely, load it back, use it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.tree import DecisionTreeClassifier
from typer.testing import CliRunner

from auditor.auditor import Auditor
from auditor.cli import app
from auditor.detection.scorers import choose_scorer
from auditor.detection.trained_scorer import ModelFileError, TrainedStepScorer
from auditor.model_files import STEP_SCORER
from auditor.sop.loading import resolve_sop
from auditor.training.manifest import ManifestError, load_manifest
from tests.conftest import REPO

runner = CliRunner()


def write_manifest(folder: Path, body: str) -> Path:
    path = folder / "training.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("train")
    manifest = write_manifest(
        folder,
        f"embedder: hashing\nsets:\n  - name: corpora\n    transcripts: [{REPO / 'corpora'}]"
        "\n    sop_field: sop_id\n  - name: absent\n    transcripts: [nowhere.jsonl]"
        "\n    sop_field: sop_id\n",
    )
    result = runner.invoke(app, ["train", "--manifest", str(manifest), "--out", str(folder / "model")])
    assert result.exit_code == 0, result.output
    assert "skipped set absent" in result.output
    return folder / "model"


def test_training_writes_model_metadata_and_a_card_with_held_out_metrics(trained):
    assert {p.name for p in trained.iterdir()} == {
        "step_scorer.skops",
        "step_scorer.skops.folded.json",
        "metadata.json",
        "model_card.md",
    }
    metadata = json.loads((trained / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["embedder"] == "hashing-ngrams"
    assert set(metadata["metrics"]["leave_one_sop_out"]) == {"examples", "description"}
    assert len(metadata["metrics"]["sops"]) == 4
    card = (trained / "model_card.md").read_text(encoding="utf-8")
    assert "Leave-one-SOP-out" in card and "corpora:general-inbound-call" in card


def test_saved_model_loads_and_drives_an_audit(trained, hashing_embedder, pipelines):
    scorer = choose_scorer("hashing-ngrams", str(trained))
    assert isinstance(scorer, TrainedStepScorer)
    auditor = Auditor(resolve_sop("general-inbound-call"), hashing_embedder, pipelines=pipelines, scorer=scorer)
    assert auditor.models["step_scorer"].startswith("trained-step-scorer@1")
    from tests.conftest import make_conversation

    result = auditor.audit(
        make_conversation(
            [
                ("agent", "Hello, you're through to Acme, my name is Jo."),
                ("customer", "Hi"),
                ("agent", "Goodbye, thanks for calling."),
            ]
        )
    )
    assert {s.step_id for s in result.steps} >= {"greet_with_name", "close_politely"}


def test_a_model_for_another_embedder_is_refused_when_asked_for(trained):
    with pytest.raises(ModelFileError, match="trained with embedder 'hashing-ngrams'"):
        choose_scorer("use-multilingual-v3", str(trained))


def test_a_model_file_with_untrusted_types_is_refused(trained, tmp_path):
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "metadata.json").write_text((trained / "metadata.json").read_text(encoding="utf-8"), encoding="utf-8")
    tree = DecisionTreeClassifier().fit(np.zeros((4, 12)), [0, 1, 0, 1])
    skops.io.dump(tree, forged / STEP_SCORER.model_file)
    with pytest.raises(ModelFileError, match="untrusted types"):
        TrainedStepScorer.load(forged)


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelFileError, match="made by `auditor train`"):
        TrainedStepScorer.load(tmp_path)


def test_linear_calibration_can_be_chosen_explicitly():
    assert choose_scorer("use-multilingual-v3", "linear").name == "linear-calibration"


@pytest.mark.parametrize(
    "body, message",
    [
        ("sets: []\n", "sets"),
        ("sets:\n  - {name: x, transcripts: [a.jsonl]}\n", "exactly one of sop, sop_field"),
        ("sets:\n  - {name: x, transcripts: [a.jsonl], sop_field: s, colour: red}\n", "colour"),
    ],
)
def test_bad_manifest_names_the_problem(tmp_path, body, message):
    with pytest.raises(ManifestError, match=message):
        load_manifest(write_manifest(tmp_path, body))


def test_shipped_model_card_and_metadata_agree():
    folder = REPO / "auditor" / "models" / "step-scorer"
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    card = (folder / "model_card.md").read_text(encoding="utf-8")
    assert metadata["embedder"] in card and str(metadata["threshold"]) in card
    assert TrainedStepScorer.load(folder).metadata.feature_names == metadata["feature_names"]
