"""Read ``.csv`` transcripts: one row per turn, rows grouped into conversations by ``conversation_id``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from auditor.conversation import Conversation, Turn
from auditor.transcripts.decoding import text_problem
from auditor.transcripts.problems import FileLoad, Located, TranscriptError
from auditor.transcripts.records import parse_lang, quoted, shown_id, turn_from_mapping

REQUIRED_COLUMNS = ("conversation_id", "speaker", "text")
CONVERSATION_COLUMNS = ("agent_id", "lang", "started_at")
TURN_COLUMNS = ("speaker", "text", "start", "end", "steps")
KNOWN_COLUMNS = frozenset({"conversation_id", *CONVERSATION_COLUMNS, *TURN_COLUMNS})
STEP_SEPARATOR = ";"
MAX_FIELD_CHARS = 256 * 1024 * 1024
MAX_REREADS = 20
"""Badly quoted rows read past per file; each costs a re-read of the rest of the file."""


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
    """Load each conversation whose rows are all good; a bad row is a problem and drops its conversation.

    A quote that is opened and not closed where it should be swallows the lines after it into one cell (up to the
    next quote, or the end of the file): that row is a problem, and the lines after its first are read again, so
    the conversations there are not lost.
    """
    _allow_long_fields()
    loaded = FileLoad()
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows, None)
    except csv.Error as error:
        loaded.problem(source, rows.line_num, f"unreadable CSV header, file skipped: {error}")
        return loaded
    if header is None:
        loaded.problem(source, None, "empty file: no header row")
        return loaded
    columns = _columns(header, loaded, source)
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        loaded.problem(source, 1, f"missing required column(s): {', '.join(missing)}")
        return loaded
    groups: dict[str, _Group] = {}
    lines = _PhysicalLines(text)
    rereads = 0
    while (swallowing := _read_rows(rows, columns, groups, loaded, source, lines)) is not None:
        rereads += 1
        _report_swallowing_row(swallowing, groups, loaded, source, reread=rereads <= MAX_REREADS)
        if rereads > MAX_REREADS:
            break
        rows = csv.reader(io.StringIO(lines.after(swallowing.line), newline=""))
        lines = lines.skipping(swallowing.line)
    for group in groups.values():
        if not group.dropped:
            loaded.located.append(Located(_conversation(group, source), group.line, f"{source}:{group.line}"))
    return loaded


@dataclass(frozen=True)
class _Row:
    """Where a data row was: its first and last physical line, and the conversation it named."""

    line: int
    end_line: int
    conversation_id: str


class _PhysicalLines:
    """A CSV text's physical lines, split the way the csv module counts them (``\\n``, ``\\r\\n`` or ``\\r``).

    ``offset`` is how many lines of the file come before the text a reader is reading now.
    """

    def __init__(self, text: str, offset: int = 0, lines: list[str] | None = None) -> None:
        self._text = text
        self._lines = lines
        self.offset = offset

    def after(self, count: int) -> str:
        """The file's text after its first ``count`` lines."""
        return "".join(self._all()[count:])

    def skipping(self, count: int) -> _PhysicalLines:
        """The same file, read from after its first ``count`` lines."""
        return _PhysicalLines(self._text, count, self._all())

    def badly_quoted(self, first: int, last: int) -> bool:
        """Whether a row that spans lines ``first``..``last`` has a quote that does not close where it should."""
        try:
            list(csv.reader(io.StringIO("".join(self._all()[first - 1 : last]), newline=""), strict=True))
        except csv.Error:
            return True
        return False

    def _all(self) -> list[str]:
        if self._lines is None:
            self._lines = io.StringIO(self._text, newline="").readlines()
        return self._lines


def _allow_long_fields() -> None:
    """Let one cell hold a very long turn (the csv module's default limit is 128 KiB; the limit is process-wide)."""
    if csv.field_size_limit() < MAX_FIELD_CHARS:
        csv.field_size_limit(MAX_FIELD_CHARS)


