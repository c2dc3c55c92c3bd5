"""The shipped dissatisfaction model hears an angry customer turn by turn, in three scripts, and leaves calm declines
alone (the project's held-out turn set, bench/dissatisfaction_turns_data/test, never trained on)."""

from __future__ import annotations

import pytest
from sklearn.metrics import roc_auc_score

from auditor.conversation import Conversation, Role, Turn
from auditor.dissatisfaction.model import DissatisfactionScorer
from auditor.embeddings.provider import make_embedder
from auditor.live.progress import RISING_TURN_SCORE
from auditor.result import TurnSignal
from auditor.text.artifacts import ArtifactBuilder
from bench.dissatisfaction_turns import CUSTOMER_SIGNALS, SCRIPTS, conversation, load_entries

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scorer_and_builder() -> tuple[DissatisfactionScorer, ArtifactBuilder]:
    embedder = make_embedder("use-m")
    return DissatisfactionScorer.load(), ArtifactBuilder(embedder)


def customer_turn(scorer_and_builder, agent: str, customer: str) -> TurnSignal:
    scorer, builder = scorer_and_builder
    call = Conversation("c", [Turn(0, "agent", Role.AGENT, agent), Turn(1, "customer", Role.CUSTOMER, customer)])
    return next(t for t in scorer.score(builder.build(call)).block.turns if t.turn_index == 1)


@pytest.mark.parametrize(
    "customer, signal",
    [
        ("我的卡被人盗刷了三千多块！你们怎么搞的！", "complaint"),
        ("Someone just stole three thousand dollars off my card! How did you people let this happen?", "complaint"),
        ("I'm done with this bank, I want to close every account today", "churn"),
        ("這已經是我第三次打來了，你們到底有沒有在處理", "frustration"),
        ("我要向银保监会投诉你们", "escalation"),
    ],
)
def test_plain_anger_and_churn_score_high_on_their_own_turn(scorer_and_builder, customer, signal):
    turn = customer_turn(scorer_and_builder, "How can I help you?", customer)
    assert turn.score >= RISING_TURN_SCORE, (customer, turn)
    assert signal in turn.signals


@pytest.mark.parametrize(
    "agent, customer",
    [
        ("要不要帮您开通短信提醒？", "不用了，短信提醒我不需要。"),
        ("要不要帮您办理分期？", "暂时不用，以后再说吧"),
        ("Would you like travel insurance with that?", "No thanks, not right now."),
        ("請問要幫您加辦附卡嗎？", "先不用喔，謝謝"),
        ("Is there anything else?", "No, that's all, thank you."),
    ],
)
def test_a_calm_decline_is_neither_negative_nor_churn(scorer_and_builder, agent, customer):
    turn = customer_turn(scorer_and_builder, agent, customer)
    assert not set(turn.signals) & set(CUSTOMER_SIGNALS), (customer, turn)
    assert turn.score < 0.3, (customer, turn)


@pytest.mark.parametrize("script", SCRIPTS)
def test_held_out_turns_rank_angry_above_neutral_in_every_script(scorer_and_builder, script):
    scorer, builder = scorer_and_builder
    entries = load_entries("test", script)
    calls = [conversation(entry, script, f"{script}-{i}") for i, entry in enumerate(entries)]
    outcomes = scorer.score_many(builder.build_many(calls))
    turns = [next(t for t in o.block.turns if t.turn_index == 1) for o in outcomes]
    labels = [entry.positive for entry in entries]
    assert roc_auc_score(labels, [t.score for t in turns]) >= 0.93
    declines = [t for t, e in zip(turns, entries, strict=True) if e.label == "neutral_decline"]
    flagged = [t for t in declines if set(t.signals) & set(CUSTOMER_SIGNALS) or t.score >= RISING_TURN_SCORE]
    assert len(flagged) <= 1, flagged
