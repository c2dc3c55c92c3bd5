"""What every vendor converter needs: typed field access naming the vendor's own field path, vendor times as
seconds, words joined with or without spaces (Chinese and Japanese are written without), and one output turn."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.records import parse_seconds, quoted, type_name

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
"""A protobuf ``Duration`` in JSON, as Google writes offsets: ``"1.250s"``."""
_ISO_DURATION = re.compile(r"^\s*PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?\s*$", re.IGNORECASE)
"""An ISO 8601 duration as Azure writes offsets: ``"PT1M2.5S"``."""
_CLOSE_UP = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
"""Characters written without a space before or after them (CJK ideographs, kana, full-width forms)."""


def label(path: str, name: str | int) -> str:
    """A field path as messages show it: ``results.items[3].start_time``."""
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """A required JSON object."""
    if value is None:
        raise TranscriptError(f"{where}: missing")
    if not isinstance(value, Mapping):
        raise TranscriptError(f"{where}: must be an object, got {type_name(value)}")
    return value


def optional_mapping(value: Any, where: str) -> Mapping[str, Any]:
    """An optional JSON object; absent is empty."""
    return {} if value is None else mapping(value, where)


def array(value: Any, where: str) -> list[Any]:
    """A required JSON array."""
    if value is None:
        raise TranscriptError(f"{where}: missing")
    if not isinstance(value, list):
        raise TranscriptError(f"{where}: must be a list, got {type_name(value)}")
    return value


def text(value: Any, where: str) -> str:
    """A required string."""
    if value is None:
        raise TranscriptError(f"{where}: missing")
    if not isinstance(value, str):
        raise TranscriptError(f"{where}: must be a string, got {type_name(value)}")
    return value


def optional_text(value: Any, where: str) -> str | None:
    """An optional string; blank is absent."""
    if value is None:
        return None
    return text(value, where).strip() or None


def seconds(value: Any, where: str) -> float | None:
    """Seconds as a number or a numeric string (Amazon Transcribe writes ``"4.87"``)."""
    return parse_seconds(value, where)


def scaled(value: Any, where: str, unit: float) -> float | None:
    """A time counted in ``unit`` seconds (milliseconds: 0.001; Azure's 100 ns ticks: 1e-7), as seconds."""
    count = parse_seconds(value, where)
    return None if count is None else round(count * unit, 3)


def duration(value: Any, where: str) -> float | None:
    """An offset written as text: ``"1.250s"`` (Google) or ``"PT1M2.5S"`` (ISO 8601, Azure)."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_seconds(value, where)
    if not isinstance(value, str):
        raise TranscriptError(f"{where}: must be a duration such as '1.5s', got {type_name(value)}")
    match = _DURATION.match(value)
    if match:
        return float(match.group(1))
    match = _ISO_DURATION.match(value)
    if match and any(match.groups()):
        hours, minutes, secs = (float(part) if part else 0.0 for part in match.groups())
        return round(hours * 3600 + minutes * 60 + secs, 3)
    raise TranscriptError(f"{where}: must be a duration such as '1.5s' or 'PT1.5S', got {quoted(value)}")


def join_words(words: list[str]) -> str:
    """Words joined by single spaces, except next to Chinese or Japanese characters, which take none."""
    joined = ""
    for word in words:
        if not word:
            continue
        if joined and not (_CLOSE_UP.match(joined[-1]) or _CLOSE_UP.match(word[0])):
            joined += " "
        joined += word
    return joined


def spoken_turn(
    speaker: str, said: str, start: float | None, end: float | None, where: str, **extra: Any
) -> dict[str, Any]:
    """One turn of the transcript contract; an end before its start is an error naming the vendor's field."""
    if start is not None and end is not None and end < start:
        raise TranscriptError(f"{where}: ends ({end:g} s) before it starts ({start:g} s)")
    turn: dict[str, Any] = {"speaker": speaker, "text": said, "start": start, "end": end}
    turn.update({key: value for key, value in extra.items() if value is not None})
    return turn


def short_id(name: str | None) -> str | None:
    """The last part of a resource name: ``projects/p/locations/l/conversations/abc`` -> ``abc``."""
    if not name:
        return None
    return name.rstrip("/").rsplit("/", 1)[-1] or None
