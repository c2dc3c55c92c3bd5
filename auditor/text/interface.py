"""Interface text files (review pages, batch report): English and simplified Chinese as written, traditional
Chinese converted by OpenCC unless a key gives its own."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml


@lru_cache(maxsize=4)
def interface_texts(path: Path) -> dict[str, dict[str, str]]:
    """The text of ``path`` (``key: {en: ..., zh: ..., zh-Hant: ...}``) by language: ``en``, ``zh`` (simplified) and
    ``zh-Hant``: a key's own ``zh-Hant`` text where it has one, else its simplified text converted by OpenCC
    (``s2twp``: characters and Taiwan phrasing, e.g. 登录 -> 登入)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        "en": {key: value["en"] for key, value in raw.items()},
        "zh": {key: value["zh"] for key, value in raw.items()},
        "zh-Hant": {key: value.get("zh-Hant") or to_traditional(value["zh"]) for key, value in raw.items()},
    }


def to_traditional(text: str) -> str:
    """Simplified Chinese text in traditional characters with Taiwan phrasing (OpenCC ``s2twp``)."""
    return _s2twp().convert(text)


@lru_cache(maxsize=1)
def _s2twp() -> Any:
    import opencc

    return opencc.OpenCC("s2twp")
