"""The embedder interface every backend implements, plus a cache so no text is embedded twice."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


class ModelUnavailableError(RuntimeError):
    """A model's weights are not installed; the message names the package that ships them."""


@runtime_checkable
class Embedder(Protocol):
    """Encode texts into L2-normalised float32 vectors, one row per text, order preserved."""

    name: str
    version: str
    dimension: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def encode_sorted(encode_batch, texts: Sequence[str], batch_size: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Encode in batches of similar length (less padding), then restore the input order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    chunks = [
        np.asarray(encode_batch([texts[i] for i in order[start : start + batch_size]]), dtype=np.float32)
        for start in range(0, len(order), batch_size)
    ]
    sorted_vectors = np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)
    vectors = np.empty_like(sorted_vectors)
    vectors[order] = sorted_vectors
    return normalise_rows(vectors)


class CachedEmbedder:
    """Wrap an embedder with a bounded text -> vector cache; only unseen texts reach the model."""

    def __init__(self, inner: Embedder, max_entries: int = 200_000):
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.dimension = inner.dimension
        self.max_entries = max_entries
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        if missing:
            for text, vector in zip(missing, self.inner.encode(missing), strict=True):
                self._cache[text] = vector
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._cache[text] for text in texts])
