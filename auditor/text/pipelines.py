"""spaCy pipelines for English and Chinese (jieba), built once and shared by every matcher."""

from __future__ import annotations

import os
import tempfile
from functools import cached_property
from typing import Any

ZH_SENTENCE_PUNCT = ["。", "！", "？", "；", "…", "!", "?", ";", "."]


class TextPipelines:
    """Lazily built spaCy ``blank("en")`` and ``blank("zh")`` (jieba) pipelines with a sentencizer."""

    @cached_property
    def en(self) -> Any:
        import spacy

        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return nlp

    @cached_property
    def zh(self) -> Any:
        import jieba
        import spacy

        jieba.setLogLevel(60)
        jieba.dt.tmp_dir = os.environ.get("AUDITOR_CACHE_DIR", tempfile.gettempdir())
        nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        nlp.add_pipe("sentencizer", config={"punct_chars": ZH_SENTENCE_PUNCT})
        return nlp

    def for_lang(self, lang: str) -> Any:
        return self.zh if lang == "zh" else self.en
