"""A live session embeds each turn once and ends with exactly the whole-transcript result."""

from __future__ import annotations

import numpy as np
import pytest

from auditor.auditor import Auditor
from auditor.embeddings.base import CachedEmbedder
from auditor.embeddings.hashing import HashingEmbedder
from auditor.live.session import LiveSession
from auditor.live.sessions import SessionLimitError, SessionNotFoundError, SessionStore
from auditor.sop.loading import resolve_sop
from auditor.transcripts.loaders import load_inputs
from auditor.transcripts.problems import TranscriptError
from tests.conftest import REPO


class CountingEmbedder:
    """Counts every text that reaches the model (no cache in front of it)."""

    def __init__(self) -> None:
        self.inner = HashingEmbedder()
        self.name, self.version, self.dimension = self.inner.name, self.inner.version, self.inner.dimension
        self.texts: list[str] = []

    def encode(self, texts):
        self.texts += list(texts)
        return self.inner.encode(texts)


def raw_turn(turn) -> dict:
    raw = {"speaker": turn.speaker, "text": turn.text, **turn.extra}
    return raw | {key: value for key, value in (("start", turn.start), ("end", turn.end)) if value is not None}


def replay(auditor: Auditor, conversation) -> LiveSession:
    session = LiveSession(
        auditor,
        conversation.id,
        agent_id=conversation.agent_id,
        lang=conversation.lang,
        metadata=dict(conversation.metadata),
    )
    for turn in conversation.turns:
        session.push(raw_turn(turn))
    return session


@pytest.mark.parametrize("sop_id", ["complaint-handling", "general-inbound-call", "service-request"])
def test_closing_gives_the_whole_audit_for_every_corpus_conversation(sop_id, pipelines):
    auditor = Auditor(resolve_sop(sop_id), CachedEmbedder(HashingEmbedder()), pipelines=pipelines)
    files = [REPO / "corpora" / lang / f"{sop_id}.jsonl" for lang in ("en", "zh-Hans", "zh-Hant")]
    conversations = load_inputs(files).conversations
    assert len(conversations) >= 10
    for conversation in conversations:
        conversation.source = None  # a live session has no file
        whole = auditor.audit(conversation)
        assert replay(auditor, conversation).close() == whole, conversation.id


def test_each_turn_is_embedded_once(pipelines):
    embedder = CountingEmbedder()
    auditor = Auditor(resolve_sop("complaint-handling"), embedder, pipelines=pipelines)
    auditor_setup = len(embedder.texts)  # the SOP's own examples
    conversation = load_inputs([REPO / "corpora" / "en" / "complaint-handling.jsonl"]).conversations[0]
    session = replay(auditor, conversation)
    unit_texts = [unit for artifacts in session._scored for unit in artifacts.units]
    embedded = embedder.texts[auditor_setup:]
    condition_examples = [t for t in embedded if t not in unit_texts]
    assert sorted(t for t in embedded if t in unit_texts) == sorted(unit_texts)  # once each, never again
    assert len(set(condition_examples)) == len(condition_examples)  # condition examples embedded once too


def test_positions_count_from_the_end_as_the_call_grows(pipelines, hashing_embedder):
    auditor = Auditor(resolve_sop("complaint-handling"), hashing_embedder, pipelines=pipelines)
    session = LiveSession(auditor, "c")
    for text in ("Hello", "My order is late", "Sorry about that"):
        session.push({"speaker": "agent" if text != "My order is late" else "customer", "text": text})
    assert [t.spoken_from_end for t in session._scored] == [3, 2, 1]
    assert np.allclose(session._artifacts().unit_vectors[0], hashing_embedder.encode(["Hello"])[0])


def test_a_bad_turn_is_refused_naming_its_field_and_the_session_goes_on(pipelines, hashing_embedder):
    session = LiveSession(Auditor(resolve_sop("complaint-handling"), hashing_embedder, pipelines=pipelines), "c")
    with pytest.raises(TranscriptError, match=r"turns\[0\]\.text"):
        session.push({"speaker": "agent"})
    assert session.turns == []
    assert session.push({"speaker": "agent", "text": "Hello"}).turn_index == 0


def test_store_expires_idle_sessions_and_bounds_them(pipelines, hashing_embedder):
    now = [0.0]
    store = SessionStore(max_sessions=2, max_per_owner=2, idle_seconds=60, clock=lambda: now[0])
    auditor = Auditor(resolve_sop("complaint-handling"), hashing_embedder, pipelines=pipelines)
    first = store.open(LiveSession(auditor, "a"), "k1", "complaint-handling")
    store.open(LiveSession(auditor, "b"), "k1", "complaint-handling")
    with pytest.raises(SessionLimitError):
        store.open(LiveSession(auditor, "c"), "k2", "complaint-handling")
    now[0] = 30
    store.get(first, "k1")  # used: its idle clock restarts
    now[0] = 75
    assert store.expire() == 1 and len(store) == 1
    assert store.get(first, "k1").conversation_id == "a"
    now[0] = 200
    with pytest.raises(SessionNotFoundError):
        store.get(first, "k1")
    assert store.open(LiveSession(auditor, "d"), "k2", "complaint-handling")
