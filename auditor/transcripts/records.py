"""Turn JSON-like records (the transcript input contract) into conversations, naming every bad field."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ParamSpec, TypeVar

from auditor.conversation import Conversation, Turn
from auditor.privacy.redaction import redact
from auditor.transcripts.decoding import text_problem
from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.roles import normalise_role

CONVERSATION_FIELDS = frozenset({"id", "agent_id", "lang", "started_at", "turns"})
TURN_FIELDS = frozenset({"speaker", "text", "start", "end", "steps"})
MAX_REASONS = 5
MAX_NESTING = 64
"""Deepest nesting of a field kept as it is (unknown fields): deeper JSON is refused, so nothing downstream recurses
into it (serialising results, copying metadata) and hits Python's recursion limit."""

P = ParamSpec("P")
T = TypeVar("T")

_ENGLISH = frozenset({"en", "eng", "english"})
_CHINESE = frozenset({"zh", "zho", "chi", "cmn", "chinese", "中文", "汉语", "漢語", "普通话", "普通話"})


def conversation_from_mapping(obj: Mapping[str, Any], *, source: str, default_id: str) -> Conversation:
    """Build a conversation from one contract record; raise ``TranscriptError`` naming every bad field."""
    if not isinstance(obj, Mapping):
        raise TranscriptError(f"must be a JSON object, got {type_name(obj)}")
    errors = list(value_problems({key: value for key, value in obj.items() if key != "turns"}))
    conversation_id = _collect(errors, parse_id, obj.get("id"), "id") or default_id
    agent_id = _collect(errors, parse_id, obj.get("agent_id"), "agent_id")
    lang = _collect(errors, parse_lang, obj.get("lang"), "lang")
    started_at = _collect(errors, parse_started_at, obj.get("started_at"), "started_at")
    turns = _turns(obj.get("turns"), errors)
    if errors:
        raise TranscriptError(join_reasons(errors))
    metadata = {key: value for key, value in obj.items() if key not in CONVERSATION_FIELDS}
    return Conversation(
        id=conversation_id,
        turns=turns,
        agent_id=agent_id,
        lang=lang,
        started_at=started_at,
        metadata=metadata,
        source=source,
    )


def turn_from_mapping(obj: Any, *, index: int, path: str = "") -> Turn:
    """Build the turn at input position ``index``; errors name fields under ``path`` (e.g. ``turns[3]``)."""
    if not isinstance(obj, Mapping):
        raise TranscriptError(f"{path or 'turn'}: must be a JSON object, got {type_name(obj)}")
    errors = list(value_problems(obj, path))
    speaker = _collect(errors, _required_string, obj.get("speaker"), _label(path, "speaker"), True)
    text = _collect(errors, _required_string, obj.get("text"), _label(path, "text"), False)
    start = _collect(errors, parse_seconds, obj.get("start"), _label(path, "start"))
    end = _collect(errors, parse_seconds, obj.get("end"), _label(path, "end"))
    steps = _collect(errors, _parse_steps, obj.get("steps"), _label(path, "steps"))
    if start is not None and end is not None and end < start:
        errors.append(f"{_label(path, 'end')}: {end:g} is before start {start:g}")
    if errors or speaker is None or text is None:
        raise TranscriptError(join_reasons(errors))
    extra = {key: value for key, value in obj.items() if key not in TURN_FIELDS}
    return Turn(
        index=index,
        speaker=speaker,
        role=normalise_role(speaker),
        text=text,
        start=start,
        end=end,
        gold_steps=steps,
        extra=extra,
    )


def parse_id(value: Any, label: str) -> str | None:
    """Read an identifier: a string or an integer; empty means absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TranscriptError(f"{label}: must be a string, got {type_name(value)}")
    return str(value).strip() or None


def parse_lang(value: Any, label: str = "lang") -> str | None:
    """Map a language tag onto ``en``/``zh``/None (``zh-Hant``, ``zh-CN``, ``en-US``... are accepted)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TranscriptError(f"{label}: must be a string, got {type_name(value)}")
    tag = value.strip().casefold().replace("_", "-")
    if not tag:
        return None
    primary = tag.split("-", 1)[0]
    if primary in _ENGLISH:
        return "en"
    if primary in _CHINESE:
        return "zh"
    raise TranscriptError(f"{label}: unsupported language {quoted(value)} (expected en, zh or null)")


def parse_started_at(value: Any, label: str) -> str | None:
    """Keep a start time as text (ISO 8601 expected; a bare number is kept as written)."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TranscriptError(f"{label}: must be a string, got {type_name(value)}")


def parse_seconds(value: Any, label: str) -> float | None:
    """Read an optional time in seconds: a number or a numeric string, finite and not negative."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TranscriptError(f"{label}: must be a number of seconds, got {type_name(value)}")
    try:
        seconds = float(value)
    except OverflowError:
        raise TranscriptError(f"{label}: must be a finite number of seconds >= 0, got a number too large") from None
    except ValueError:
        raise TranscriptError(f"{label}: must be a number of seconds, got {quoted(value)}") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise TranscriptError(f"{label}: must be a finite number of seconds >= 0, got {quoted(value)}")
    return seconds


