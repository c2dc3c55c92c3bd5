"""The learned act check: saved and loaded safely, and a turn it reads as mere talk leaves the step to a person."""

from __future__ import annotations

import numpy as np
import pytest

from auditor.auditor import Auditor
from auditor.detection.act_model import ActModel, fit_act_model, load_act_model
from auditor.detection.calibration import SemanticCalibration
from auditor.model_files import ModelFileError
from auditor.sop.loading import sop_from_mapping
from tests.conftest import make_conversation

NO_SEMANTIC = SemanticCalibration("off", 0.0, 1.0, 0.0, 0.0, threshold=1.01, done_threshold=0.9)

TALK = [
    "refunds usually take five days",
    "some customers set up alerts in the app",
    "the policy normally covers that",
    "cards usually get blocked in cases like this",
]
DOING = ["i have refunded the order", "your alerts are set up now", "done, the card is blocked", "i blocked the card"]


@pytest.fixture(scope="module")
def model(hashing_embedder) -> ActModel:
    texts = TALK * 5 + DOING * 5
    labels = ["mentioned"] * len(TALK) * 5 + ["performed"] * len(DOING) * 5
    vectors = hashing_embedder.encode(texts)
    return fit_act_model(vectors, labels, embedder=hashing_embedder.name, threshold=0.5, trained_on="test", created="x")


def test_model_separates_talk_from_doing(model, hashing_embedder):
    texts = ["cards usually get blocked in cases like this", "i blocked the card"]
    p = model.probabilities(hashing_embedder.encode(texts))
    assert p[0] > 0.5 > p[1]


def test_saved_model_loads_with_the_same_numbers_and_only_for_its_embedder(model, hashing_embedder, tmp_path):
    model.save(tmp_path, "# card\n")
    loaded = load_act_model(hashing_embedder.name, tmp_path)
    assert loaded is not None
    vectors = hashing_embedder.encode(TALK + DOING)
    assert np.allclose(loaded.probabilities(vectors), model.probabilities(vectors))
    assert load_act_model("another-embedder", tmp_path) is None
    with pytest.raises(ModelFileError, match="missing"):
        load_act_model(hashing_embedder.name, tmp_path / "missing")  # a missing model is an error, never skipped


def test_a_turn_the_model_reads_as_talk_leaves_the_step_uncertain(model, hashing_embedder, pipelines):
    sop = sop_from_mapping(
        {"id": "t", "name": "T", "steps": [{"id": "block_card", "name": "Block the card", "keywords": ["blocked"]}]}
    )
    learned = Auditor(sop, hashing_embedder, pipelines=pipelines, scorer=NO_SEMANTIC, act_model=model)
    cues_only = Auditor(sop, hashing_embedder, pipelines=pipelines, scorer=NO_SEMANTIC, learned_acts=False)
    talk = make_conversation([("agent", "cards usually get blocked in cases like this")])
    step = learned.audit(talk).step("block_card")
    assert step.status == "uncertain" and step.evidence[0].act == "mentioned"
    assert "act model" in (step.evidence[0].act_reason or "")
    assert cues_only.audit(talk).step("block_card").status == "done", "without the model only the cues decide"
    doing = make_conversation([("agent", "done, the card is blocked")])
    assert learned.audit(doing).step("block_card").status == "done"
    assert "act-model@1" in learned.models["detectors"]
