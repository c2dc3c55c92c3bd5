"""Normalise text before matching: traditional -> simplified Chinese (OpenCC), variant spellings, language."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")

# OpenCC's t2s keeps Taiwan/HK variants that mainland text spells differently; match on one spelling.
VARIANTS = {
    "帐号": "账号",
    "帐户": "账户",
    "身分": "身份",
    "信用咭": "信用卡",
    "线上": "在线",
    "网路": "网络",
    "资讯": "信息",
    "软体": "软件",
    "简讯": "短信",
    "讯息": "信息",
}
_VARIANT_PATTERN = re.compile("|".join(map(re.escape, VARIANTS)))


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def detect_lang(text: str) -> str:
    """'zh' when Han characters at least match Latin words in number (one Han character ~ one word), else 'en'."""
    han = len(_HAN.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    return "zh" if han and han >= latin else "en"


_SCRIPT_BOUNDARY = re.compile(r"(?<=[\u3400-\u9fff])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[\u3400-\u9fff])")


def space_scripts(text: str) -> str:
    """Put a space where Han and Latin text touch, so an English tokenizer sees the English words."""
    return _SCRIPT_BOUNDARY.sub(" ", text)


def has_latin(text: str) -> bool:
    return bool(_LATIN_WORD.search(text))


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def to_simplified(text: str) -> str:
    """Traditional -> simplified with OpenCC t2s, then unify regional variants (帳號 -> 账号, 身分 -> 身份)."""
    if not has_han(text):
        return text
    simplified = _t2s().convert(text)
    return _VARIANT_PATTERN.sub(lambda match: VARIANTS[match.group(0)], simplified)


def normalise_text(text: str) -> str:
    """Text as the matchers see it: NFKC (full-width -> ASCII), simplified Chinese, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text)
    return " ".join(text.split())
