"""Compute a conversation's text artifacts once (normalised text, sentences, tokens, embeddings) for every detector."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auditor.conversation import Conversation, Role, Turn
from auditor.embeddings.base import Embedder
from auditor.text.normalise import detect_lang, normalise_text
from auditor.text.pipelines import TextPipelines


@dataclass
class TurnArtifacts:
    """A spoken turn as the matchers see it; ``units`` are the turn itself plus its sentences."""

    turn: Turn
    lang: str
    normalised: str
    doc: Any
    spoken_ordinal: int
    spoken_from_end: int
    units: list[str]


@dataclass
class ConversationArtifacts:
    """Everything detectors need about one conversation; unit vectors are rows of ``unit_vectors``."""

    conversation: Conversation
    lang: str
    turns: list[TurnArtifacts]
    unit_turn: np.ndarray
    unit_vectors: np.ndarray
    _by_index: dict[int, TurnArtifacts] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_index = {artifacts.turn.index: artifacts for artifacts in self.turns}

    def turn(self, index: int) -> TurnArtifacts:
        """The spoken turn with this transcript index, in constant time (detectors look turns up per hit)."""
        return self._by_index[index]

    def by_role(self, role: Role) -> list[TurnArtifacts]:
        return [artifacts for artifacts in self.turns if artifacts.turn.role is role]

    def whole_turn_vectors(self) -> dict[int, np.ndarray]:
        """Each spoken turn's vector of its whole normalised text (its first unit row), by turn index."""
        vectors: dict[int, np.ndarray] = {}
        for row, turn_index in enumerate(self.unit_turn.tolist()):
            vectors.setdefault(int(turn_index), self.unit_vectors[row])
        return vectors


class ArtifactBuilder:
    """Builds artifacts for many conversations with one batched embedding call."""

    def __init__(self, embedder: Embedder, pipelines: TextPipelines | None = None, max_units_per_turn: int = 6):
        self.embedder = embedder
        self.pipelines = pipelines or TextPipelines()
        self.max_units_per_turn = max_units_per_turn

    def build(self, conversation: Conversation) -> ConversationArtifacts:
        return self.build_many([conversation])[0]

    def build_many(self, conversations: Sequence[Conversation]) -> list[ConversationArtifacts]:
        prepared = [self._prepare(conversation) for conversation in conversations]
        all_units = [unit for _, turns in prepared for artifacts in turns for unit in artifacts.units]
        vectors = self.embedder.encode(all_units) if all_units else np.zeros((0, self.embedder.dimension))
        results: list[ConversationArtifacts] = []
        offset = 0
        for conversation, turns in prepared:
            unit_turn = [artifacts.turn.index for artifacts in turns for _ in artifacts.units]
            count = len(unit_turn)
            results.append(
                ConversationArtifacts(
                    conversation=conversation,
                    lang=conversation.lang or majority_lang(turns),
                    turns=turns,
                    unit_turn=np.asarray(unit_turn, dtype=np.int64),
                    unit_vectors=vectors[offset : offset + count],
                )
            )
            offset += count
        return results

    def _prepare(self, conversation: Conversation) -> tuple[Conversation, list[TurnArtifacts]]:
        spoken = [turn for turn in conversation.turns if is_scored(turn)]
        turns = [self.prepare_turn(turn, ordinal, len(spoken)) for ordinal, turn in enumerate(spoken, start=1)]
        return conversation, turns

    def prepare_turn(self, turn: Turn, ordinal: int, spoken_count: int) -> TurnArtifacts:
        """One spoken turn's text artifacts (no embeddings); ``ordinal`` is its 1-based place among spoken turns."""
        normalised = normalise_text(turn.text)
        lang = detect_lang(normalised)
        self.pipelines.refresh()  # a long audit must not keep every token it ever read
        doc = self.pipelines.for_lang(lang)(normalised)
        sentences = [sentence.text.strip() for sentence in doc.sents if sentence.text.strip()]
        if len(normalised) > LONG_TURN_CHARS:
            units = pieces(sentences, PIECE_CHARS)
        else:
            units = [normalised]
            if len(sentences) > 1:
                units += sentences[: self.max_units_per_turn - 1]
        return TurnArtifacts(turn, lang, normalised, doc, ordinal, spoken_count - ordinal + 1, units)


LONG_TURN_CHARS = 10_000
"""Longest turn embedded whole (the API's own cap on a turn). The multilingual encoder's cost grows faster than the
text (measured: 50,000 characters 0.6 s and 210 MB, 200,000 characters 4.3 s and 830 MB), and a vector of a whole
speech means little, so a longer turn is embedded as consecutive pieces of whole sentences instead: every part of it
is matched (not only its first sentences), in time and memory that grow with its length. Its evidence is still the
whole turn."""
PIECE_CHARS = 1_000
"""Most characters of one embedded piece of a long turn (a sentence longer than this is cut at spaces)."""


def pieces(sentences: Sequence[str], limit: int) -> list[str]:
    """Consecutive sentences joined into pieces of at most ``limit`` characters (one over-long sentence is cut into
    several, at a space when there is one), in order; together they hold every sentence."""
    found: list[str] = []
    current = ""
    for sentence in sentences:
        for part in _cut(sentence, limit):
            joined = f"{current} {part}" if current else part
            if len(joined) <= limit:
                current = joined
            else:
                found.append(current)
                current = part
    if current:
        found.append(current)
    return found


def _cut(text: str, limit: int) -> list[str]:
    parts = []
    while len(text) > limit:
        space = text.rfind(" ", limit // 2, limit + 1)
        at = space if space > 0 else limit
        parts.append(text[:at].strip())
        text = text[at:].strip()
    if text:
        parts.append(text)
    return [part for part in parts if part]


def is_scored(turn: Turn) -> bool:
    """Only spoken turns with some text are matched, embedded and counted in turn positions."""
    return turn.spoken and bool(turn.text.strip())


def majority_lang(turns: Sequence[TurnArtifacts]) -> str:
    """The conversation's language when the transcript does not say: Chinese when most spoken turns are."""
    zh = sum(1 for artifacts in turns if artifacts.lang == "zh")
    return "zh" if zh * 2 > len(turns) else "en"
