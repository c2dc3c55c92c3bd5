"""Feature rows for the dissatisfaction models: one per customer turn, one per conversation.

Turn rows: four embedding blocks (``TURN_BLOCKS``: the turn, the previous agent turn, their element-wise product,
the turn's first sentence), then named features: the signals, and what the exchange with the agent looked like
(did the agent just fail, does the customer correct them or ask for another try, how close the reply is to the
agent's turn and to the customer's own previous turn). Conversation
rows: named aggregates of the turn-score curve and the signals (the pieces of the conversation feature vector
this module owns), optionally followed by pooled embeddings (for models trained in-domain).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

import numpy as np

from auditor.conversation import Role
from auditor.dissatisfaction.signals import (
    AGENT_SIDE_SIGNALS,
    SignalContext,
    SignalHit,
    agent_apology,
    agent_failure,
    asks_question,
    calm_turn,
    closing_remark,
    customer_correction,
    customer_retry,
    starts_with_no,
)
from auditor.text.artifacts import ConversationArtifacts, TurnArtifacts

TURN_FEATURES = (
    "negativity",
    "complaint",
    "escalation",
    "churn",
    "frustration",
    "repetition_cosine",
    "agent_apologised",
    "agent_risk_before",
    "first_turn",
    "position",
    "log_chars",
    "closing",
    "cosine_previous_agent",
    "cosine_previous_customer",
    "agent_meets_request",
    "agent_failure",
    "correction",
    "retry",
    "agent_question",
    "agent_log_chars",
    "failure_then_retry",
    "failure_not_closing",
    "correction_unprompted",
    "earlier_failure",
    "earlier_correction",
    "starts_with_no",
)
"""Named turn features, after the embedding blocks (``TURN_BLOCKS``)."""

TURN_BLOCKS = ("turn", "previous_agent", "turn_x_previous_agent", "first_sentence")
"""Embedding blocks of a turn row, each one vector wide: the customer turn, the agent turn before it (zeros when
none), their element-wise product, and the turn's first sentence (the turn itself when it has one sentence)."""

RULE_SIGNALS = ("complaint", "escalation", "churn", "frustration")
"""Customer-side signals fired by phrase lists: what a coach can read the words of."""
ALERT_RULE_WEIGHT = 0.8
"""How far a rule signal alone lifts a turn's plain-dissatisfaction reading (``turn_alerts``)."""
ALERT_DECLINE_FACTOR = 0.25
"""What is left of the negativity of a calm decline ("不用了", "no thanks") in that reading. Both chosen on the
project's development turn set (``python -m bench.dissatisfaction_turns``; the grid is in docs/benchmarks.md)."""

CONVERSATION_FEATURES = (
    "turn_score_mean",
    "turn_score_max",
    "turn_score_first",
    "turn_score_last",
    "turn_score_trend",
    "negativity_mean",
    "negativity_max",
    "negativity_last",
    "complaints",
    "escalations",
    "churn_threats",
    "frustrations",
    "repetitions",
    "repetition_max_cosine",
    "interruptions",
    "long_silences",
    "holds",
    "agent_apologies",
    "customer_turns",
    "agent_turns",
    "ends_with_customer",
    "unresolved_ending",
    "recovery_delta",
    "alert_max",
    "alert_last",
)
"""Named conversation features; counts are log1p so long and short conversations stay comparable."""

UNSIGNED_FEATURES = ("turn_score_first", "customer_turns", "agent_turns", "ends_with_customer")
"""Named features with no fixed direction (they describe length and shape, and their meaning depends on how a
data set defines its label); every other named feature is oriented so that higher means more dissatisfied."""


@dataclass
class TurnRows:
    """Turn feature rows of one conversation, one per customer turn, in turn order."""

    turn_indices: list[int]
    matrix: np.ndarray

    @property
    def named(self) -> np.ndarray:
        return self.matrix[:, -len(TURN_FEATURES) :]


