"""Property test: a JSON Lines file mixing good conversations (markup, escape and formula ids; long turns) with broken
lines yields every good conversation, whole, from the whole-file loader and from the reader `auditor audit` streams."""

from __future__ import annotations

from hypothesis import given

from auditor.batch.inputs import InputStream
from auditor.conversation import Conversation
from auditor.transcripts.loaders import load_bytes
from tests.fuzz.strategies import MixedFile, fuzz_settings, mixed_files


def kept(conversations: list[Conversation]) -> dict[str, int]:
    return {conversation.id: len(conversation.turns) for conversation in conversations}


def test_no_good_conversation_is_lost_among_broken_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mixed.jsonl"

    @fuzz_settings(40)
    @given(mixed_files())
    def check(mixed: MixedFile) -> None:
        expected = {conversation_id: turns for conversation_id, (_, turns) in mixed.good.items()}
        whole = kept(load_bytes(mixed.raw, str(path)).conversations)
        path.write_bytes(mixed.raw)
        streamed = [item for item in InputStream([path]) if isinstance(item, Conversation)]
        assert {key: whole.get(key) for key in expected} == expected
        assert {key: kept(streamed).get(key) for key in expected} == expected
        lines = {conversation.id: conversation.line for conversation in streamed}
        assert {key: lines[key] for key in expected} == {key: line for key, (line, _) in mixed.good.items()}

    check()
