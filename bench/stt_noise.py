"""Make a transcript look like speech-to-text output: no casing or punctuation, fillers, a dropped or doubled word.

Call transcripts reach the auditor without punctuation or casing, with fillers (uh, um, you know; 嗯, 那个, 就是)
and recognition slips. ``noisy`` turns one clean turn into such a turn; ``noisy_conversation`` does it to every
spoken turn of a conversation (events such as STAR's ``action`` turns are never spoken, so never touched).
Everything is driven by the ``random.Random`` passed in, so a seed reproduces the same noisy copy.
"""

from __future__ import annotations

import dataclasses
import random
import re
import unicodedata
from dataclasses import dataclass

from auditor.conversation import Conversation
from auditor.text.normalise import detect_lang

FILLERS = {
    "en": ("uh", "um", "you know", "like", "i mean"),
    "zh": ("嗯", "那个", "就是", "然后"),
}


@dataclass(frozen=True)
class NoiseLevel:
    """Rates per word (Chinese: per jieba word)."""

    filler: float = 0.08
    """Chance of a filler before a word (the first word too)."""
    slip: float = 0.05
    """Chance a word is dropped or said twice (half each)."""


DEFAULT_LEVEL = NoiseLevel()

_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d{3})")
_KEEP_BETWEEN = re.compile(r"(?<=\w)'(?=\w)|(?<=\d)\.(?=\d)")
"""Apostrophes inside words (don't) and decimal points stay: recognisers write them."""
_PLACEHOLDER = {"'": "\uf8f0", ".": "\uf8f1"}


def strip_punctuation(text: str) -> str:
    """Lowercase; every punctuation mark or symbol becomes a space, except word-internal ' and decimal points."""
    text = _DIGIT_COMMA.sub("", unicodedata.normalize("NFKC", text).lower())
    text = _KEEP_BETWEEN.sub(lambda match: _PLACEHOLDER[match.group(0)], text)
    kept = "".join(" " if unicodedata.category(char)[0] in "PS" else char for char in text)
    for original, placeholder in _PLACEHOLDER.items():
        kept = kept.replace(placeholder, original)
    return " ".join(kept.split())


def _words(text: str, lang: str) -> list[str]:
    if lang != "zh":
        return text.split()
    import jieba

    jieba.setLogLevel(60)
    return [word for word in jieba.lcut(text) if word.strip()]


def _join(words: list[str], lang: str) -> str:
    if lang != "zh":
        return " ".join(words)
    # Chinese is written without spaces; keep one between two Latin/digit words so they stay apart.
    out = ""
    for word in words:
        if out and out[-1].isascii() and out[-1].isalnum() and word[0].isascii() and word[0].isalnum():
            out += " "
        out += word
    return out


def noisy(text: str, lang: str | None, rng: random.Random, level: NoiseLevel = DEFAULT_LEVEL) -> str:
    """The turn as a speech recogniser might have written it (``lang`` 'zh' or 'en'; None: detect)."""
    lang = "zh" if (lang or detect_lang(text)).startswith("zh") else "en"
    fillers = FILLERS[lang]
    words: list[str] = []
    for word in _words(strip_punctuation(text), lang):
        if rng.random() < level.filler:
            words.append(rng.choice(fillers))
        slip = rng.random()
        if slip < level.slip / 2:
            continue
        words.append(word)
        if slip < level.slip:
            words.append(word)
    return _join(words, lang)


def noisy_conversation(conversation: Conversation, seed: int | str, level: NoiseLevel = DEFAULT_LEVEL) -> Conversation:
    """Copy with every spoken turn made noisy; events, indices, labels and the id are kept.

    The generator is seeded by ``seed`` and the conversation id, so a conversation gets the same noise whatever
    else is in the batch.
    """
    rng = random.Random(f"{seed}:{conversation.id}")
    turns = [
        dataclasses.replace(turn, text=noisy(turn.text, conversation.lang, rng, level)) if turn.spoken else turn
        for turn in conversation.turns
    ]
    return dataclasses.replace(conversation, turns=turns)
