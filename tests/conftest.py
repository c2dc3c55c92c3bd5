"""Shared fixtures: a fast model-free embedder, spaCy pipelines built once, and a conversation builder."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from auditor.conversation import Conversation, Turn
from auditor.embeddings.base import CachedEmbedder
from auditor.embeddings.hashing import HashingEmbedder
from auditor.text.pipelines import TextPipelines
from auditor.transcripts.roles import normalise_role
from tests.pg import PostgresCluster, running_cluster

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
EXTERNAL = REPO.parent / "shared" / "data" / "external"


@pytest.fixture(scope="session")
def pipelines() -> TextPipelines:
    return TextPipelines()


@pytest.fixture(scope="session")
def hashing_embedder() -> CachedEmbedder:
    return CachedEmbedder(HashingEmbedder())


def make_conversation(
    turns: Sequence[tuple[str, str] | tuple[str, str, float]],
    *,
    conversation_id: str = "c-1",
    agent_id: str = "a-1",
    lang: str | None = None,
) -> Conversation:
    """Build a conversation from (speaker, text[, start]) tuples; indices follow the list."""
    built = []
    for index, turn in enumerate(turns):
        speaker, text = turn[0], turn[1]
        start = float(turn[2]) if len(turn) > 2 else None  # type: ignore[misc]
        built.append(Turn(index=index, speaker=speaker, role=normalise_role(speaker), text=text, start=start))
    return Conversation(id=conversation_id, turns=built, agent_id=agent_id, lang=lang)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL 15 cluster for the whole run (Debian's package, installed when missing): tests that use
    it are ``slow``; ``postgres.database()`` gives each a fresh database URL."""
    with running_cluster() as cluster:
        yield cluster
