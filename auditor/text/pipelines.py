"""spaCy pipelines for English and Chinese (jieba), built once and shared by every matcher."""

from __future__ import annotations

import os
import sys
import tempfile
from functools import cached_property
from typing import Any

ZH_SENTENCE_PUNCT = ["。", "！", "？", "；", "…", "!", "?", ";", "."]


def import_spacy() -> Any:
    """spaCy, imported without torch.

    thinc (spaCy's machine-learning layer) imports torch whenever it is installed, which costs about 1.1 s and
    200 MB of memory in every process (a batch run, each Dask worker, the API) although the auditor's pipelines are
    blank ones (tokenizer, sentence boundaries, phrase matching) that never use it. torch is hidden only while spaCy
    imports, so thinc records "no torch"; the MiniLM embedder and anything else import torch normally afterwards.
    When torch is already loaded, spaCy is imported as it is.
    """
    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError meanwhile
    try:
        import spacy
    finally:
        if sys.modules.get("torch", "") is None:
            del sys.modules["torch"]
    return spacy


class TextPipelines:
    """Lazily built spaCy ``blank("en")`` and ``blank("zh")`` (jieba) pipelines with a sentencizer."""

    @cached_property
    def en(self) -> Any:
        nlp = import_spacy().blank("en")
        nlp.add_pipe("sentencizer")
        return nlp

    @cached_property
    def zh(self) -> Any:
        import jieba

        spacy = import_spacy()
        jieba.setLogLevel(60)
        jieba.dt.tmp_dir = os.environ.get("AUDITOR_CACHE_DIR", tempfile.gettempdir())
        nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        nlp.add_pipe("sentencizer", config={"punct_chars": ZH_SENTENCE_PUNCT})
        return nlp

    def for_lang(self, lang: str) -> Any:
        return self.zh if lang == "zh" else self.en
