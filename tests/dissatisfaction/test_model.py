"""The dissatisfaction scorer: trained from a plan, saved with skops, loaded back safely, filling the result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from auditor.dissatisfaction.model import DissatisfactionModelError, DissatisfactionScorer
from auditor.dissatisfaction.training import (
    TrainingPlanError,
    is_held_out,
    load_plan,
    model_card,
    rating_share,
    soft_logistic,
    train_dissatisfaction,
)
from auditor.model_files import DISSATISFACTION
from auditor.result import Dissatisfaction
from auditor.text.artifacts import ArtifactBuilder
from tests.conftest import REPO, make_conversation

SEEDS = REPO / "training" / "dissatisfaction-seeds.yaml"
ANGRY = [
    "This is the third time I'm asking, where is my refund?",
    "Still nothing. This is ridiculous, I want your manager.",
    "I'm cancelling my account, you are useless.",
]
CALM = ["I'd like to book a table for two tonight.", "Seven o'clock please.", "Great, thank you, goodbye."]
AGENT = ["How can I help?", "Let me check that for you.", "Is there anything else?"]


def synthetic_record(number: int) -> dict:
    """A short dialogue; every other one is angry (rated 1-2), the rest calm (rated 3-4), with each of three
    annotators' ratings of every customer turn and of the whole dialogue."""
    angry = number % 2 == 0
    turns = []
    for agent, customer in zip(AGENT, ANGRY if angry else CALM, strict=True):
        turns.append({"speaker": "agent", "text": f"{agent} ({number})"})
        rating = (1 if number % 4 == 0 else 2) if angry else 3 + number % 2
        ratings = [rating, rating, 3 if angry else rating]
        turns.append({"speaker": "customer", "text": customer, "satisfaction": rating, "ratings": ratings})
    overall = [2, 2, 3] if angry else [3, 4, 3]
    return {"id": f"syn-{number}", "lang": "en", "turns": turns, "dissatisfied": angry, "overall_ratings": overall}


def write_plan(folder: Path, body: str) -> Path:
    path = folder / "training.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, hashing_embedder) -> tuple[Path, DissatisfactionScorer]:
    folder = tmp_path_factory.mktemp("dissatisfaction")
    data = folder / "synthetic.jsonl"
    data.write_text("\n".join(json.dumps(synthetic_record(n)) for n in range(60)) + "\n", encoding="utf-8")
    plan = load_plan(
        write_plan(
            folder,
            f"embedder: hashing\nseeds: {SEEDS}\nsets:\n  - name: synthetic\n    transcripts: {data}\n"
            "    turn_label: satisfaction\n    turn_ratings: ratings\n    conversation_ratings: overall_ratings\n"
            "  - name: absent\n    transcripts: nowhere.jsonl\n    conversation_label: dissatisfied\n",
        )
    )
    scorer = train_dissatisfaction(plan, hashing_embedder)
    scorer.save(folder / "model", model_card(scorer, plan.text))
    return folder / "model", scorer


@pytest.fixture(scope="module")
def builder(hashing_embedder, pipelines) -> ArtifactBuilder:
    return ArtifactBuilder(hashing_embedder, pipelines)


ANGRY_CALL = make_conversation(
    [
        ("agent", "Hello, how can I help?"),
        ("customer", "Where is my refund? I asked last week."),
        ("agent", "I'm sorry about that, let me check."),
        ("system", "hold started"),
        ("customer", "This is the third time I'm asking, where is my refund? I want your manager!!!"),
    ]
)


def test_training_writes_model_metadata_and_card(trained):
    folder, scorer = trained
    assert {p.name for p in folder.iterdir()} == {
        "dissatisfaction.skops",
        "dissatisfaction.skops.folded.json",
        "metadata.json",
        "model_card.md",
    }
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["embedder"] == "hashing-ngrams"
    assert metadata["metrics"]["skipped_sets"] == ["absent"]
    assert metadata["metrics"]["turn_model"]["soft_targets"] is True
    angry = sum(1 for n in range(0, 60, 2) if not is_held_out(f"syn-{n}"))
    assert metadata["metrics"]["conversation_model"]["dissatisfied"] == angry  # two of three annotators rated <= 2
    assert 0 < metadata["threshold"] < 1
    card = (folder / "model_card.md").read_text(encoding="utf-8")
    assert "Flag threshold" in card and "STC-3 is never used for training" in card


def test_round_trip_gives_the_same_scores(trained, builder):
    folder, scorer = trained
    loaded = DissatisfactionScorer.load(folder)
    artifacts = builder.build(ANGRY_CALL)
    assert loaded.score(artifacts).block == scorer.score(artifacts).block


def test_outcome_fills_the_result_block_with_signals_trajectory_and_features(trained, builder):
    _, scorer = trained
    outcome = scorer.score(builder.build(ANGRY_CALL))
    assert isinstance(outcome.block, Dissatisfaction)
    assert 0 <= outcome.block.score <= 1
    by_turn = {t.turn_index: t for t in outcome.block.turns}
    assert set(by_turn) == {1, 3, 4}
    assert {"escalation", "frustration", "repetition"} <= set(by_turn[4].signals)
    said = by_turn[4].evidence or {}
    assert list(said) == by_turn[4].signals and said["repetition"].startswith("cosine")  # what fired each signal
    assert by_turn[3].evidence is not None and set(by_turn[3].evidence) == {"hold"}  # the hold event's text
    assert by_turn[3].signals == ["hold"] and by_turn[3].score == by_turn[1].score
    assert outcome.trajectory.pivot_turn is None or outcome.trajectory.pivot_turn == 2
    assert outcome.features["dissatisfaction.escalations"] > 0
    assert outcome.features["dissatisfaction.holds"] > 0
    calm = scorer.score(builder.build(make_conversation([("agent", "Hi"), ("customer", "Great, thank you, goodbye.")])))
    assert calm.block.score < outcome.block.score
    assert scorer.models["dissatisfaction"].startswith("dissatisfaction-scorer@3")
    assert "repetition-semantic@1" in scorer.models["dissatisfaction_signals"]