def _columns(header: list[str], loaded: FileLoad, source: str) -> list[str | None]:
    """Column names from the header; a name that is not valid text is a problem and its column (None) is ignored."""
    columns: list[str | None] = []
    for position, cell in enumerate(header, start=1):
        problem = text_problem(cell)
        if problem is not None:
            loaded.problem(source, 1, f"column {position} name: {problem}; the column is ignored")
        columns.append(None if problem is not None else _column_name(cell))
    return columns


def _read_rows(
    rows: _CsvRows,
    columns: list[str | None],
    groups: dict[str, _Group],
    loaded: FileLoad,
    source: str,
    lines: _PhysicalLines,
) -> _Row | None:
    """Group the data rows by conversation, in first-seen order, recording a problem per bad row.

    Stops at a row whose quoting swallowed the lines after it and returns it; None when the file is read.
    """
    id_column = columns.index("conversation_id")
    next_line = rows.line_num + 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return None
        except csv.Error as error:
            loaded.problem(source, lines.offset + next_line, f"unreadable CSV row, row skipped: {error}")
            next_line = rows.line_num + 1
            continue
        line, end_line = lines.offset + next_line, lines.offset + rows.line_num
        next_line = rows.line_num + 1
        if end_line > line and lines.badly_quoted(line, end_line):
            return _Row(line, end_line, row[id_column].strip() if id_column < len(row) else "")
        if not any(cell.strip() for cell in row):
            continue
        try:
            _add_row(groups, columns, row, line)
        except TranscriptError as error:
            loaded.problem(source, line, error.reason)


def _report_swallowing_row(
    row: _Row, groups: dict[str, _Group], loaded: FileLoad, source: str, *, reread: bool
) -> None:
    """Report a row whose quote swallowed the lines after it, and drop its conversation."""
    reason = (
        f"a quoted field opened on this line does not close where it should, so it swallowed lines "
        f"{row.line + 1}-{row.end_line}; row skipped"
    )
    if row.conversation_id and text_problem(row.conversation_id) is None:
        groups.setdefault(row.conversation_id, _Group(row.conversation_id, row.line)).dropped = True
        reason += f" (conversation {shown_id(row.conversation_id)} skipped)"
    after = "the lines after it were read again" if reread else "too many such rows, the rest of the file skipped"
    loaded.problem(source, row.line, f"{reason}; {after}")


def _add_row(groups: dict[str, _Group], columns: list[str | None], row: list[str], line: int) -> None:
    """Add one row's turn to its conversation; a bad row drops the whole conversation."""
    cells = {column: cell for column, cell in zip(columns, row, strict=False) if column is not None}
    conversation_id = (cells.get("conversation_id") or "").strip()
    if not conversation_id:
        raise TranscriptError("conversation_id: empty")
    problem = text_problem(conversation_id)
    if problem is not None:
        raise TranscriptError(f"conversation_id: {problem}")
    group = groups.setdefault(conversation_id, _Group(conversation_id, line))
    try:
        _check_row_length(row, columns)
        _check_conversation_fields(group, cells)
        turn = turn_from_mapping(_turn_record(cells), index=len(group.turns))
    except TranscriptError as error:
        group.dropped = True
        raise TranscriptError(f"{error.reason} (conversation {shown_id(conversation_id)} skipped)") from None
    group.turns.append(turn)


def _check_row_length(row: list[str], columns: list[str | None]) -> None:
    """Reject rows with more non-empty cells than the header has columns."""
    if any(cell.strip() for cell in row[len(columns) :]):
        raise TranscriptError(f"{len(row)} fields but the header has {len(columns)}")


def _check_conversation_fields(group: _Group, cells: Mapping[str, str]) -> None:
    """Take agent_id/lang/started_at from the rows; rows of one conversation must not disagree."""
    for column in CONVERSATION_COLUMNS:
        raw = (cells.get(column) or "").strip()
        if not raw:
            continue
        problem = text_problem(raw)
        if problem is not None:
            raise TranscriptError(f"{column}: {problem}")
        value = parse_lang(raw) if column == "lang" else raw
        first = group.fields.setdefault(column, value)
        if first != value:
            raise TranscriptError(f"{column}: {quoted(raw)} differs from {quoted(first)} on an earlier row")


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
