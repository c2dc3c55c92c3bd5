"""A turn of any length within the audit's limits is prepared in bounded memory and read whole (issue 17)."""

from __future__ import annotations

from auditor.conversation import Conversation, Role, Turn
from auditor.embeddings.hashing import HashingEmbedder
from auditor.text.artifacts import LONG_TURN_CHARS, PIECE_CHARS, ArtifactBuilder, pieces


def test_pieces_keep_every_sentence_in_order_and_stay_short():
    sentences = [f"Sentence number {i} is here." for i in range(500)] + ["x" * 2_500, "word " * 700]
    found = pieces(sentences, 1_000)
    assert all(len(piece) <= 1_000 for piece in found)
    assert "".join("".join(found).split()) == "".join("".join(sentences).split())


def test_a_turn_over_a_million_characters_is_embedded_in_pieces_not_whole():
    text = "Thanks for waiting, I have checked the order and it ships today. " * 16_000
    turn = Turn(0, "agent", Role.AGENT, text)
    builder = ArtifactBuilder(HashingEmbedder())
    [artifacts] = builder.build_many([Conversation("c", [turn])])
    units = artifacts.turns[0].units
    assert len(text) > 1_000_000 > LONG_TURN_CHARS
    assert max(len(unit) for unit in units) <= PIECE_CHARS
    assert len(units) >= len(text) // PIECE_CHARS
    assert artifacts.unit_vectors.shape == (len(units), HashingEmbedder().dimension)
    assert artifacts.turns[0].normalised == " ".join(text.split()), "the turn's text is whole"


def test_a_short_turn_keeps_its_whole_text_and_first_sentences():
    turn = Turn(0, "agent", Role.AGENT, "Hello there. How can I help? Goodbye.")
    [artifacts] = ArtifactBuilder(HashingEmbedder()).build_many([Conversation("c", [turn])])
    assert artifacts.turns[0].units == [turn.text, "Hello there.", "How can I help?", "Goodbye."]
