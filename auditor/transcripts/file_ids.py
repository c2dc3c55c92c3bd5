"""Conversation ids for files that hold one call and have no place for them in their format (WebVTT, SRT, text).

Where each field of such a file's conversation comes from, the first that gives it winning:

1. the file itself: a WebVTT ``NOTE agent_id: A-17`` block before the first cue, a text file's ``# agent_id: A-17``
   lines at the top (SRT has no comments);
2. a sidecar ``<stem>.meta.json`` beside it (``call-17.vtt`` -> ``call-17.meta.json``): a JSON object with
   ``conversation_id`` (or ``id``), ``agent_id``, ``started_at``, ``lang`` and ``metadata``; a sidecar is never
   loaded as a transcript itself;
3. the file name, read with an id pattern such as ``{agent_id}_{conversation_id}`` (``--id-pattern``);
4. for the agent only, a default for the run (``--agent-id``), which also fills in conversations of any format
   that name no agent.

The conversation id is the file's stem when none of them gives one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.transcripts.decoding import UndecodableFile, decode_transcript
from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.records import (
    join_reasons,
    parse_id,
    parse_lang,
    parse_started_at,
    type_name,
    value_problems,
)

SIDECAR_SUFFIX = ".meta.json"
ONE_CALL_SUFFIXES = frozenset({".vtt", ".srt", ".txt"})
"""Formats whose ids come from the sources above (a sidecar is looked for beside these only)."""
ID_KEYS = {
    "conversation_id": "id",
    "id": "id",
    "agent_id": "agent_id",
    "lang": "lang",
    "language": "lang",
    "started_at": "started_at",
}
"""Names a header comment, a sidecar key or a pattern field may use, and the conversation field each sets."""
MAX_SIDECAR_BYTES = 1024 * 1024

_PATTERN_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class FileIds:
    """Conversation fields from one id source; None where it says nothing."""

    id: str | None = None
    agent_id: str | None = None
    lang: str | None = None
    started_at: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def over(self, fallback: FileIds) -> FileIds:
        """These ids, each missing one taken from ``fallback`` (metadata merged, these keys winning)."""
        return FileIds(
            id=self.id or fallback.id,
            agent_id=self.agent_id or fallback.agent_id,
            lang=self.lang or fallback.lang,
            started_at=self.started_at or fallback.started_at,
            metadata={**fallback.metadata, **self.metadata},
        )


def ids_from_fields(fields: Mapping[str, Any], label: str) -> FileIds:
    """Read ``conversation_id``/``id``, ``agent_id``, ``lang``/``language``, ``started_at`` and ``metadata`` (an
    object) from a mapping; other keys become metadata. Raises ``TranscriptError`` naming every bad value."""
    errors = list(value_problems(dict(fields)))
    found: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for key, value in fields.items():
        target = ID_KEYS.get(key.casefold())
        where = f"{label}{key}"
        try:
            if target == "lang":
                found[target] = parse_lang(value, where)
            elif target == "started_at":
                found[target] = parse_started_at(value, where)
            elif target is not None:
                found[target] = parse_id(value, where)
            elif key == "metadata":
                if not isinstance(value, Mapping):
                    raise TranscriptError(f"{where}: must be a JSON object, got {type_name(value)}")
                metadata.update(value)
            else:
                metadata[key] = value
        except TranscriptError as error:
            errors.append(error.reason)
    if errors:
        raise TranscriptError(join_reasons(errors))
    return FileIds(**found, metadata=metadata)


def sidecar_path(path: Path) -> Path:
    """Where the sidecar of a transcript file is: ``call-17.vtt`` -> ``call-17.meta.json``."""
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def is_sidecar(path: Path) -> bool:
    """Whether a file is the sidecar of a WebVTT, SRT or text file beside it (and so no transcript itself)."""
    name = path.name
    if not name.lower().endswith(SIDECAR_SUFFIX):
        return False
    stem = name[: -len(SIDECAR_SUFFIX)]
    return any(path.with_name(stem + suffix).is_file() for suffix in (*ONE_CALL_SUFFIXES, ".VTT", ".SRT", ".TXT"))


def read_sidecar(path: Path) -> FileIds | None:
    """The ids in the sidecar of ``path``, None when it has none; ``TranscriptError`` when the sidecar is bad."""
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return None
    try:
        raw = sidecar.read_bytes()
    except OSError as error:
        raise TranscriptError(f"sidecar {sidecar.name}: cannot read it: {error.strerror or error}") from None
    if len(raw) > MAX_SIDECAR_BYTES:
        raise TranscriptError(f"sidecar {sidecar.name}: larger than {MAX_SIDECAR_BYTES:,} bytes")
    try:
        data = json.loads(decode_transcript(raw).text)
    except (UndecodableFile, ValueError) as error:
        raise TranscriptError(f"sidecar {sidecar.name}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise TranscriptError(f"sidecar {sidecar.name}: must be a JSON object, got {type_name(data)}")
    return ids_from_fields(data, f"sidecar {sidecar.name}: ")


class IdPattern:
    """A file-name pattern such as ``{agent_id}_{conversation_id}``: fields in braces, other text as written.

    It must match the whole file name without its extension. Each field matches at least one character, as few as
    the rest of the pattern allows, so a separator that can occur inside a value belongs in the last field. Fields
    are ``conversation_id`` (or ``id``), ``agent_id``, ``lang``, ``started_at``; any other name (``{queue}``) goes to
    the conversation's metadata, and ``{_}`` matches text that is ignored.
    """

    def __init__(self, pattern: str) -> None:
        names = _PATTERN_FIELD.findall(pattern)
        if not names:
            raise ValueError(f"id pattern {pattern!r} has no {{field}} (e.g. '{{agent_id}}_{{conversation_id}}')")
        repeated = sorted({name for name in names if name != "_" and names.count(name) > 1})
        if repeated:
            raise ValueError(f"id pattern {pattern!r} names {', '.join(repeated)} more than once")
        regex, position, groups = "", 0, 0
        self._fields: dict[str, str] = {}
        for match in _PATTERN_FIELD.finditer(pattern):
            regex += re.escape(pattern[position : match.start()])
            name = match.group(1)
            if name == "_":
                regex += ".+?"
            else:
                groups += 1
                self._fields[f"f{groups}"] = name
                regex += f"(?P<f{groups}>.+?)"
            position = match.end()
        regex += re.escape(pattern[position:])
        self.pattern = pattern
        self._regex = re.compile(regex, re.DOTALL)

    def ids(self, stem: str) -> FileIds | None:
        """The ids a file name gives, None when it does not match; ``TranscriptError`` for a bad value."""
        match = self._regex.fullmatch(stem)
        if match is None:
            return None
        fields = {self._fields[group]: value for group, value in match.groupdict().items()}
        return ids_from_fields(fields, f"file name (pattern {self.pattern!r}) ")

    def __repr__(self) -> str:
        return f"IdPattern({self.pattern!r})"


class HeaderError(TranscriptError):
    """A bad id in a header comment, on its 1-based ``line``."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


def header_ids(pairs: list[tuple[int, str, str]]) -> FileIds:
    """Ids from ``(line, key, value)`` header comments; keys not in ``ID_KEYS`` are ignored (a comment is free
    text). A bad value raises ``HeaderError`` with its line."""
    fields: dict[str, str] = {}
    for line, key, value in pairs:
        name = key.casefold()
        if name not in ID_KEYS:
            continue
        try:
            ids_from_fields({name: value}, "")
        except TranscriptError as error:
            raise HeaderError(line, error.reason) from None
        fields[name] = value
    return ids_from_fields(fields, "")


def default_ids(stem: str, sidecar: FileIds | None, pattern: IdPattern | None) -> FileIds:
    """The ids a one-call file gets where its content gives none: its sidecar's, over those its name gives.
    ``TranscriptError`` when the name gives a bad value."""
    from_name = pattern.ids(stem) if pattern is not None else None
    return (sidecar or FileIds()).over(from_name or FileIds())