def turn_rows(context: SignalContext, hits: Sequence[SignalHit]) -> TurnRows:
    """Build the turn rows; ``context.negativity`` must already hold every customer turn's negativity."""
    artifacts = context.artifacts
    fired: dict[int, set[str]] = {}
    for hit in hits:
        fired.setdefault(hit.turn_index, set()).add(hit.signal)
    risky = sorted(hit.turn_index for hit in hits if hit.signal in AGENT_SIDE_SIGNALS)
    similarity = context.earlier_similarity()
    sentence = first_sentence_rows(artifacts)
    builder = TurnRowBuilder(artifacts.unit_vectors.shape[1])
    for turn in artifacts.turns:
        index = turn.turn.index
        builder.add(
            turn,
            context.turn_vectors[index],
            artifacts.unit_vectors[sentence[index]] if index in sentence else None,
            fired.get(index, set()),
            risky,
            similarity[index][0] if index in similarity else 0.0,
        )
    rows = builder.rows(context.negativity)
    return TurnRows(rows.turn_indices, rows.matrix.astype(np.float32))


NEGATIVITY_COLUMN = TURN_FEATURES.index("negativity") - len(TURN_FEATURES)
POSITION_COLUMN = TURN_FEATURES.index("position") - len(TURN_FEATURES)


class TurnRowBuilder:
    """Turn rows built as the turns come, in order (a live session adds each turn once). A row is final when its
    turn is added, but for two columns that depend on the whole conversation so far: the turn's negativity (the
    model scores every customer turn at once) and its position among the customer turns; ``rows`` fills them in.
    The rows are kept in float64 holding float32 values (what ``turn_rows`` gives, widened as the models read them,
    so a live call does not convert the whole matrix after every customer turn)."""

    def __init__(self, dimension: int):
        self.dimension = dimension
        self.width = len(TURN_BLOCKS) * dimension + len(TURN_FEATURES)
        self._matrix = np.zeros((0, self.width), dtype=np.float64)
        self.turn_indices: list[int] = []
        self._zero = np.zeros(dimension, dtype=np.float32)
        self._previous_agent: np.ndarray | None = None
        self._previous_agent_text = ""
        self._previous_customer_vector: np.ndarray | None = None
        self._previous_customer = -1
        self._failures = self._corrections = 0

    def add(
        self,
        turn: TurnArtifacts,
        vector: np.ndarray,
        sentence_vector: np.ndarray | None,
        fired: Set[str],
        risky: Sequence[int],
        repetition_cosine: float,
    ) -> None:
        """The next spoken turn: its whole-turn vector, its first sentence's vector, the signals fired on it, the
        turns where an agent-side risk happened so far, and its cosine to the closest earlier customer turn."""
        if turn.turn.role is Role.AGENT:
            self._previous_agent = vector
            self._previous_agent_text = turn.normalised
            return
        if turn.turn.role is not Role.CUSTOMER:
            return
        index = turn.turn.index
        agent_vector = self._previous_agent if self._previous_agent is not None else self._zero
        earlier_vector = self._previous_customer_vector if self._previous_customer_vector is not None else self._zero
        agent_text, text = self._previous_agent_text, turn.normalised
        failed = float(bool(agent_text) and agent_failure(agent_text))
        corrects = float(customer_correction(text))
        retries = float(customer_retry(text))
        closing = float(closing_remark(text))
        question = float(bool(agent_text) and asks_question(agent_text))
        named = [
            0.0,  # negativity: filled in by rows()
            *(float(signal in fired) for signal in ("complaint", "escalation", "churn", "frustration")),
            repetition_cosine,
            float(bool(agent_text) and agent_apology(agent_text)),
            float(any(self._previous_customer < r < index for r in risky)),
            float(not self.turn_indices),
            0.0,  # position: filled in by rows()
            float(np.log1p(len(text))),
            closing,
            float(vector @ agent_vector),
            float(vector @ earlier_vector),
            float(agent_vector @ earlier_vector),
            failed,
            corrects,
            retries,
            question,
            float(np.log1p(len(agent_text))),
            failed * retries,
            failed * (1.0 - closing),
            corrects * (1.0 - question),
            float(self._failures > 0),
            float(self._corrections > 0),
            float(starts_with_no(text)),
        ]
        sentence = sentence_vector if sentence_vector is not None else vector
        row = np.concatenate([vector, agent_vector, vector * agent_vector, sentence, np.asarray(named, np.float32)])
        count = len(self.turn_indices)
        if count == len(self._matrix):  # grow the buffer by doubling: adding a turn copies nothing on average
            grown = np.zeros((max(8, 2 * count), self.width), dtype=np.float64)
            grown[:count] = self._matrix[:count]
            self._matrix = grown
        self._matrix[count] = row
        self.turn_indices.append(index)
        self._previous_customer = index
        self._previous_customer_vector = vector
        self._previous_agent_text = ""
        self._failures += int(failed)
        self._corrections += int(corrects)

    def rows(self, negativity: Mapping[int, float]) -> TurnRows:
        """The rows so far (float64, see above), with every customer turn's negativity and its position among the
        customer turns."""
        count = len(self.turn_indices)
        matrix = self._matrix[:count]
        values = [negativity.get(index, 0.0) for index in self.turn_indices]
        matrix[:, NEGATIVITY_COLUMN] = np.asarray(values, dtype=np.float32)
        positions = [ordinal / max(count - 1, 1) for ordinal in range(count)]
        matrix[:, POSITION_COLUMN] = np.asarray(positions, dtype=np.float32)
        return TurnRows(list(self.turn_indices), matrix)


