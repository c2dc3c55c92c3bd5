"""Build embedders by backend name, in one place, so the CLI, the API and tests load models the same way."""

from __future__ import annotations

from auditor.embeddings.base import CachedEmbedder, Embedder
from auditor.embeddings.hashing import HashingEmbedder
from auditor.embeddings.sentence_transformer import MINILM, SentenceTransformerEmbedder
from auditor.embeddings.use_multilingual import UseMultilingualEmbedder

DEFAULT_BACKEND = "use-m"
BACKENDS = ("use-m", "minilm", "hashing")
"""Named backends; anything else is taken as a path to a local sentence-transformers folder."""


def make_embedder(backend: str = DEFAULT_BACKEND, *, threads: int = 2) -> CachedEmbedder:
    """Return a cached embedder for a backend name or a sentence-transformers folder path."""
    inner: Embedder
    if backend == "use-m":
        inner = UseMultilingualEmbedder(threads=threads)
    elif backend == "minilm":
        inner = SentenceTransformerEmbedder(MINILM)
    elif backend == "hashing":
        inner = HashingEmbedder()
    else:
        inner = SentenceTransformerEmbedder(backend)
    return CachedEmbedder(inner)
