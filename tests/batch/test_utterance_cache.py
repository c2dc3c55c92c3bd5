"""The embedding cache: repeated utterances reach the model once, its size stays bounded, vectors are unchanged."""

from __future__ import annotations

import numpy as np

from auditor.embeddings.base import CachedEmbedder
from auditor.embeddings.hashing import HashingEmbedder


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.encoded: list[str] = []

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.encoded += list(texts)
        return super().encode(texts)


def test_repeated_lines_are_embedded_once_with_the_same_vectors():
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    texts = ["Thank you for calling.", "My order is 123.", "Thank you for calling."]
    first = cached.encode(texts)
    second = cached.encode(["Thank you for calling.", "Anything else?"])
    assert inner.encoded == ["Thank you for calling.", "My order is 123.", "Anything else?"]
    assert np.array_equal(first, HashingEmbedder().encode(texts))
    assert np.array_equal(second[0], first[0])
    assert (cached.hits, cached.misses) == (2, 3)


def test_the_cache_keeps_the_recently_used_lines_within_its_bound():
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, max_entries=2)
    cached.encode(["greeting"])
    cached.encode(["order 1"])
    cached.encode(["greeting"])  # used again: kept
    cached.encode(["order 2"])  # evicts "order 1", the least recently used
    cached.encode(["greeting", "order 1"])
    assert inner.encoded == ["greeting", "order 1", "order 2", "order 1"]
    assert len(cached) == 2


def test_a_zero_sized_cache_still_encodes():
    cached = CachedEmbedder(HashingEmbedder(), max_entries=0)
    vectors = cached.encode(["a b c", "a b c"])
    assert vectors.shape == (2, 512) and len(cached) == 0
