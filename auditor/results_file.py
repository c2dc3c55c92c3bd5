"""results.jsonl, the contract of an audit: one ``ConversationResult`` as JSON a line, nothing else.

Every reader and writer of the file goes through here: the batch audit appends to it (``ResultsLog``: one write
and fsync a batch, resumable after a crash) and rewrites it once anomalies are scored (``rewriting``: a ``.partial``
file renamed over it), while insights, the review import and anomaly training read it (``scan_results`` names
every bad line with its number and goes on; ``iter_results`` / ``read_results`` stop at the first). Reading
streams: a file of a million results is never held as text.

A result is written as ``result.model_dump_json()`` and a newline (``result_line``), so the same result is the
same line whichever writer writes it.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from pydantic import ValidationError

from auditor.result import ConversationResult

RESULTS_FILE = "results.jsonl"
"""The name of the file in an audit's ``--out`` folder."""


class ResultLineError(ValueError):
    """A line of a results file that is not an audit result; the message is ``path:line: reason``."""

    def __init__(self, path: Path, line: int, reason: str):
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def result_line(result: ConversationResult) -> str:
    """The line a result is written as (no newline)."""
    return result.model_dump_json()


def parse_result(line: str | bytes) -> ConversationResult:
    """The result on one line (raises pydantic's ``ValidationError`` when it is none; ``problem_of`` says why)."""
    return ConversationResult.model_validate_json(line)


def problem_of(error: ValidationError) -> str:
    """Why a line is not an audit result: ``invalid JSON: ...`` or ``not an audit result: field: message``."""
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        detail = first["msg"].removeprefix("Invalid JSON: ")
        return f"invalid JSON: {detail}"
    where = ".".join(str(part) for part in first["loc"]) or "result"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"not an audit result: {where}: {first['msg']}{more}"


@dataclass(frozen=True)
class ResultLine:
    """A non-blank line of a results file: its number (1-based) and its result, or why it is not one."""

    number: int
    result: ConversationResult | None
    problem: str | None = None


def scan_results(path: Path) -> Iterator[ResultLine]:
    """Every non-blank line of ``path`` in order, parsed; a bad line (not JSON, not a result, not UTF-8) is a
    ``ResultLine`` with its ``problem`` and the lines after it are read all the same. ``OSError`` when the file
    cannot be opened."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield ResultLine(number, None, f"not UTF-8 text: byte {error.start + 1} is {raw[error.start]:#04x}")
                continue
            try:
                yield ResultLine(number, parse_result(raw))
            except ValidationError as error:
                yield ResultLine(number, None, problem_of(error))


def iter_results(path: Path) -> Iterator[ConversationResult]:
    """Every result of ``path`` in order, streamed; a bad line raises ``ResultLineError`` naming it."""
    for line in scan_results(path):
        if line.result is None:
            raise ResultLineError(path, line.number, line.problem or "not an audit result")
        yield line.result


def read_results(path: Path) -> list[ConversationResult]:
    """Every result of ``path`` (``iter_results`` into a list)."""
    return list(iter_results(path))


def anomaly_scored(result: ConversationResult) -> bool:
    """Whether the anomaly step has annotated ``result``: a batch audit's results carry their anomaly block only
    once the run is finished (``auditor.batch.runner.BatchRun.finish``)."""
    return result.anomaly is not None


class ResultsLog:
    """results.jsonl opened for appending, a batch of lines at a time: one ``write`` on an ``O_APPEND`` descriptor
    and an ``fsync`` a batch, so a crash leaves at most a torn last line.

    ``keep_existing``: go on after the complete lines of an existing file (each is passed to ``index_line``, and a
    torn last line is cut off); otherwise the file is replaced once the first batch is appended.
    """

    def __init__(self, path: Path, *, keep_existing: bool = False):
        self.path = path
        self.offsets = array("q")
        """Byte offset of every line, so a line is re-read without holding it."""
        self.truncated_bytes = 0
        self._kept = keep_existing and path.exists()
        self._size = self._scan() if self._kept else 0
        self._fd: int | None = None
        self._reader: BinaryIO | None = None

    def __len__(self) -> int:
        return len(self.offsets)

    def index_line(self, number: int, raw: bytes) -> None:
        """Called with each complete line (0-based number) of the existing file kept; a subclass indexes it."""

    def append(self, lines: Sequence[str]) -> int:
        """Write ``lines`` (JSON, no newline) as one write, fsync, and return the 0-based number of the first."""
        first = len(self.offsets)
        encoded = [line.encode("utf-8") + b"\n" for line in lines]
        for line in encoded:
            self.offsets.append(self._size)
            self._size += len(line)
        if self._fd is None:  # a fresh run replaces an earlier file only once it has a result to write
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | (0 if self._kept else os.O_TRUNC)
            self._fd = os.open(self.path, flags, 0o644)
        view = memoryview(b"".join(encoded))
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        return first

    def read(self, line: int) -> ConversationResult:
        """The result on a line written earlier (by this run or the one it goes on from)."""
        if self._reader is None:
            self._reader = self.path.open("rb")
        self._reader.seek(self.offsets[line])
        return parse_result(self._reader.readline())

    def results(self) -> Iterator[tuple[int, ConversationResult]]:
        """Every line in order (0-based number) with its result."""
        if not self.offsets:
            return
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle):
                yield number, parse_result(raw)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> ResultsLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _scan(self) -> int:
        """Index the complete lines of the existing file, cut a torn last line, and return the size kept."""
        size = 0
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle):
                if not raw.endswith(b"\n"):
                    self.truncated_bytes = len(raw)  # a batch cut by a crash: its conversations are audited again
                    break
                self.index_line(number, raw)
                self.offsets.append(size)
                size += len(raw)
        if self.truncated_bytes:
            os.truncate(self.path, size)
        return size


class ResultsWriter:
    """Writes results one a line and flushes; ``close`` also fsyncs, so a file about to replace another is on disk
    first."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: TextIO = path.open("w", encoding="utf-8")

    def write(self, results: Iterable[ConversationResult]) -> None:
        self._handle.write("".join(result_line(result) + "\n" for result in results))
        self._handle.flush()

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@contextmanager
def rewriting(path: Path) -> Iterator[ResultsWriter]:
    """Rewrite ``path`` atomically: results go to ``path.partial``, which replaces ``path`` when the block ends
    without an error (and is removed when it raises, leaving ``path`` as it was)."""
    partial = path.with_name(path.name + ".partial")
    writer = ResultsWriter(partial)
    try:
        yield writer
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    writer.close()
    partial.replace(path)
    _sync_folder(path.parent)


def write_results(path: Path, results: Iterable[ConversationResult]) -> None:
    """Write ``results`` to ``path`` atomically (``rewriting``)."""
    with rewriting(path) as writer:
        writer.write(results)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
