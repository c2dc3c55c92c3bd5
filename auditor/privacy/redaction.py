"""Redact personal data from text before it leaves the auditor in a report: phones, e-mails, cards, IDs, IBANs.

Each kind is a pattern plus, where the format has one, its checksum (Luhn for card numbers, ISO 7064 MOD 11-2
for Chinese resident IDs, mod-97 for IBANs), so order and reference numbers are not taken for card numbers.
Patterns are bounded with look-arounds on ASCII letters and digits instead of ``\\b``: in Python a Han
character is a word character, so ``\\b`` never fires in "电话13812345678谢谢". Full-width digits are read as
digits (the text is mapped one character to one, so positions do not move).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_FULL_WIDTH = str.maketrans(
    {chr(0xFF10 + digit): str(digit) for digit in range(10)}
    | {"\uff0b": "+", "\uff0d": "-", "\u3000": " ", "\uff20": "@", "\uff0e": ".", "\uff08": "(", "\uff09": ")"}
)

_NOT_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_NOT_ALNUM_AFTER = r"(?![A-Za-z0-9])"
_NOT_DIGIT_BEFORE = r"(?<![0-9])"
_NOT_DIGIT_AFTER = r"(?![0-9])"


@dataclass(frozen=True)
class PiiKind:
    """One kind of personal data: its placeholder, pattern, and an optional check on the matched text."""

    name: str
    placeholder: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] | None = None


def luhn_valid(number: str) -> bool:
    """The Luhn checksum of payment card numbers (digits only; separators are ignored)."""
    digits = [int(ch) for ch in number if ch.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def chinese_id_valid(text: str) -> bool:
    """An 18-character PRC resident ID: 17 digits, a valid birth month/day, and the MOD 11-2 check character."""
    compact = text.replace(" ", "").upper()
    if len(compact) != 18 or not compact[:17].isdigit():
        return False
    month, day = int(compact[10:12]), int(compact[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(compact[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == compact[17]


def iban_valid(text: str) -> bool:
    """ISO 13616 IBAN: country code, check digits, and the mod-97 remainder of 1."""
    compact = re.sub(r"[\s-]", "", text).upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


KINDS: tuple[PiiKind, ...] = (
    PiiKind(
        "email",
        "[EMAIL]",
        re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}" + _NOT_ALNUM_AFTER
        ),
    ),
    PiiKind(
        "iban",
        "[IBAN]",
        re.compile(
            _NOT_ALNUM_BEFORE
            + r"[A-Za-z]{2}[0-9]{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,4})?"
            + _NOT_ALNUM_AFTER
        ),
        iban_valid,
    ),
    PiiKind(
        "cn_id",
        "[ID]",
        re.compile(_NOT_DIGIT_BEFORE + r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}[0-9]{4}[0-9]{3}[0-9Xx]" + _NOT_ALNUM_AFTER),
        chinese_id_valid,
    ),
    PiiKind(
        "card",
        "[CARD]",
        re.compile(r"(?<![0-9+])[1-9](?:[ -]?[0-9]){12,18}" + _NOT_DIGIT_AFTER),  # after "+" it is a phone
        luhn_valid,
    ),
    PiiKind(
        "phone",
        "[PHONE]",
        re.compile(
            # international: +CC or 00CC, then 6-14 more digits with optional separators / (area)
            r"(?:(?<![0-9A-Za-z+])(?:\+|00)[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,5}[0-9]"
            + _NOT_DIGIT_AFTER
            + ")"
            # Chinese mobile: 1[3-9]x xxxx xxxx, with optional separators
            + r"|(?:"
            + _NOT_DIGIT_BEFORE
            + r"1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}"
            + _NOT_DIGIT_AFTER
            + ")"
            # North American with separators: (555) 123-4567, 555-123-4567
            + r"|(?:"
            + _NOT_DIGIT_BEFORE
            + r"\(?[2-9][0-9]{2}\)?[ .-][0-9]{3}[ .-][0-9]{4}"
            + _NOT_DIGIT_AFTER
            + ")"
        ),
    ),
)
"""Applied in this order: a span taken by an earlier kind is not looked at again."""


def find_pii(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind name) of every piece of personal data in ``text``, in order, not overlapping."""
    searchable = text.translate(_FULL_WIDTH)
    taken: list[tuple[int, int, str]] = []
    for kind in KINDS:
        for match in kind.pattern.finditer(searchable):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end, _ in taken):
                continue
            if kind.valid is not None and not kind.valid(match.group(0)):
                continue
            taken.append((start, end, kind.name))
    return sorted(taken)


_PLACEHOLDERS = {kind.name: kind.placeholder for kind in KINDS}


def redact(text: str) -> str:
    """``text`` with phones, e-mails, card numbers (Luhn), Chinese resident IDs and IBANs replaced by [KIND]."""
    spans = find_pii(text)
    if not spans:
        return text
    pieces: list[str] = []
    cursor = 0
    for start, end, name in spans:
        pieces += [text[cursor:start], _PLACEHOLDERS[name]]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
