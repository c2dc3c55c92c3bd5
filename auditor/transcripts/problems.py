"""What loading transcripts reports: bad files and lines as problems, never as lost good conversations."""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.conversation import Conversation

MAX_REASON_CHARS = 1_000
"""Longest reason a problem keeps: a 10 MB bad value must not be echoed into the report."""


class TranscriptError(ValueError):
    """A transcript record that cannot be audited; the message names the field, e.g. ``turns[3].text``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LoadProblem:
    """One bad input file or line, reported as ``path:line: reason``."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.reason}"
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class LoadResult:
    """The conversations that loaded and the problems with everything that did not."""

    conversations: list[Conversation] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)


@dataclass(frozen=True)
class Located:
    """A loaded conversation with where it came from (``line`` 1-based, ``where`` e.g. ``a.jsonl:3``)."""

    conversation: Conversation
    line: int | None
    where: str


@dataclass
class FileLoad:
    """What one format reader got from one file, before duplicate ids are checked."""

    located: list[Located] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)

    def problem(self, path: str, line: int | None, reason: str) -> None:
        """Record one problem (its reason cut to ``MAX_REASON_CHARS``)."""
        if len(reason) > MAX_REASON_CHARS:
            reason = f"{reason[: MAX_REASON_CHARS - 20]}... (message cut)"
        self.problems.append(LoadProblem(path, line, reason))
