"""Decode transcript bytes: UTF-8, UTF-16/32 (BOM or not), GBK or Big5 Chinese recognised by its characters.

The order: a byte-order mark decides (UTF-8, UTF-16, UTF-32); UTF-16 without one is recognised by the NUL bytes of
its ASCII characters, all on one side; then UTF-8; then, unless the file is mostly valid UTF-8 with some damage,
GB18030 (a superset of GBK) and Big5 (Windows and Hong Kong variants), keeping the one whose characters are common
Chinese ones (``common_hanzi``), and only when enough of them are, so Latin-1 or Japanese text is never misread as
Chinese. Text that is none of these is decoded as UTF-8 with every bad byte kept as a lone surrogate
(``surrogateescape``) so the format reader skips just the lines or records holding one (``text_problem`` names
them); binary data (NUL bytes and 20% bad bytes in the first 8,000) is one problem for the whole file. A character
cut off at the very end (a truncated file) is dropped, not an error. ``bench/fuzz_inputs.py`` measures all this.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from auditor.transcripts.common_hanzi import COMMON_HANZI

BINARY_SNIFF_BYTES = 8000
BINARY_MIN_BAD_SHARE = 0.2
UTF16_SNIFF_BYTES = 4096
UTF16_MIN_NUL_SHARE = 0.05
UTF16_MIN_NUL_SHARE_IF_UTF8 = 0.3
MAX_NUL_SHARE_IF_UTF8 = 0.05
"""Most NUL bytes a file with a UTF-16/32 byte-order mark may hold for its lines to be read as UTF-8 instead."""
LEGACY_CHINESE = ("gb18030", "cp950", "big5hkscs")
MIN_CHINESE_SCORE = 0.7
"""Share of a legacy decoding's non-ASCII characters that must be common hanzi or Chinese punctuation."""
MIN_HANZI = 2
SCORED_CHARS = 20_000

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_TRUNCATION_REASONS = frozenset({"unexpected end of data", "truncated data", "incomplete multibyte sequence"})
_CHINESE_PUNCTUATION = frozenset("，。？！：；、“”‘’（）《》〈〉【】…—～·％「」『』﹐﹑﹒﹔﹕﹖﹗　‧•") | frozenset(
    chr(code) for code in range(0xFF01, 0xFF5F)
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f]")


@dataclass(frozen=True)
class DecodedText:
    """A file's text and the encoding it was read with (``utf-8`` text may hold escaped bad bytes)."""

    text: str
    encoding: str


class UndecodableFile(ValueError):
    """A file that is not text in any encoding the loaders read; ``line`` is where the first bad byte is."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def decode_transcript(raw: bytes) -> DecodedText:
    """Decode a whole transcript file, or raise ``UndecodableFile`` for binary data and broken UTF-16/32."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            if encoding == "utf-8":
                return _utf8(raw[len(bom) :], offset=len(bom), legacy=False)
            if _utf8_lines_after_junk(raw, len(bom), encoding):
                break
            return DecodedText(_unicode_with_bom(raw, len(bom), encoding), encoding)
    utf16 = _utf16_without_bom(raw, UTF16_MIN_NUL_SHARE_IF_UTF8)
    if utf16 is not None:
        return utf16
    return _utf8(raw, offset=0, legacy=True)


def _utf8_lines_after_junk(raw: bytes, start: int, encoding: str, sample: int = 65_536) -> bool:
    """Whether a file that starts like a UTF-16/32 byte-order mark is rather a UTF-8 file whose first line is junk
    (a broken record that happens to start with FF FE): read as UTF-16/32 it has far fewer line breaks than newline
    bytes, and after its first newline byte hardly any NUL (which the ASCII characters of UTF-16/32 put in every
    other byte). Reading it as UTF-16 would lose every good line after the junk one."""
    head = raw[start : start + sample]
    newline_bytes = head.count(b"\n")
    if not newline_bytes:
        return False
    tail = head[head.index(b"\n") + 1 :]
    if not tail.strip() or tail.count(0) > MAX_NUL_SHARE_IF_UTF8 * len(tail):
        return False
    return head.decode(encoding, "replace").count("\n") * 2 < newline_bytes


def text_problem(text: str) -> str | None:
    """Why a string is not valid text: an undecodable byte or an unpaired surrogate; None when it is fine."""
    if text.isascii():
        return None
    match = _SURROGATE.search(text)
    if match is None:
        return None
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        return f"not UTF-8 text (byte 0x{code - 0xDC00:02x} at character {match.start() + 1})"
    return f"unpaired surrogate U+{code:04X} at character {match.start() + 1} (not valid Unicode)"


def first_bad_line(text: str) -> int | None:
    """The 1-based line of the first undecodable byte or unpaired surrogate in a text."""
    match = _SURROGATE.search(text)
    return None if match is None else text.count("\n", 0, match.start()) + 1