def value_problems(value: Any, path: str = "") -> Iterator[str]:
    """Name every string in a JSON value that is not valid text, and any nesting deeper than ``MAX_NESTING``.

    Walks without recursion, so a hostile record cannot exhaust the stack; labels read ``turns[2].text``.
    """
    if isinstance(value, Mapping) and _flat_and_valid(value):
        return  # the common case, checked fast: a turn or record of plain strings and numbers
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            reason = text_problem(item)
            if reason is not None:
                yield f"{_short(where) or 'value'}: {reason}"
        elif isinstance(item, Mapping | list | tuple) and depth > MAX_NESTING:
            yield f"{_short(where)}: nested more than {MAX_NESTING} levels deep"
        elif isinstance(item, Mapping):
            children = []
            for key, child in item.items():
                label = _label(where, str(key))
                reason = text_problem(key) if isinstance(key, str) else None
                if reason is not None:
                    yield f"{_short(where) or 'value'}: field name {reason}"
                    label = _label(where, ascii(key))
                children.append((child, label, depth + 1))
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{where}[{index}]", depth + 1) for index, child in reversed(list(enumerate(item))))


_SCALARS = (int, float, bool, type(None))


def _flat_and_valid(mapping: Mapping[Any, Any]) -> bool:
    """Whether every key and value is a scalar, and every string valid text (so there is nothing to walk)."""
    for key, value in mapping.items():
        if type(value) is str:
            if not value.isascii() and text_problem(value) is not None:
                return False
        elif type(value) not in _SCALARS:
            return False
        if type(key) is str and not key.isascii() and text_problem(key) is not None:
            return False
    return True


def _short(label: str, limit: int = 80) -> str:
    """A field label as a message shows it (deep or long keys make long labels)."""
    return label if len(label) <= limit else f"{label[:limit]}..."


def quoted(value: Any, limit: int = 60) -> str:
    """``repr`` of a bad value for a message, cut short so a 10 MB field does not flood the report, and with
    personal data redacted: error messages end up in logs and on stderr."""
    if not isinstance(value, str):
        return repr(value)
    shown = redact(value[: limit + 40])  # a little more than is shown, so a number at the cut is still recognised
    if len(value) <= limit:
        return repr(shown)
    return f"{shown[:limit]!r}... ({len(value):,} characters)"


def shown_id(conversation_id: str, limit: int = 60) -> str:
    """A conversation id as a message shows it: cut short, and printable even when it holds bad bytes."""
    printable = conversation_id.encode("utf-8", "backslashreplace").decode("utf-8")
    return printable if len(printable) <= limit else f"{printable[:limit]}..."


def type_name(value: Any) -> str:
    """Name a value's type the way a JSON user would."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def join_reasons(reasons: list[str]) -> str:
    """Join field errors into one reason, capped so a broken file does not flood the report."""
    shown = "; ".join(reasons[:MAX_REASONS])
    hidden = len(reasons) - MAX_REASONS
    return f"{shown}; and {hidden} more" if hidden > 0 else shown


def _turns(value: Any, errors: list[str]) -> list[Turn]:
    """Build every turn, collecting the errors of all of them."""
    if value is None:
        errors.append("turns: missing")
        return []
    if not isinstance(value, list):
        errors.append(f"turns: must be a list, got {type_name(value)}")
        return []
    if not value:
        errors.append("turns: empty")
    turns: list[Turn] = []
    for index, raw in enumerate(value):
        try:
            turns.append(turn_from_mapping(raw, index=index, path=f"turns[{index}]"))
        except TranscriptError as error:
            errors.append(error.reason)
    return turns


def _required_string(value: Any, label: str, non_empty: bool) -> str:
    """Read a required string field (``speaker`` must also be non-blank)."""
    if value is None:
        raise TranscriptError(f"{label}: missing")
    if not isinstance(value, str):
        raise TranscriptError(f"{label}: must be a string, got {type_name(value)}")
    if non_empty and not value.strip():
        raise TranscriptError(f"{label}: empty")
    return value


def _parse_steps(value: Any, label: str) -> tuple[str, ...] | None:
    """Read gold step labels: a list of step ids."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(isinstance(step, str) for step in value):
        raise TranscriptError(f"{label}: must be a list of strings, got {type_name(value)}")
    return tuple(value)


def _collect(errors: list[str], parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """Call ``parse``; on ``TranscriptError`` record its reason and return None."""
    try:
        return parse(*args, **kwargs)
    except TranscriptError as error:
        errors.append(error.reason)
        return None


def _label(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