def first_sentence_rows(artifacts: ConversationArtifacts) -> dict[int, int]:
    """Row of ``unit_vectors`` holding each spoken turn's first sentence (the whole turn when it has one)."""
    rows: dict[int, list[int]] = {}
    for row, turn_index in enumerate(artifacts.unit_turn.tolist()):
        rows.setdefault(int(turn_index), []).append(row)
    return {turn: found[1] if len(found) > 1 else found[0] for turn, found in rows.items()}


def conversation_row(
    context: SignalContext,
    hits: Sequence[SignalHit],
    turn_scores: np.ndarray,
    recovery_delta: float,
    negative_threshold: float,
    *,
    pooled: bool = False,
    apologies: int | None = None,
    alerts: np.ndarray | None = None,
) -> np.ndarray:
    """The conversation's named features (``CONVERSATION_FEATURES``), then pooled embeddings when asked;
    ``apologies``: the number of agent turns that apologise, ``alerts``: the customer turns' ``turn_alerts``, when
    the caller has them."""
    customers = context.customer_turns
    agents = context.artifacts.by_role(Role.AGENT)
    negativity = np.asarray([context.negativity.get(t.turn.index, 0.0) for t in customers], dtype=np.float64)
    scores = np.asarray(turn_scores, dtype=np.float64)
    if not len(scores):
        scores = negativity = np.zeros(1)

    def count(signal: str) -> float:
        return float(np.log1p(sum(1 for hit in hits if hit.signal == signal)))

    if alerts is None:
        alerts = turn_alerts(context, hits, [t.turn.index for t in customers])
    if not len(alerts):
        alerts = np.zeros(1)
    repetition = [c for c, earlier in context.earlier_similarity().values() if earlier is not None]
    spoken = context.artifacts.turns
    last_customer = customers[-1].normalised if customers else ""
    unresolved = bool(customers) and (not closing_remark(last_customer) or negativity[-1] >= negative_threshold)
    named = [
        scores.mean(),
        scores.max(),
        scores[0],
        scores[-1],
        scores[-1] - scores[0],
        negativity.mean(),
        negativity.max(),
        negativity[-1],
        count("complaint"),
        count("escalation"),
        count("churn"),
        count("frustration"),
        count("repetition"),
        max(repetition, default=0.0),
        count("interruption"),
        count("long_silence"),
        count("hold"),
        float(np.log1p(apologies if apologies is not None else sum(agent_apology(t.normalised) for t in agents))),
        float(np.log1p(len(customers))),
        float(np.log1p(len(agents))),
        float(bool(spoken) and spoken[-1].turn.role is Role.CUSTOMER),
        float(unresolved),
        recovery_delta,
        float(alerts.max()),
        float(alerts[-1]),
    ]
    row = np.asarray(named, dtype=np.float32)
    if not pooled:
        return row
    return np.concatenate([row, pooled_embeddings(context)])


