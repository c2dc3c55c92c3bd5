"""A model-free embedder from hashed character n-grams: fast, deterministic, lexical only (tests, smoke runs)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from auditor.embeddings.base import normalise_rows

_WORD = re.compile(r"[\w']+", re.UNICODE)


class HashingEmbedder:
    """Bag of word and character-trigram hashes; similar wording gives similar vectors, nothing more."""

    name = "hashing-ngrams"
    version = "1"

    def __init__(self, dimension: int = 512):
        self.dimension = dimension

    def _features(self, text: str) -> list[str]:
        lowered = text.casefold()
        words = _WORD.findall(lowered)
        grams = [f"w:{word}" for word in words if not word.isdigit()]
        compact = "".join(words)
        grams += [f"c:{compact[i : i + 3]}" for i in range(max(len(compact) - 2, 0))]
        grams += [f"b:{compact[i : i + 2]}" for i in range(max(len(compact) - 1, 0)) if not compact[i].isascii()]
        return grams

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram in self._features(text):
                digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimension
                vectors[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        return normalise_rows(vectors)
