"""results.jsonl as a crash-safe, append-only log that an interrupted audit resumes from.

A batch of results is appended with one ``write`` on an ``O_APPEND`` descriptor and made durable with ``fsync``
before the next batch starts (``auditor.results_file.ResultsLog``). A process killed mid-write can leave at most a
torn last line (a prefix of the batch whose last line has no newline); resuming cuts it off, indexes every complete
line by conversation id and source, and the audit goes on with the conversations not in the file. Each
conversation therefore ends up exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import results_file
from auditor.conversation import Conversation


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


class ResultsLog(results_file.ResultsLog):
    """results.jsonl appended batch by batch; on ``resume``, what an earlier run wrote is indexed (``done``, by
    conversation id) and the audit goes on after it."""

    def __init__(self, path: Path, *, resume: bool = False):
        self.done: dict[str, AuditedBefore] = {}
        self.identity: LogIdentity | None = None
        self._sources: dict[Any, Any] = {}
        super().__init__(path, keep_existing=resume)
        self._sources.clear()

    def index_line(self, number: int, raw: bytes) -> None:
        try:
            record = json.loads(raw)
            conversation_id = record["conversation_id"]
        except (ValueError, KeyError, TypeError) as error:
            raise ResumeError(f"{self.path}:{number + 1}: not a result line ({error}); cannot resume") from None
        if self.identity is None:
            self.identity = LogIdentity.of(record)
        source = result_source(record)
        source = self._sources.setdefault(source, source)  # one string per file, not one per line
        if conversation_id not in self.done:
            self.done[conversation_id] = AuditedBefore(source, number)
