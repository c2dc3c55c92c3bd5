"""Read ``.txt`` transcripts: ``Speaker: text`` lines (``客服：`` too), optional ``# key: value`` header."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from auditor.conversation import Conversation, Turn
from auditor.transcripts.file_ids import FileIds
from auditor.transcripts.problems import FileLoad, Located, TranscriptError
from auditor.transcripts.records import parse_lang
from auditor.transcripts.roles import normalise_role

MAX_SPEAKER_CHARS = 32
MAX_SPEAKER_WORDS = 3
CONVERSATION_HEADERS = frozenset({"id", "conversation_id", "agent_id", "lang", "started_at"})

_SPEAKER_PREFIX = re.compile(r"\s*([^:：]{1,64}?)\s*[:：]")
_PREFIX_WINDOW = 256
"""Characters of a line searched for ``Speaker:``; bounded so a 10 MB line costs no more than a short one."""
_NOT_IN_SPEAKER_NAMES = frozenset(",.;!?\"'()[]{}<>，。；！？、（）【】「」《》")
_TIMESTAMP = re.compile(r"\[(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?\]\s*")
_HEADER = re.compile(r"#\s*([A-Za-z_]+)\s*[:：]\s*(.*)")


@dataclass
class _PendingTurn:
    """A turn being read; continuation lines are appended to ``lines``."""

    speaker: str
    lines: list[str]
    start: float | None


@dataclass
class _Header:
    """The ``# key: value`` lines at the top of a file."""

    fields: dict[str, str] = field(default_factory=dict)
    lang: str | None = None
    body_start: int = 0


def split_speaker_prefix(line: str) -> tuple[str, str] | None:
    """Split ``Agent: hi`` / ``客服：您好`` into (speaker, text); None when the line has no speaker prefix."""
    match = _SPEAKER_PREFIX.match(line[:_PREFIX_WINDOW])
    if match is None:
        return None
    name, text = match.group(1).strip(), line[match.end() :]
    if text.startswith("//") or not _looks_like_speaker(name):
        return None
    return name, text.strip()


def read_plain_text(text: str, source: str, stem: str, *, ids: FileIds | None = None) -> FileLoad:
    """Load the one conversation of a ``.txt`` file; any bad line skips the file with a problem.

    Ids come from the ``# key: value`` header (``# agent_id: A-17``, ``# id:`` or ``# conversation_id:``), else
    from ``ids`` (sidecar, file name, run); other header keys become metadata."""
    loaded = FileLoad()
    lines = [line.rstrip("\r") for line in text.split("\n")]
    try:
        header = _read_header(lines)
        pending = _read_turns(lines, header.body_start)
    except _LineError as error:
        loaded.problem(source, error.line, error.reason)
        return loaded
    if not pending:
        loaded.problem(source, None, "no turns found (expected lines like 'Agent: ...' or '客服：...')")
        return loaded
    loaded.located.append(Located(_conversation(header, pending, source, stem, ids or FileIds()), None, source))
    return loaded


class _LineError(TranscriptError):
    """A problem on one line of a text file."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


def _looks_like_speaker(name: str) -> bool:
    """A speaker name is short, has a letter and no sentence punctuation, so ``Note, see: x`` is text."""
    return (
        len(name) <= MAX_SPEAKER_CHARS
        and len(name.split()) <= MAX_SPEAKER_WORDS
        and any(char.isalpha() for char in name)
        and not any(char in _NOT_IN_SPEAKER_NAMES for char in name)
    )


def _read_header(lines: list[str]) -> _Header:
    """Read the ``# id:``, ``# agent_id:``, ``# lang:`` ... lines (and blank lines) at the top."""
    header = _Header()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        match = _HEADER.fullmatch(stripped)
        if stripped and match is None:
            header.body_start = number - 1
            return header
        if match is not None:
            key, value = match.group(1).casefold(), match.group(2).strip()
            header.fields[key] = value
            if key == "lang":
                header.lang = _header_lang(value, number)
    header.body_start = len(lines)
    return header


def _header_lang(value: str, line: int) -> str | None:
    try:
        return parse_lang(value)
    except TranscriptError as error:
        raise _LineError(line, error.reason) from None


def _read_turns(lines: list[str], body_start: int) -> list[_PendingTurn]:
    """Read ``[hh:mm:ss] Speaker: text`` lines; a line without a speaker continues the previous turn."""
    turns: list[_PendingTurn] = []
    for number, line in enumerate(lines[body_start:], start=body_start + 1):
        stripped = line.strip()
        if not stripped:
            continue
        start, rest = _split_timestamp(stripped)
        prefix = split_speaker_prefix(rest)
        if prefix is not None:
            turns.append(_PendingTurn(prefix[0], [prefix[1]], start))
        elif turns:
            turns[-1].lines.append(rest)
        else:
            raise _LineError(number, "first line has no speaker (expected 'Agent: ...' or '客服：...')")
    return turns


def _split_timestamp(line: str) -> tuple[float | None, str]:
    """Split a leading ``[00:01:02]`` (or ``[01:02]``, ``[00:01:02.5]``) into seconds and the rest."""
    match = _TIMESTAMP.match(line)
    if match is None:
        return None, line
    hours, minutes, seconds, fraction = match.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + float(f"0.{fraction or 0}")
    return total, line[match.end() :]


def _conversation(header: _Header, pending: list[_PendingTurn], source: str, stem: str, ids: FileIds) -> Conversation:
    turns = [
        Turn(
            index=index,
            speaker=turn.speaker,
            role=normalise_role(turn.speaker),
            text="\n".join(part for part in turn.lines if part),
            start=turn.start,
        )
        for index, turn in enumerate(pending)
    ]
    metadata: dict[str, Any] = {key: value for key, value in header.fields.items() if key not in CONVERSATION_HEADERS}
    return Conversation(
        id=header.fields.get("id") or header.fields.get("conversation_id") or ids.id or stem,
        turns=turns,
        agent_id=header.fields.get("agent_id") or ids.agent_id,
        lang=header.lang or ids.lang,
        started_at=header.fields.get("started_at") or ids.started_at,
        metadata={**ids.metadata, **metadata},
        source=source,
    )