def test_a_model_file_with_untrusted_types_is_refused(trained, tmp_path):
    folder, _ = trained
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "metadata.json").write_text((folder / "metadata.json").read_text(encoding="utf-8"), encoding="utf-8")
    tree = DecisionTreeClassifier().fit(np.zeros((4, 3)), [0, 1, 0, 1])
    skops.io.dump({"negativity": tree, "turn": tree, "conversation": tree}, forged / DISSATISFACTION.model_file)
    with pytest.raises(DissatisfactionModelError, match="untrusted types"):
        DissatisfactionScorer.load(forged)


def test_missing_folder_and_wrong_embedder_are_clear_errors(trained, tmp_path):
    with pytest.raises(DissatisfactionModelError, match="made by auditor train-dissatisfaction"):
        DissatisfactionScorer.load(tmp_path)
    with pytest.raises(DissatisfactionModelError, match="trained with embedder 'hashing-ngrams'"):
        trained[1].check_embedder("use-multilingual-v3")


def test_stc3_is_refused_as_training_data(tmp_path):
    body = f"seeds: {SEEDS}\nsets:\n  - name: x\n    transcripts: stc3_zh_dev.jsonl\n    conversation_label: d\n"
    with pytest.raises(TrainingPlanError, match="evaluation only"):
        load_plan(write_plan(tmp_path, body))


def test_ratings_need_their_majority_label_and_conversation_ratings_are_a_label(tmp_path):
    entry = "  - name: x\n    transcripts: x.jsonl\n    turn_ratings: r\n    conversation_label: d\n"
    body = f"seeds: {SEEDS}\nsets:\n{entry}"
    with pytest.raises(TrainingPlanError, match="turn_ratings: needs turn_label"):
        load_plan(write_plan(tmp_path, body))
    body = f"seeds: {SEEDS}\nsets:\n  - name: x\n    transcripts: x.jsonl\n    conversation_ratings: overall\n"
    assert load_plan(write_plan(tmp_path, body)).sets[0].conversation_ratings == "overall"


def test_rating_share_and_soft_logistic():
    assert rating_share([2, 3, 2, 4], 2) == 0.5
    assert rating_share([], 2) is None and rating_share(None, 2) is None and rating_share([True], 2) is None
    rows = np.random.RandomState(0).normal(size=(40, 3))
    labels = rows[:, 0] + 0.5 * np.random.RandomState(1).normal(size=40) > 0
    plain = LogisticRegression(C=1.0, max_iter=5000).fit(rows, labels)
    soft = soft_logistic(rows, labels.astype(float), c=1.0)
    assert np.allclose(plain.coef_, soft.coef_, atol=1e-4)
    halves = soft_logistic(rows, np.where(labels, 0.9, 0.1), c=1.0)
    assert np.all(np.abs(halves.coef_) < np.abs(soft.coef_))  # less sure targets, smaller weights


def test_held_out_fold_is_stable_and_about_a_fifth():
    ids = [f"uss_mwoz_{n:04d}" for n in range(1000)]
    held = [i for i in ids if is_held_out(i)]
    assert held == [i for i in ids if is_held_out(i)]
    assert 150 < len(held) < 250


def test_shipped_model_card_and_metadata_agree():
    folder = REPO / "auditor" / "models" / "dissatisfaction"
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    card = (folder / "model_card.md").read_text(encoding="utf-8")
    assert metadata["embedder"] in card and f"Flag threshold {metadata['threshold']}" in card
    assert "stc3" not in (REPO / "training" / "dissatisfaction.yaml").read_text(encoding="utf-8").lower()
    assert DissatisfactionScorer.load(folder).metadata.threshold == metadata["threshold"]


def test_conversations_without_customer_turns_still_score(trained, builder):
    _, scorer = trained
    outcome = scorer.score(builder.build(make_conversation([("agent", "Hello?"), ("system", "hold started")])))
    assert 0 <= outcome.block.score <= 1
    assert outcome.trajectory.kind == "flat" and outcome.trajectory.curve == []
    assert [t.signals for t in outcome.block.turns] == [["hold"]]


def test_a_turns_plain_reading_is_cut_for_a_calm_decline_and_raised_by_named_phrases(builder):
    from auditor.dissatisfaction.features import ALERT_DECLINE_FACTOR, turn_alerts
    from auditor.dissatisfaction.signals import SignalContext, SignalHit

    call = make_conversation(
        [("agent", "Text alerts?"), ("customer", "不用了，谢谢"), ("agent", "OK."), ("customer", "I want to close it")]
    )
    context = SignalContext.build(builder.build(call), {1: 0.8, 3: 0.3})
    plain = turn_alerts(context, [], [1, 3])
    assert plain[0] == pytest.approx(0.8 * ALERT_DECLINE_FACTOR) and plain[1] == pytest.approx(0.3)
    churn = SignalHit(3, "churn", 1.0, "churn-phrases@2", "close it")
    raised = turn_alerts(context, [churn], [1, 3])
    assert raised[1] > 0.8 and raised[0] == plain[0]
