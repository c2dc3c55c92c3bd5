"""Read ``.csv`` transcripts: one row per turn, rows grouped into conversations by ``conversation_id``."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from auditor.conversation import Conversation, Turn
from auditor.transcripts.decoding import text_problem
from auditor.transcripts.problems import FileLoad, Located, TranscriptError
from auditor.transcripts.records import parse_lang, quoted, shown_id, turn_from_mapping

REQUIRED_COLUMNS = ("conversation_id", "speaker", "text")
CONVERSATION_COLUMNS = ("agent_id", "lang", "started_at")
TURN_COLUMNS = ("speaker", "text", "start", "end", "steps")
KNOWN_COLUMNS = frozenset({"conversation_id", *CONVERSATION_COLUMNS, *TURN_COLUMNS})


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COLUMN_ORDER = ("conversation_id", "agent_id", "speaker", "text", "start", "end", "lang", "started_at", "steps")
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    # other names of each contract column, as contact-centre exports write them (English, simplified, traditional);
    # compared by header_key, so case, spaces, '_' and '-' do not matter
    "conversation_id": _names(
        "conversation call_id session_id chat_id contact_id dialog_id dialogue_id interaction_id "
        "通话ID 通话编号 通话id号 会话ID 会话编号 对话ID 对话编号 录音ID 录音编号 "
        "通話ID 通話編號 會話ID 會話編號 對話ID 對話編號 錄音ID 錄音編號"
    ),
    "agent_id": _names(
        "agent agent_name agent_no rep_id staff_id employee_id operator_id advisor_id "
        "坐席 坐席工号 坐席ID 坐席编号 坐席姓名 客服工号 客服ID 客服编号 客服姓名 工号 "
        "坐席工號 坐席編號 客服工號 客服編號 工號 專員 專員編號 专员 专员编号"
    ),
    "speaker": _names(
        "role speaker_role speaker_type participant participant_role participant_id channel_role "
        "sender sender_role party "
        "角色 说话人 说话方 说话者 发言人 发言方 发送方 发送者 說話人 說話方 說話者 "
        "發言人 發言方 發送方 發送者"
    ),
    "text": _names(
        "content utterance transcript message sentence words body "
        "内容 文本 话术 对话内容 消息 消息内容 说话内容 发言内容 转写文本 识别文本 內容 "
        "話術 對話內容 訊息 訊息內容 說話內容 發言內容 轉寫文本 識別文本"
    ),
    "start": _names(
        "start_time begin begin_time offset start_offset start_seconds time timestamp "
        "开始时间 起始时间 时间 时间戳 開始時間 起始時間 時間 時間戳"
    ),
    "end": _names("end_time stop stop_time end_offset end_seconds 结束时间 結束時間"),
    "lang": _names("language locale 语言 語言 语种 語種"),
    "started_at": _names(
        "start_datetime call_start call_time conversation_start "
        "通话开始时间 通话时间 来电时间 会话开始时间 通話開始時間 通話時間 來電時間 "
        "會話開始時間"
    ),
    "steps": _names("step gold_steps 步骤 步驟"),
}
STEP_SEPARATOR = ";"
MAX_FIELD_CHARS = 256 * 1024 * 1024
MAX_REREADS = 20
"""Badly quoted rows read past per file; each costs a re-read of the rest of the file."""

_IGNORED_IN_HEADERS = re.compile(r"[\s_\-./]+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_CLOCK = re.compile(r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2}(?:[.,]\d{1,6})?)")
_DATE = re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}")


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
    first_time: tuple[datetime, str] | None = None
    """The first date-time a start/end cell held (and the cell as written): later ones count from it."""


def read_csv(text: str, source: str, stem: str, *, columns_mapping: Mapping[str, str] | None = None) -> FileLoad:
    """Load each conversation whose rows are all good; a bad row is a problem and drops its conversation.

    Columns are found by name (``COLUMN_NAMES``, English and Chinese) or by ``columns_mapping`` (contract column ->
    header as written, e.g. ``{"text": "话术内容"}``), which wins.

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
    columns = _columns(header, loaded, source, columns_mapping or {})
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        loaded.problem(source, 1, _missing_columns_reason(missing, header, columns))
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


def _columns(header: list[str], loaded: FileLoad, source: str, mapping: Mapping[str, str]) -> list[str | None]:
    """Column names from the header: contract names for the columns ``mapping`` or ``COLUMN_NAMES`` recognise,
    other names as written (trimmed); a name that is not valid text is a problem and its column (None) is ignored."""
    cells: list[str | None] = []
    for position, cell in enumerate(header, start=1):
        problem = text_problem(cell)
        if problem is not None:
            loaded.problem(source, 1, f"column {position} name: {problem}; the column is ignored")
        cells.append(None if problem is not None else cell.strip())
    return resolve_columns(cells, mapping)