def chinese_score(text: str) -> tuple[float, int]:
    """(share of the non-ASCII characters that are common hanzi or Chinese punctuation, number of hanzi)."""
    sample = "".join(_NON_ASCII.findall(text))[:SCORED_CHARS]
    hanzi = common = 0
    for char in sample:
        if "\u4e00" <= char <= "\u9fff":
            hanzi += 1
            common += char in COMMON_HANZI
        elif char in _CHINESE_PUNCTUATION:
            common += 1
    return (common / len(sample) if sample else 0.0), hanzi


def _utf8(body: bytes, *, offset: int, legacy: bool) -> DecodedText:
    """UTF-8; else (without a BOM) GBK or Big5 when they read as Chinese; else UTF-8 with escaped bad bytes."""
    try:
        return DecodedText(_decode_forgiving_truncation(body, "utf-8"), "utf-8")
    except UnicodeDecodeError as error:
        first_error = error
    if legacy and (utf16 := _utf16_without_bom(body, UTF16_MIN_NUL_SHARE)) is not None:
        return utf16
    escaped = body.decode("utf-8", "surrogateescape")
    if legacy and not _mostly_utf8(escaped):
        chinese = _legacy_chinese(body)
        if chinese is not None:
            return chinese
    if _looks_binary(body):
        bad = first_error.start
        line = body.count(b"\n", 0, bad) + 1
        reason = (
            f"binary data, not a text file (byte 0x{body[bad]:02x} at offset {bad + offset} is not UTF-8, "
            f"and the file holds NUL bytes)"
        )
        raise UndecodableFile(reason, line)
    return DecodedText(escaped, "utf-8")


def _looks_binary(body: bytes) -> bool:
    """NUL bytes and many bytes that are not UTF-8 in the first 8,000 bytes (git looks for a NUL there; stray NULs
    in a damaged text file are not enough)."""
    head = body[:BINARY_SNIFF_BYTES]
    if b"\0" not in head:
        return False
    bad = len(_SURROGATE.findall(head.decode("utf-8", "surrogateescape")))
    return bad >= BINARY_MIN_BAD_SHARE * len(head)


def _mostly_utf8(escaped: str) -> bool:
    """Whether valid UTF-8 characters outnumber the characters the bad bytes could be: UTF-8 with damage, so
    reading it all as GBK or Big5 would garble the good part (a GBK file has few valid UTF-8 sequences by chance)."""
    bad_bytes = len(_SURROGATE.findall(escaped))
    valid = sum(len(run) for run in _NON_ASCII.findall(escaped)) - bad_bytes
    return valid > bad_bytes / 2


def _unicode_with_bom(raw: bytes, start: int, encoding: str) -> str:
    """UTF-16/32 after its BOM; anything but a truncated last character is a problem for the file."""
    body = raw[start:]
    try:
        return _decode_forgiving_truncation(body, encoding)
    except UnicodeDecodeError as error:
        line = body[: error.start].decode(encoding, "replace").count("\n") + 1
        name = encoding.removesuffix("-le").removesuffix("-be").upper()
        reason = f"not valid {name} text (bad bytes at offset {error.start + start}: {error.reason})"
        raise UndecodableFile(reason, line) from None


def _utf16_without_bom(raw: bytes, min_nul_share: float) -> DecodedText | None:
    """UTF-16 without a BOM: the NUL high bytes of ASCII characters (newlines at least) all on one side.

    ``min_nul_share`` of the 16-bit units must have them: a little for bytes that are not UTF-8 anyway (Chinese
    UTF-16 has few ASCII characters), a lot for bytes that are (UTF-8 text may hold a few stray NULs). Binary data
    has NULs on both sides, or decodes to control characters.
    """
    sample = raw[:UTF16_SNIFF_BYTES]
    if len(sample) < 4:
        return None
    units = len(sample) // 2
    even, odd = sample[0::2].count(0) / units, sample[1::2].count(0) / units
    for encoding, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        # ASCII characters put a NUL on one side; on the other only U+XX00 characters do (一 U+4E00 is common)
        if zeros >= min_nul_share and others <= zeros / 4:
            try:
                text = _decode_forgiving_truncation(raw, encoding)
            except UnicodeDecodeError:
                return None
            return None if _CONTROL.search(text, 0, UTF16_SNIFF_BYTES) else DecodedText(text, encoding)
    return None


def _legacy_chinese(body: bytes) -> DecodedText | None:
    """GB18030 or Big5, whichever reads as common Chinese (when one does well enough)."""
    best: tuple[float, str, str] | None = None
    for encoding in LEGACY_CHINESE:
        try:
            text = _decode_forgiving_truncation(body, encoding)
        except UnicodeDecodeError:
            continue
        score, hanzi = chinese_score(text)
        if hanzi >= MIN_HANZI and score >= MIN_CHINESE_SCORE and (best is None or score > best[0]):
            best = (score, encoding, text)
    return None if best is None else DecodedText(best[2], best[1])


def _decode_forgiving_truncation(body: bytes, encoding: str) -> str:
    """Decode strictly, except that a character cut off at the very end (a truncated file) is dropped."""
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as error:
        if error.end != len(body) or len(body) - error.start > 3 or error.reason not in _TRUNCATION_REASONS:
            raise
        return body[: error.start].decode(encoding)
