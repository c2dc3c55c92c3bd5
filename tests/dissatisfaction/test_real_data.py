"""The shipped dissatisfaction model on real conversations it never trained on (STC-3, held-out USS turns)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from auditor.dissatisfaction.model import DissatisfactionScorer
from auditor.dissatisfaction.training import is_held_out
from auditor.embeddings.provider import make_embedder
from auditor.text.artifacts import ArtifactBuilder
from auditor.transcripts.loaders import load_file
from bench.dissatisfaction_accuracy import rated_turn_scores
from tests.conftest import EXTERNAL

pytestmark = pytest.mark.slow
LIMIT = 400

if not (EXTERNAL / "stc3_en_dev.jsonl").exists():
    pytest.skip(
        f"external data not found at {EXTERNAL} (see ../shared/data/external/README.md)", allow_module_level=True
    )


@pytest.fixture(scope="module")
def scorer_and_builder() -> tuple[DissatisfactionScorer, ArtifactBuilder]:
    embedder = make_embedder("use-m")
    scorer = DissatisfactionScorer.load()
    scorer.check_embedder(embedder.name)
    return scorer, ArtifactBuilder(embedder)


@pytest.mark.parametrize("name, floor", [("stc3_en_dev", 0.86), ("stc3_zh_dev", 0.80)])
def test_cross_domain_conversation_auroc_on_stc3(scorer_and_builder, name, floor):
    scorer, builder = scorer_and_builder
    conversations = load_file(EXTERNAL / f"{name}.jsonl").conversations[:LIMIT]
    outcomes = scorer.score_many(builder.build_many(conversations))
    labels = [bool(c.metadata["dissatisfied"]) for c in conversations]
    assert roc_auc_score(labels, [o.block.score for o in outcomes]) >= floor
    flagged = np.asarray([o.block.flagged for o in outcomes])
    assert np.asarray(labels)[flagged].mean() > np.mean(labels)


def test_turn_auroc_on_held_out_uss_turns(scorer_and_builder):
    scorer, builder = scorer_and_builder
    conversations = [c for c in load_file(EXTERNAL / "uss_mwoz.jsonl").conversations if is_held_out(c.id)][:120]
    labels, scores, _ = rated_turn_scores(conversations, scorer.score_many(builder.build_many(conversations)))
    assert roc_auc_score(labels, scores) >= 0.80