def turn_alerts(context: SignalContext, hits: Sequence[SignalHit], turn_indices: Sequence[int]) -> np.ndarray:
    """How plainly each customer turn is dissatisfied on its own: its negativity (cut to ``ALERT_DECLINE_FACTOR`` for
    a calm decline or thanks, ``calm_turn``) raised by its rule signals:
    ``1 - (1 - negativity) * (1 - ALERT_RULE_WEIGHT * rule)``.

    The turn model reads a turn in its exchange and learned from rated task dialogues, where plain anger is rare: it
    scores an opening "someone stole three thousand dollars off my card!" near 0. A turn's score as results show it is
    the higher of the turn model's and the square of this reading, so the worst moment of a short call is where a
    coach and a live alert look, while a mild reading (0.5 -> 0.25) leaves the model's score alone: on rated task
    dialogues (held-out USS turns) the reading alone is near chance (0.53) and the plain maximum costs 0.07 AUROC,
    the square 0.03. The conversation model reads the turn model's scores and this reading's max and last value."""
    rules: dict[int, float] = {}
    for hit in hits:
        if hit.signal in RULE_SIGNALS:
            rules[hit.turn_index] = max(rules.get(hit.turn_index, 0.0), hit.strength)
    texts = {turn.turn.index: turn.normalised for turn in context.customer_turns}
    alerts = np.zeros(len(turn_indices))
    for position, index in enumerate(turn_indices):
        negativity = context.negativity.get(index, 0.0)
        if calm_turn(texts.get(index, "")):
            negativity *= ALERT_DECLINE_FACTOR
        alerts[position] = 1.0 - (1.0 - negativity) * (1.0 - ALERT_RULE_WEIGHT * rules.get(index, 0.0))
    return alerts



def pooled_embeddings(context: SignalContext) -> np.ndarray:
    """The embedding blocks appended for models trained in-domain (``pooled=True``), each one vector wide: customer
    turns' mean, max, min and last; agent turns' mean and last; the mean, max and min of every sentence unit of
    customer turns; the mean of the last customer turn's units."""
    artifacts = context.artifacts
    dimension = artifacts.unit_vectors.shape[1]
    empty = np.zeros((1, dimension), dtype=np.float32)

    def whole(role: Role) -> np.ndarray:
        vectors = [context.turn_vectors[t.turn.index] for t in artifacts.by_role(role)]
        return np.stack(vectors) if vectors else empty

    customers = [t.turn.index for t in artifacts.by_role(Role.CUSTOMER)]
    rows = np.isin(artifacts.unit_turn, customers)
    sentences = artifacts.unit_vectors[rows] if rows.any() else empty
    last_rows = artifacts.unit_turn == customers[-1] if customers else rows
    last = artifacts.unit_vectors[last_rows] if last_rows.any() else empty
    customer, agent = whole(Role.CUSTOMER), whole(Role.AGENT)
    blocks = [
        customer.mean(0),
        customer.max(0),
        customer.min(0),
        customer[-1],
        agent.mean(0),
        agent[-1],
        sentences.mean(0),
        sentences.max(0),
        sentences.min(0),
        last.mean(0),
    ]
    return np.concatenate(blocks).astype(np.float32)


def conversation_features(row: np.ndarray) -> dict[str, float]:
    """The named part of a conversation row, keyed ``dissatisfaction.<name>`` for the conversation feature vector."""
    return {
        f"dissatisfaction.{name}": round(float(value), 4)
        for name, value in zip(CONVERSATION_FEATURES, row, strict=False)
    }
