"""What a batch audit keeps for its report while it streams: the lowest-scoring conversations (the report's
worst-first order) with their transcripts, bounded however large the audit (``WorstConversations``), and the day
each result's conversation started (``StartDays``). The aggregates are ``auditor.reports.summary.AuditSummary``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from auditor.conversation import Conversation

REPORT_CONVERSATIONS = 1_000
"""Conversations shown with their transcript in report.html, worst first (about 12 MB of HTML)."""


class WorstConversations:
    """The ``limit`` first conversations in worst-first order, with the line of their result."""

    def __init__(self, limit: int):
        self.limit = limit
        self.offered = 0
        self._heap: list[_Kept] = []

    def offer(self, key: tuple[int, float, str], line: int, conversation: Conversation) -> None:
        self.offered += 1
        if self.limit <= 0:
            return
        # a min-heap of negated keys is a max-heap of keys: its top is the best kept, the first to give way
        negated = (-key[0], -key[1], _Reversed(key[2]))
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, _Kept(negated, line, for_report(conversation)))
        elif negated > self._heap[0].negated_key:
            heapq.heapreplace(self._heap, _Kept(negated, line, for_report(conversation)))

    @property
    def truncated(self) -> bool:
        return self.offered > len(self._heap)

    def conversations_by_line(self) -> dict[int, Conversation]:
        return {entry.line: entry.conversation for entry in self._heap}


REPORT_TURN_CHARS = 20_000
"""Most characters of one turn that report.html shows (a two-hour monologue is cut there with a note saying how much
is left out); results.jsonl keeps the evidence whole. With the report's 1,000 conversations this bounds what an audit
holds for the report at any input size."""


def for_report(conversation: Conversation) -> Conversation:
    """``conversation`` as report.html shows it: a turn longer than ``REPORT_TURN_CHARS`` is cut, with a note."""
    if all(len(turn.text) <= REPORT_TURN_CHARS for turn in conversation.turns):
        return conversation
    turns = [
        turn
        if len(turn.text) <= REPORT_TURN_CHARS
        else replace(
            turn,
            text=f"{turn.text[:REPORT_TURN_CHARS]} … [{len(turn.text) - REPORT_TURN_CHARS:,} more characters not "
            "shown in this report; results.jsonl and the transcript hold them]",
        )
        for turn in conversation.turns
    ]
    return replace(conversation, turns=turns)


@dataclass(frozen=True)
class _Kept:
    negated_key: tuple[int, float, _Reversed]
    line: int
    conversation: Conversation = field(compare=False)

    def __lt__(self, other: _Kept) -> bool:
        return self.negated_key < other.negated_key


@dataclass(frozen=True, order=False)
class _Reversed:
    """A string that sorts backwards, to negate the id part of a key in a max-heap."""

    text: str

    def __lt__(self, other: _Reversed) -> bool:
        return self.text > other.text

    def __gt__(self, other: _Reversed) -> bool:
        return self.text < other.text


class StartDays:
    """The day each results.jsonl line's conversation started (for the report's trend chart), 4 bytes a line."""

    BLOCK_ROWS = 4096

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []

    def set(self, line: int, started_at: str | None) -> None:
        day = _day(started_at)
        if day is None:
            return
        block, row = divmod(line, self.BLOCK_ROWS)
        while len(self._blocks) <= block:
            self._blocks.append(np.zeros(self.BLOCK_ROWS, dtype=np.int32))
        self._blocks[block][row] = day.toordinal()

    def get(self, line: int) -> str | None:
        """The day as ISO text, or None when the conversation did not say."""
        block, row = divmod(line, self.BLOCK_ROWS)
        if block >= len(self._blocks) or not self._blocks[block][row]:
            return None
        return date.fromordinal(int(self._blocks[block][row])).isoformat()


def _day(started_at: str | None) -> date | None:
    if not started_at or len(started_at) < 10:
        return None
    try:
        return date.fromisoformat(started_at[:10])
    except ValueError:
        return None
