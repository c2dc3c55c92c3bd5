"""Turn rows of the dissatisfaction turn model: the exchange with the agent, in English and Chinese."""

from __future__ import annotations

import numpy as np
import pytest

from auditor.dissatisfaction.features import TURN_BLOCKS, TURN_FEATURES, first_sentence_rows, turn_rows
from auditor.dissatisfaction.signals import (
    SignalContext,
    agent_failure,
    asks_question,
    customer_correction,
    customer_retry,
    starts_with_no,
)
from auditor.text.artifacts import ArtifactBuilder
from auditor.text.normalise import normalise_text
from tests.conftest import make_conversation

CONTEXT_PHRASES = [
    # (helper, text, fires) -- each English list and its Chinese counterpart mean the same thing
    (agent_failure, "Unfortunately there are no trains at that time.", True),
    (agent_failure, "I'm sorry, the booking was unsuccessful.", True),
    (agent_failure, "I'm sorry to hear that, let me check.", False),
    (agent_failure, "很遗憾，暂时没有查到您的订单。", True),
    (agent_failure, "系統無法處理您的申請。", True),
    (agent_failure, "不好意思，让您久等了。", False),
    (customer_correction, "No, I said Tuesday, not Thursday.", True),
    (customer_correction, "That's not what I asked for.", True),
    (customer_correction, "Tuesday works for me.", False),
    (customer_correction, "不对，我说的是周二。", True),
    (customer_correction, "我問的是退款，不是換貨。", True),
    (customer_correction, "周二可以。", False),
    (customer_retry, "How about a different hotel instead?", True),
    (customer_retry, "Book it please.", False),
    (customer_retry, "那有没有其他的航班？", True),
    (customer_retry, "好的，就订这个。", False),
    (starts_with_no, "No, that won't work.", True),
    (starts_with_no, "Nothing else, thanks.", False),
    (starts_with_no, "不用了，我再看看。", True),
    (starts_with_no, "没有其他问题了。", True),
    (starts_with_no, "好的。", False),
    (asks_question, "Would you like me to book it?", True),
    (asks_question, "请问还有什么可以帮您？", True),
    (asks_question, "It is booked.", False),
]


@pytest.mark.parametrize("helper, text, fires", CONTEXT_PHRASES)
def test_context_phrases_en_zh_hans_zh_hant(helper, text, fires):
    assert helper(normalise_text(text)) is fires


@pytest.fixture(scope="module")
def builder(hashing_embedder, pipelines) -> ArtifactBuilder:
    return ArtifactBuilder(hashing_embedder, pipelines)


def named(rows: np.ndarray, name: str) -> list[float]:
    return rows[:, rows.shape[1] - len(TURN_FEATURES) + TURN_FEATURES.index(name)].tolist()


def test_turn_rows_read_the_exchange_with_the_agent(builder):
    conversation = make_conversation(
        [
            ("customer", "I need a train to Cambridge on Tuesday. Leaving after ten."),
            ("agent", "Unfortunately there are no trains then. Would you like another day?"),
            ("customer", "No, I said Tuesday. How about a bus instead?"),
            ("agent", "There is a bus at eleven."),
            ("customer", "Great, thanks."),
        ]
    )
    artifacts = builder.build(conversation)
    rows = turn_rows(SignalContext.build(artifacts), [])
    dimension = artifacts.unit_vectors.shape[1]
    assert rows.turn_indices == [0, 2, 4]
    assert rows.matrix.shape == (3, len(TURN_BLOCKS) * dimension + len(TURN_FEATURES))
    assert named(rows.matrix, "agent_failure") == [0.0, 1.0, 0.0]
    assert named(rows.matrix, "correction") == [0.0, 1.0, 0.0]
    assert named(rows.matrix, "retry") == [0.0, 1.0, 0.0]
    assert named(rows.matrix, "failure_then_retry") == [0.0, 1.0, 0.0]
    assert named(rows.matrix, "starts_with_no") == [0.0, 1.0, 0.0]
    assert named(rows.matrix, "agent_question") == [0.0, 1.0, 0.0]
    assert named(rows.matrix, "earlier_failure") == [0.0, 0.0, 1.0]
    assert named(rows.matrix, "earlier_correction") == [0.0, 0.0, 1.0]
    assert named(rows.matrix, "cosine_previous_agent")[0] == 0.0  # no agent turn before the opening
    first = rows.matrix[0, : 4 * dimension].reshape(4, dimension)
    assert np.allclose(first[1], 0) and np.allclose(first[2], 0)  # previous agent and product blocks
    sentence = artifacts.unit_vectors[first_sentence_rows(artifacts)[0]]
    assert np.allclose(first[3], sentence) and not np.allclose(first[3], first[0])
    short = first_sentence_rows(artifacts)[4]
    assert np.allclose(artifacts.unit_vectors[short], SignalContext.build(artifacts).turn_vectors[4])


def test_consecutive_customer_turns_only_the_first_reads_the_agent_text(builder):
    conversation = make_conversation(
        [
            ("agent", "Sorry, I could not find that booking."),
            ("customer", "Please look again."),
            ("customer", "Hello?"),
        ]
    )
    rows = turn_rows(SignalContext.build(builder.build(conversation)), [])
    assert named(rows.matrix, "agent_failure") == [1.0, 0.0]
    assert named(rows.matrix, "agent_log_chars")[1] == 0.0
    assert named(rows.matrix, "cosine_previous_customer")[1] != 0.0