def resolve_columns(header: list[str | None], mapping: Mapping[str, str] | None = None) -> list[str | None]:
    """Name each header cell: first the explicit ``mapping`` (contract column -> header), then the contract names
    themselves (any case), then the other names in ``COLUMN_NAMES`` (any case, spaces, ``_``, ``-``), each contract
    column taken by the first cell that claims it; the rest keep their names as written."""
    keys = [None if cell is None else header_key(cell) for cell in header]
    named: list[str | None] = [None] * len(header)
    taken: set[str] = set()

    def claim(position: int, column: str) -> None:
        if named[position] is None and column not in taken and header[position] is not None:
            named[position] = column
            taken.add(column)

    for column, wanted in (mapping or {}).items():
        for position, key in enumerate(keys):
            if key == header_key(wanted):
                claim(position, column)
                break
    for position, cell in enumerate(header):
        if cell is not None and cell.casefold() in KNOWN_COLUMNS:
            claim(position, cell.casefold())
    for position, key in enumerate(keys):
        if key is not None and key in _SYNONYMS:
            claim(position, _SYNONYMS[key])
    for position, cell in enumerate(header):
        if named[position] is None and cell is not None:
            clash = cell.casefold() in KNOWN_COLUMNS  # a second 'text' column: kept, under another name
            named[position] = f"{cell}#{position + 1}" if clash else cell
    return named


def header_key(name: str) -> str:
    """How header names are compared: Unicode-normalised (full-width letters too), case, spaces, ``_``, ``-``,
    ``.`` and ``/`` ignored, so ``Conversation ID``, ``conversation_id`` and ``ConversationId`` are one name."""
    return _IGNORED_IN_HEADERS.sub("", unicodedata.normalize("NFKC", name).casefold())


_SYNONYMS = {header_key(name): column for column, names in COLUMN_NAMES.items() for name in (column, *names)}


def parse_column_mapping(text: str) -> dict[str, str]:
    """Read ``conversation_id=通话编号,text=话术内容`` (contract column = CSV header); ``ValueError`` says what is
    wrong. Spaces around names are ignored."""
    mapping: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        column, equals, header = item.partition("=")
        column, header = column.strip().casefold(), header.strip()
        if not equals or not column or not header:
            raise ValueError(f"{item.strip()!r} is not column=header (e.g. 'conversation_id=通话编号')")
        if column not in KNOWN_COLUMNS:
            raise ValueError(f"unknown column {column!r} (known: {', '.join(COLUMN_ORDER)})")
        if column in mapping:
            raise ValueError(f"column {column!r} is mapped twice")
        mapping[column] = header
    return mapping


def _missing_columns_reason(missing: list[str], header: list[str], columns: list[str | None]) -> str:
    """Name the missing columns, the header cells found and how to map one of them."""
    found = ", ".join(quoted(cell.strip(), 40) for cell in header) or "(none)"
    spare = [column for column in columns if column is not None and column not in KNOWN_COLUMNS]
    example = f"{missing[0]}={spare[0]}" if spare else f"{missing[0]}=<header>"
    return (
        f"missing required column(s): {', '.join(missing)}; the header has {found}. Name the columns "
        f"conversation_id, speaker and text (or a recognised name such as 通话ID, 角色, 内容), or map them, "
        f'e.g. --csv-columns "{example}"'
    )


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
        turn = turn_from_mapping(_turn_record(cells, group), index=len(group.turns))
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


def _turn_record(cells: Mapping[str, str], group: _Group) -> dict[str, Any]:
    """The contract record of one row's turn; unknown columns become the turn's extra fields."""
    record: dict[str, Any] = {key: value for key, value in cells.items() if key not in KNOWN_COLUMNS}
    record.update({column: cells.get(column) for column in ("speaker", "text")})
    record.update({column: _seconds(cells.get(column), column, group) for column in ("start", "end")})
    record["steps"] = _split_steps(cells.get("steps"))
    return record


def _seconds(cell: str | None, column: str, group: _Group) -> str | float | None:
    """A start/end cell as seconds: a number as it is; a clock time (``01:02``, ``00:01:02.5``) as seconds; a date
    and time (``2024-05-01 09:00:03``, ISO 8601) as seconds after the conversation's first one. Anything else is
    left for the contract to refuse."""
    value = (cell or "").strip()
    if not value or _NUMBER.fullmatch(value):
        return cell
    if clock := _CLOCK.fullmatch(value):
        hours, minutes, seconds = clock.group(1), clock.group(2), clock.group(3)
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))
    if not _DATE.match(value):
        return cell
    try:
        moment = datetime.fromisoformat(value.replace("/", "-"))
    except ValueError:
        return cell
    if group.first_time is None:
        group.first_time = (moment, value)
    first = group.first_time[0]
    if (moment.tzinfo is None) != (first.tzinfo is None):
        raise TranscriptError(
            f"{column}: {quoted(value)} and {quoted(group.first_time[1])} mix times with and without a time zone"
        )
    return (moment - first).total_seconds()


def _split_steps(cell: str | None) -> list[str] | None:
    """Gold step labels in one cell, separated by semicolons; an empty cell means no labels."""
    steps = [step.strip() for step in (cell or "").split(STEP_SEPARATOR) if step.strip()]
    return steps or None


def _conversation(group: _Group, source: str) -> Conversation:
    return Conversation(
        id=group.conversation_id,
        turns=group.turns,
        agent_id=group.fields.get("agent_id"),
        lang=group.fields.get("lang"),
        started_at=group.fields.get("started_at") or (group.first_time[1] if group.first_time else None),
        source=source,
    )
