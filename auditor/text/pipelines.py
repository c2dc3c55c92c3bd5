"""spaCy pipelines for English and Chinese (jieba), built once and shared by every matcher."""

from __future__ import annotations

import sys
from typing import Any

from auditor.resources import cache_dir

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


MAX_TEXT_CHARS = 2**31 - 1
"""``nlp.max_length`` of the pipelines. spaCy refuses texts over 1,000,000 characters by default (E088) because its
parser and NER need about 1 GB per 100,000; these blank pipelines (tokenizer, sentencizer, phrase matching) cost
about 80 bytes a character (measured: 15 MB for 200,000), so the length of a turn is bounded by the audit's own
size limits (``auditor.transcripts.limits``), not here."""
MAX_VOCAB_STRINGS = 20_000
"""Strings a pipeline's vocabulary may hold before it is built afresh (about 0.5 kB each; see ``refresh``)."""


class TextPipelines:
    """Lazily built spaCy ``blank("en")`` and ``blank("zh")`` (jieba) pipelines with a sentencizer.

    spaCy adds every new token text to the pipeline's vocabulary for good, so a long audit grows by every order
    number, name and typo it reads (measured: 100,000 conversations each with a fresh order number, about 50 MB).
    ``refresh`` drops a pipeline whose vocabulary holds more than ``max_strings`` strings; the next text builds a
    fresh one. Docs made before keep the old vocabulary alive while they are used, so nothing that holds one (a live
    session) breaks, and tokens read the same in either (spaCy's string ids are hashes of the text).
    """

    def __init__(self, max_strings: int = MAX_VOCAB_STRINGS):
        self.max_strings = max_strings
        self._built: dict[str, Any] = {}

    def for_lang(self, lang: str) -> Any:
        key = "zh" if lang == "zh" else "en"
        nlp = self._built.get(key)
        if nlp is None:
            nlp = self._built[key] = _build_zh() if key == "zh" else _build_en()
        return nlp

    def refresh(self) -> None:
        """Drop each pipeline whose vocabulary has grown past ``max_strings`` (cheap to call before every text)."""
        for key, nlp in list(self._built.items()):
            if len(nlp.vocab.strings) > self.max_strings:
                self._built.pop(key, None)


def _build_en() -> Any:
    nlp = import_spacy().blank("en")
    nlp.add_pipe("sentencizer")
    nlp.max_length = MAX_TEXT_CHARS
    return nlp


def _build_zh() -> Any:
    import jieba

    spacy = import_spacy()
    jieba.setLogLevel(60)
    jieba.dt.tmp_dir = cache_dir()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.add_pipe("sentencizer", config={"punct_chars": ZH_SENTENCE_PUNCT})
    nlp.max_length = MAX_TEXT_CHARS
    return nlp
