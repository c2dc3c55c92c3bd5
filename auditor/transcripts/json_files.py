"""Read ``.jsonl`` (one conversation a line) and ``.json`` (one conversation or a list) transcripts.

An object without ``turns`` may be a vendor's transcript (Amazon Transcribe, Contact Lens, Google CCAI Insights,
Azure speech): ``vendors`` recognises it by its content and converts it; an object that is none of them is one
problem saying which formats are known.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from typing import Any

from auditor.conversation import Conversation
from auditor.transcripts.decoding import text_problem
from auditor.transcripts.problems import FileLoad, Located, TranscriptError
from auditor.transcripts.records import conversation_from_mapping, type_name
from auditor.transcripts.vendors import NOT_A_TRANSCRIPT, vendor_of

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def read_jsonl(text: str, source: str, stem: str) -> FileLoad:
    """Load every good line; each bad line is one problem with its 1-based line number."""
    loaded = FileLoad()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = decode_jsonl_line(line.removeprefix("\ufeff"))  # files joined with `cat` keep their BOMs
            conversation = conversation_from_record(record, source=source, default_id=f"{stem}-{number}")
        except TranscriptError as error:
            loaded.problem(source, number, error.reason)
            continue
        loaded.located.append(Located(conversation, number, f"{source}:{number}"))
    return loaded


def read_json(text: str, source: str, stem: str) -> FileLoad:
    """Load one conversation object or a list of them; a bad item is a problem naming its index.

    A list broken part-way (a truncated file, a syntax error) still yields the items before the break.
    """
    loaded = FileLoad()
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        _load_items_before_error(loaded, text, source, stem, error)
        return loaded
    if isinstance(document, list):
        for index, record in enumerate(document):
            _load_item(loaded, record, source, default_id=f"{stem}-{index}", where=f"{source}[{index}]")
    elif isinstance(document, Mapping):
        _load_item(loaded, document, source, default_id=stem, where=source)
    else:
        reason = f"must be a conversation object or a list of them, got {type_name(document)}"
        loaded.problem(source, None, reason)
    return loaded


def conversation_from_record(record: Any, *, source: str, default_id: str) -> Conversation:
    """Build a conversation from a contract record or a known vendor's JSON object (recognised by content)."""
    if not isinstance(record, Mapping) or "turns" in record:
        return conversation_from_mapping(record, source=source, default_id=default_id)
    vendor = vendor_of(record)
    if vendor is None:
        try:
            return conversation_from_mapping(record, source=source, default_id=default_id)
        except TranscriptError as error:
            raise TranscriptError(error.reason.replace("turns: missing", NOT_A_TRANSCRIPT, 1)) from None
    try:
        converted = vendor.convert(record, default_id)
        return conversation_from_mapping(converted, source=source, default_id=default_id)
    except TranscriptError as error:
        raise TranscriptError(f"{vendor.name} JSON: {error.reason}") from None
    except RecursionError:
        raise TranscriptError(f"{vendor.name} JSON: nested too deeply") from None


def is_vendor_json(text: str) -> bool:
    """Whether a file's text (whatever its extension) is one JSON object of a known vendor's format."""
    if not text.lstrip("\ufeff \t\r\n").startswith("{"):
        return False
    try:
        document = json.loads(text.lstrip("\ufeff"))
    except (ValueError, RecursionError):
        return False
    return isinstance(document, Mapping) and vendor_of(document) is not None


def decode_jsonl_line(line: str) -> Mapping[str, Any]:
    """Parse one JSON Lines line into an object; raise ``TranscriptError`` saying what is wrong with it."""
    problem = text_problem(line)
    if problem is not None:
        raise TranscriptError(problem)
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as error:
        raise TranscriptError(json_error_reason(error)) from None
    if not isinstance(record, Mapping):
        raise TranscriptError(f"must be a JSON object, got {type_name(record)}")
    return record


def json_error_reason(error: ValueError | RecursionError) -> str:
    """Say why JSON text did not parse, in a user's words (syntax, nesting, an over-long number)."""
    if isinstance(error, json.JSONDecodeError):
        return f"invalid JSON: {error.msg} (column {error.colno})"
    if isinstance(error, RecursionError):
        return f"invalid JSON: nested more than about {sys.getrecursionlimit()} levels deep"
    if "integer string conversion" in str(error):
        return f"invalid JSON: a number has more than {sys.get_int_max_str_digits()} digits"
    return f"invalid JSON: {error}"


def _load_items_before_error(
    loaded: FileLoad, text: str, source: str, stem: str, error: ValueError | RecursionError
) -> None:
    """Load the items of a list up to where it breaks; the break is one problem naming its line."""
    position = _skip_space(text, 0)
    count = 0
    if text.startswith("[", position):
        position = _skip_space(text, position + 1)
        while position < len(text) and text[position] != "]":
            try:
                record, end = _DECODER.raw_decode(text, position)
            except (ValueError, RecursionError):
                break
            _load_item(loaded, record, source, default_id=f"{stem}-{count}", where=f"{source}[{count}]")
            count += 1
            position = _skip_space(text, end)
            if not text.startswith(",", position):
                break
            position = _skip_space(text, position + 1)
    line = error.lineno if isinstance(error, json.JSONDecodeError) else text.count("\n", 0, position) + 1
    reason = _undecodable_reason(text, error) or json_error_reason(error)
    if count:
        reason += f"; the {count} item(s) before it were loaded, the rest of the file was skipped"
    loaded.problem(source, line, reason)


def _undecodable_reason(text: str, error: ValueError | RecursionError) -> str | None:
    """When JSON breaks on a byte that was not UTF-8, say so rather than 'Expecting value'."""
    if not isinstance(error, json.JSONDecodeError) or error.pos >= len(text):
        return None
    code = ord(text[error.pos])
    return f"not UTF-8 text (byte 0x{code - 0xDC00:02x} at column {error.colno})" if 0xDC80 <= code <= 0xDCFF else None


def _skip_space(text: str, position: int) -> int:
    """The position of the first non-whitespace character (JSON's whitespace) at or after ``position``."""
    match = _SPACE.match(text, position)
    return position if match is None else match.end()


def _load_item(loaded: FileLoad, record: Any, source: str, *, default_id: str, where: str) -> None:
    """Load one conversation of a ``.json`` file; problems are prefixed with the list index."""
    prefix = where.removeprefix(source)
    try:
        conversation = conversation_from_record(record, source=source, default_id=default_id)
    except TranscriptError as error:
        loaded.problem(source, None, f"{prefix} {error.reason}".lstrip())
        return
    loaded.located.append(Located(conversation, None, where))
