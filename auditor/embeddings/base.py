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


def encode_sorted(encode_batch, texts: Sequence[str], batch_size: int) -> np.ndarray:
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
    """Wrap an embedder with a bounded, least-recently-used text -> vector cache; only unseen texts reach the model.

    Scripted lines ("Thank you for calling...") repeat across thousands of conversations, so a batch audit embeds
    each of them once. Vectors live in fixed blocks of rows (no per-vector objects, nothing copied as it grows) and
    the least recently used text gives its row to a new one once ``max_entries`` are held, so memory stays bounded
    on a stream of any length. ``hits`` and ``misses`` count texts served from the cache and sent to the model.
    """

    BLOCK_ROWS = 4096

    def __init__(self, inner: Embedder, max_entries: int = 200_000):
        if max_entries < 0:
            raise ValueError(f"max_entries must be >= 0, got {max_entries}")
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.dimension = inner.dimension
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._slots: OrderedDict[str, int] = OrderedDict()
        self._blocks: list[np.ndarray] = []
        self._free: list[int] = []

    def __len__(self) -> int:
        return len(self._slots)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        missing = list(dict.fromkeys(text for text in texts if text not in self._slots))
        fresh = self.inner.encode(missing) if missing else None
        if fresh is not None and fresh.shape[1] != self.dimension:
            self.dimension = int(fresh.shape[1])  # a sentence-transformers folder tells its width once loaded
        fresh_rows = {text: row for row, text in enumerate(missing)}
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for index, text in enumerate(texts):
            row = fresh_rows.get(text)
            if row is not None:
                vectors[index] = fresh[row]  # type: ignore[index]
                continue
            slot = self._slots[text]
            self._slots.move_to_end(text)
            vectors[index] = self._blocks[slot // self.BLOCK_ROWS][slot % self.BLOCK_ROWS]
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        if fresh is not None:
            for text, vector in zip(missing, fresh, strict=True):
                self._store(text, vector)
        return vectors

    def _store(self, text: str, vector: np.ndarray) -> None:
        if self.max_entries == 0:
            return
        if len(self._slots) >= self.max_entries:
            _, slot = self._slots.popitem(last=False)
            self._free.append(slot)
        if not self._free:
            self._blocks.append(np.empty((self.BLOCK_ROWS, self.dimension), dtype=np.float32))
            start = (len(self._blocks) - 1) * self.BLOCK_ROWS
            self._free.extend(reversed(range(start, start + self.BLOCK_ROWS)))
        slot = self._free.pop()
        self._blocks[slot // self.BLOCK_ROWS][slot % self.BLOCK_ROWS] = vector
        self._slots[text] = slot
