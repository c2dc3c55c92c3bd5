"""Dissatisfaction of a conversation that grows a turn at a time (a live session): each turn's signals, turn row and
cosine to the earlier customer turns are computed once, when it arrives; ``score`` then gives what
``DissatisfactionScorer.score`` says of the whole conversation so far.

What depends on the whole conversation is recomputed, vectorised, on every call: the negativity of every customer
turn (one matrix product), the turn rows' position column, the turn and conversation models, the trajectory.
Signal detectors other than ``negative`` judge a turn from itself and the spoken turn before it (the built-in ones
do); ``repetition`` reads the cosines kept here.
"""

from __future__ import annotations

import numpy as np

from auditor.conversation import Conversation, Role, Turn
from auditor.dissatisfaction.features import TurnRowBuilder
from auditor.dissatisfaction.model import DissatisfactionOutcome, DissatisfactionScorer
from auditor.dissatisfaction.signals import (
    AGENT_SIDE_SIGNALS,
    SIGNALS,
    EarlierSimilarity,
    SignalContext,
    SignalHit,
    agent_apology,
)
from auditor.text.artifacts import ConversationArtifacts, TurnArtifacts

RECOMPUTED = "negative"
"""The signal read from the negativity of every customer turn, recomputed on every call."""


class LiveDissatisfaction:
    """The per-turn parts of the dissatisfaction scorer's work, kept as the turns arrive."""

    def __init__(self, scorer: DissatisfactionScorer, dimension: int):
        self.scorer = scorer
        self.turn_vectors: dict[int, np.ndarray] = {}
        self.customers: list[int] = []
        self.similarity: dict[int, tuple[float, int | None]] = {}
        self.hits: list[SignalHit] = []
        """Every hit but ``negative``, by turn and then in ``SIGNALS`` order."""
        self.risky: list[int] = []
        self.apologies: list[int] = []
        self._earlier = EarlierSimilarity()
        self._rows = TurnRowBuilder(dimension)
        self._customer_vectors = np.zeros((0, dimension), dtype=np.float64)
        self._previous: TurnArtifacts | None = None
        self._previous_vector: np.ndarray | None = None

    def add(self, turn: Turn, artifacts: TurnArtifacts | None, vectors: np.ndarray | None) -> None:
        """The next turn of the conversation; ``artifacts`` and ``vectors`` (its units') when it is a scored one."""
        if artifacts is None or vectors is None:
            if not turn.spoken:  # an event: a hold
                self._detect(Conversation("live", [turn]), [], {}, turn.index)
            return
        index, role = turn.index, turn.role
        vector = vectors[0]
        self.turn_vectors[index] = vector
        similarity: dict[int, tuple[float, int | None]] = {}
        if role is Role.CUSTOMER:
            count = len(self.customers)
            if count == len(self._customer_vectors):  # grow by doubling; float64 as the model reads them
                grown = np.zeros((max(16, 2 * count), len(vector)), dtype=np.float64)
                grown[:count] = self._customer_vectors[:count]
                self._customer_vectors = grown
            self._customer_vectors[count] = vector
            self.customers.append(index)
            self.similarity[index] = similarity[index] = self._earlier.add(index, vector, artifacts.normalised)
        window = [self._previous, artifacts] if self._previous is not None else [artifacts]
        window_vectors = {index: vector}
        if self._previous is not None and self._previous_vector is not None:
            window_vectors[self._previous.turn.index] = self._previous_vector
        found = self._detect(Conversation("live", [turn]), window, window_vectors, index, similarity)
        if role is Role.AGENT and agent_apology(artifacts.normalised):
            self.apologies.append(index)
        sentence = vectors[1] if len(vectors) > 1 else vectors[0]
        fired = {hit.signal for hit in found}
        self._rows.add(artifacts, vector, sentence, fired, self.risky, similarity.get(index, (0.0, None))[0])
        self._previous, self._previous_vector = artifacts, vector

    def _detect(
        self,
        conversation: Conversation,
        window: list[TurnArtifacts],
        vectors: dict[int, np.ndarray],
        index: int,
        similarity: dict[int, tuple[float, int | None]] | None = None,
    ) -> list[SignalHit]:
        """The hits of every detector but ``negative`` on turn ``index``, read from a window of the turn and the
        spoken one before it."""
        unit_turn = np.asarray(list(vectors), dtype=np.int64)
        dimension = len(next(iter(vectors.values()))) if vectors else 0
        unit_vectors = np.stack(list(vectors.values())) if vectors else np.zeros((0, dimension), dtype=np.float32)
        artifacts = ConversationArtifacts(conversation, "en", window, unit_turn, unit_vectors)
        context = SignalContext(artifacts, vectors, _similarity=dict(similarity or {}))
        found = [
            hit
            for signal, detector in self.scorer.detectors.items()
            if signal != RECOMPUTED
            for hit in detector.detect(context)
            if hit.turn_index == index
        ]
        found.sort(key=lambda hit: SIGNALS.index(hit.signal))
        self.hits += found
        self.risky += [hit.turn_index for hit in found if hit.signal in AGENT_SIDE_SIGNALS]
        return found

    def score(self, artifacts: ConversationArtifacts) -> DissatisfactionOutcome:
        """What ``DissatisfactionScorer.score`` says of ``artifacts``, the conversation so far."""
        context = SignalContext(artifacts, self.turn_vectors, _similarity=self.similarity)
        if self.customers:
            values = self.scorer.negativity(self._customer_vectors[: len(self.customers)])
            context.negativity = dict(zip(self.customers, values.tolist(), strict=True))
        hits = list(self.hits)
        if RECOMPUTED in self.scorer.detectors:
            hits += self.scorer.detectors[RECOMPUTED].detect(context)
            hits.sort(key=lambda hit: (hit.turn_index, SIGNALS.index(hit.signal)))
        return self.scorer.score_rows(context, hits, self._rows.rows(context.negativity), self.apologies)
