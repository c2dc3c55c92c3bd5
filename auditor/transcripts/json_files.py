"""Read ``.jsonl`` (one conversation a line) and ``.json`` (one conversation or a list) transcripts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from auditor.transcripts.problems import FileLoad, Located, TranscriptError
from auditor.transcripts.records import conversation_from_mapping, type_name


def read_jsonl(text: str, source: str, stem: str) -> FileLoad:
    """Load every good line; each bad line is one problem with its 1-based line number."""
    loaded = FileLoad()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = _decode(line)
            conversation = conversation_from_mapping(record, source=source, default_id=f"{stem}-{number}")
        except TranscriptError as error:
            loaded.problem(source, number, error.reason)
            continue
        loaded.located.append(Located(conversation, number, f"{source}:{number}"))
    return loaded


def read_json(text: str, source: str, stem: str) -> FileLoad:
    """Load one conversation object or a list of them; a bad item is a problem naming its index."""
    loaded = FileLoad()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        loaded.problem(source, error.lineno, f"invalid JSON: {error.msg} (column {error.colno})")
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


def _decode(line: str) -> Mapping[str, Any]:
    """Parse one JSON Lines line into an object."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise TranscriptError(f"invalid JSON: {error.msg} (column {error.colno})") from None
    if not isinstance(record, Mapping):
        raise TranscriptError(f"must be a JSON object, got {type_name(record)}")
    return record


def _load_item(loaded: FileLoad, record: Any, source: str, *, default_id: str, where: str) -> None:
    """Load one conversation of a ``.json`` file; problems are prefixed with the list index."""
    prefix = where.removeprefix(source)
    try:
        conversation = conversation_from_mapping(record, source=source, default_id=default_id)
    except TranscriptError as error:
        loaded.problem(source, None, f"{prefix} {error.reason}".lstrip())
        return
    loaded.located.append(Located(conversation, None, where))
