"""results.jsonl as a crash-safe, append-only log that an interrupted audit resumes from.

A batch of results is appended with one ``write`` on an ``O_APPEND`` descriptor and made durable with ``fsync``
before the next batch starts. A process killed mid-write can leave at most a torn last line (a prefix of the batch
whose last line has no newline); resuming cuts it off, indexes every complete line by conversation id and source,
and the audit goes on with the conversations not in the file. Each conversation therefore ends up exactly once.
"""

from __future__ import annotations

import json
import os
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from auditor.conversation import Conversation
from auditor.result import ConversationResult


class ResumeError(RuntimeError):
    """results.jsonl cannot be resumed (corrupt, or audited against another SOP or embedder)."""


def conversation_source(conversation: Conversation) -> Any:
    """The source a result records for this conversation: the record's own ``source`` field, else its file."""
    if "source" in conversation.metadata:
        return _hashable(conversation.metadata["source"])
    return conversation.source or None


def result_source(record: dict[str, Any]) -> Any:
    """The source recorded in a result (as JSON) by ``Auditor``: ``metadata.source``."""
    metadata = record.get("metadata") or {}
    return _hashable(metadata.get("source"))


def _hashable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class AuditedBefore:
    """What results.jsonl already holds for a conversation id: where it came from and its line (0-based)."""

    source: Any
    line: int


@dataclass(frozen=True)
class LogIdentity:
    """What every line of one audit shares; a resume must continue with the same."""

    sop_id: str
    sop_version: str
    embedder: str | None
    redaction: str | None = None
    """The personal data hidden (``models["redaction"]``): a file must not mix redacted and clear results."""

    @classmethod
    def of(cls, record: dict[str, Any]) -> LogIdentity:
        models = record.get("models") or {}
        return cls(
            str(record.get("sop_id")), str(record.get("sop_version")), models.get("embedder"), models.get("redaction")
        )

    def describe(self) -> str:
        return (
            f"SOP {self.sop_id} v{self.sop_version} with embedder {self.embedder},"
            f" redaction {self.redaction or 'not recorded'}"
        )


class ResultsLog:
    """Append results batch by batch; on ``resume``, index what an earlier run wrote (``done``) and go on after it."""

    def __init__(self, path: Path, *, resume: bool = False):
        self.path = path
        self.offsets = array("q")
        """Byte offset of every line, so a line is re-read without holding it."""
        self.done: dict[str, AuditedBefore] = {}
        self.identity: LogIdentity | None = None
        self.truncated_bytes = 0
        self._size = self._scan() if resume and path.exists() else 0
        self._resumed = resume and path.exists()
        self._fd: int | None = None
        self._reader: BinaryIO | None = None

    def __len__(self) -> int:
        return len(self.offsets)

    def append(self, lines: Sequence[str]) -> int:
        """Write ``lines`` (JSON, no newline) as one write, fsync, and return the 0-based number of the first."""
        first = len(self.offsets)
        encoded = [line.encode("utf-8") + b"\n" for line in lines]
        for line in encoded:
            self.offsets.append(self._size)
            self._size += len(line)
        if self._fd is None:  # a fresh run replaces an earlier file only once it has a result to write
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | (0 if self._resumed else os.O_TRUNC)
            self._fd = os.open(self.path, flags, 0o644)
        view = memoryview(b"".join(encoded))
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        return first

    def read(self, line: int) -> ConversationResult:
        """The result on a line written earlier (by this run or the one it resumes)."""
        if self._reader is None:
            self._reader = self.path.open("rb")
        self._reader.seek(self.offsets[line])
        return ConversationResult.model_validate_json(self._reader.readline())

    def lines(self) -> Iterator[str]:
        """Every line in order, without its newline."""
        if not self.offsets:
            return
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                yield line.rstrip("\n")

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
        """Index the complete lines of an existing file, cut a torn last line, and return the size kept."""
        sources: dict[Any, Any] = {}
        size = 0
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle):
                if not raw.endswith(b"\n"):
                    self.truncated_bytes = len(raw)  # a batch cut by a crash: the conversations are audited again
                    break
                try:
                    record = json.loads(raw)
                    conversation_id = record["conversation_id"]
                except (ValueError, KeyError, TypeError) as error:
                    raise ResumeError(f"{self.path}:{number + 1}: not a result line ({error}); cannot resume") from None
                if self.identity is None:
                    self.identity = LogIdentity.of(record)
                source = result_source(record)
                source = sources.setdefault(source, source)  # one string per file, not one per line
                if conversation_id not in self.done:
                    self.done[conversation_id] = AuditedBefore(source, number)
                self.offsets.append(size)
                size += len(raw)
        if self.truncated_bytes:
            os.truncate(self.path, size)
        return size
