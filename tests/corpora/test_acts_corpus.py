"""Checks for the agent speech-act corpus in corpora/acts/."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

import opencc
import pytest
import yaml

ACTS_DIR = Path(__file__).resolve().parents[2] / "corpora" / "acts"
LANGS = ("en", "zh-Hans", "zh-Hant")
ACTS = {
    "performed",
    "offered",
    "promised",
    "refused",
    "cannot",
    "skipped",
    "not_available",
    "negated",
    "mentioned",
}
DOMAINS = {
    "telecom",
    "ecommerce",
    "insurance",
    "utilities",
    "airline",
    "it_helpdesk",
    "government",
    "car_rental",
    "delivery",
    "streaming",
    "gym",
}
ACTION_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


@cache
def load(lang: str) -> tuple[dict[str, str], ...]:
    rows = yaml.safe_load((ACTS_DIR / f"{lang}.yaml").read_text(encoding="utf-8"))
    assert isinstance(rows, list), f"{lang}.yaml must hold a list of items"
    return tuple(rows)


@pytest.mark.parametrize("lang", LANGS)
def test_rows_are_well_formed(lang: str) -> None:
    for row in load(lang):
        assert set(row) == {"text", "act", "domain", "action"}, row
        assert isinstance(row["text"], str) and row["text"].strip() == row["text"] and row["text"], row
        assert row["act"] in ACTS, row
        assert row["domain"] in DOMAINS, row
        assert ACTION_RE.match(row["action"]), row


@pytest.mark.parametrize("lang", LANGS)
def test_size_and_act_shares(lang: str) -> None:
    rows = load(lang)
    assert len(rows) >= 550
    counts = Counter(r["act"] for r in rows)
    assert set(counts) == ACTS
    for act in ACTS:
        assert counts[act] / len(rows) >= 0.05, (lang, act, counts[act])
    assert 0.30 <= counts["performed"] / len(rows) <= 0.40


def test_no_duplicate_texts() -> None:
    texts = [r["text"] for lang in LANGS for r in load(lang)]
    dups = [t for t, c in Counter(texts).items() if c > 1]
    assert not dups, dups[:10]


def test_every_domain_in_every_language() -> None:
    for lang in LANGS:
        assert {r["domain"] for r in load(lang)} == DOMAINS, lang


def test_traditional_is_not_a_converted_copy() -> None:
    t2s = opencc.OpenCC("t2s")
    simplified = {r["text"] for r in load("zh-Hans")}
    hant = [r["text"] for r in load("zh-Hant")]
    converted = [t2s.convert(t) for t in hant]
    # Lines really are written in traditional characters ...
    changed = sum(c != t for c, t in zip(converted, hant, strict=True))
    assert changed / len(hant) >= 0.9
    # ... and are not the simplified lines run through a converter.
    copies = [t for t, c in zip(hant, converted, strict=True) if c in simplified]
    assert len(copies) / len(hant) <= 0.02, copies[:10]
