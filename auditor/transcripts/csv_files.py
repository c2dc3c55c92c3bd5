"""Read ``.csv`` transcripts: one row per turn, rows grouped into conversations by ``conversation_id``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from auditor.transcripts.conversation import Conversation, Turn
from auditor.transcripts.problems import FileLoad, Located, TranscriptError
from auditor.transcripts.records import parse_lang, turn_from_mapping

REQUIRED_COLUMNS = ("conversation_id", "speaker", "text")
CONVERSATION_COLUMNS = ("agent_id", "lang", "started_at")
TURN_COLUMNS = ("speaker", "text", "start", "end", "steps")
KNOWN_COLUMNS = frozenset({"conversation_id", *CONVERSATION_COLUMNS, *TURN_COLUMNS})
STEP_SEPARATOR = ";"


class _CsvRows(Protocol):
    """A ``csv.reader``: rows plus the number of the last physical line read."""

    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


@dataclass
class _Group:
    """The rows of one conversation seen so far."""

    conversation_id: str
    line: int
    turns: list[Turn] = field(default_factory=list)
    fields: dict[str, str | None] = field(default_factory=dict)
    dropped: bool = False


def read_csv(text: str, source: str, stem: str) -> FileLoad:
    """Load each conversation whose rows are all good; a bad row is a problem and drops its conversation."""
    loaded = FileLoad()
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows, None)
        if header is None:
            loaded.problem(source, None, "empty file: no header row")
            return loaded
        columns = [_column_name(cell) for cell in header]
        missing = [column for column in REQUIRED_COLUMNS if column not in columns]
        if missing:
            loaded.problem(source, 1, f"missing required column(s): {', '.join(missing)}")
            return loaded
        groups = _read_rows(rows, columns, loaded, source)
    except csv.Error as error:
        loaded.problem(source, rows.line_num, f"unreadable CSV, file skipped: {error}")
        return FileLoad(problems=loaded.problems)
    for group in groups.values():
        if not group.dropped:
            loaded.located.append(Located(_conversation(group, source), group.line, f"{source}:{group.line}"))
    return loaded


def _read_rows(rows: _CsvRows, columns: list[str], loaded: FileLoad, source: str) -> dict[str, _Group]:
    """Group the data rows by conversation, in first-seen order, recording a problem per bad row."""
    groups: dict[str, _Group] = {}
    next_line = rows.line_num + 1
    for row in rows:
        line, next_line = next_line, rows.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        try:
            _add_row(groups, columns, row, line)
        except TranscriptError as error:
            loaded.problem(source, line, error.reason)
    return groups


def _add_row(groups: dict[str, _Group], columns: list[str], row: list[str], line: int) -> None:
    """Add one row's turn to its conversation; a bad row drops the whole conversation."""
    cells = dict(zip(columns, row, strict=False))
    conversation_id = (cells.get("conversation_id") or "").strip()
    if not conversation_id:
        raise TranscriptError("conversation_id: empty")
    group = groups.setdefault(conversation_id, _Group(conversation_id, line))
    try:
        _check_row_length(row, columns)
        _check_conversation_fields(group, cells)
        turn = turn_from_mapping(_turn_record(cells), index=len(group.turns))
    except TranscriptError as error:
        group.dropped = True
        raise TranscriptError(f"{error.reason} (conversation {conversation_id} skipped)") from None
    group.turns.append(turn)


def _check_row_length(row: list[str], columns: list[str]) -> None:
    """Reject rows with more non-empty cells than the header has columns."""
    if any(cell.strip() for cell in row[len(columns) :]):
        raise TranscriptError(f"{len(row)} fields but the header has {len(columns)}")


def _check_conversation_fields(group: _Group, cells: Mapping[str, str]) -> None:
    """Take agent_id/lang/started_at from the rows; rows of one conversation must not disagree."""
    for column in CONVERSATION_COLUMNS:
        raw = (cells.get(column) or "").strip()
        if not raw:
            continue
        value = parse_lang(raw) if column == "lang" else raw
        first = group.fields.setdefault(column, value)
        if first != value:
            raise TranscriptError(f"{column}: {raw!r} differs from {first!r} on an earlier row")


def _turn_record(cells: Mapping[str, str]) -> dict[str, Any]:
    """The contract record of one row's turn; unknown columns become the turn's extra fields."""
    record: dict[str, Any] = {key: value for key, value in cells.items() if key not in KNOWN_COLUMNS}
    record.update({column: cells.get(column) for column in ("speaker", "text", "start", "end")})
    record["steps"] = _split_steps(cells.get("steps"))
    return record


def _split_steps(cell: str | None) -> list[str] | None:
    """Gold step labels in one cell, separated by semicolons; an empty cell means no labels."""
    steps = [step.strip() for step in (cell or "").split(STEP_SEPARATOR) if step.strip()]
    return steps or None


def _column_name(header_cell: str) -> str:
    """Match known column names case-insensitively; keep other names as written (trimmed)."""
    name = header_cell.strip()
    return name.casefold() if name.casefold() in KNOWN_COLUMNS else name


def _conversation(group: _Group, source: str) -> Conversation:
    return Conversation(
        id=group.conversation_id,
        turns=group.turns,
        agent_id=group.fields.get("agent_id"),
        lang=group.fields.get("lang"),
        started_at=group.fields.get("started_at"),
        source=source,
    )
