"""What the reports need from an audit, counted one result at a time: the aggregates stay small at any size.

``AuditSummary.add`` takes each final result once; ``agents()`` and ``steps()`` then equal
``summarise_agents`` / ``summarise_steps`` over all results, and the totals, the critical steps and the most
dissatisfied / most unusual flagged conversations equal what ``render_report`` computes from the full list.
``WorstConversations`` keeps the lowest-scoring conversations (the report's worst-first order) for the report's
transcripts: the whole audit when it is small, a bounded number when it is not.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

import numpy as np

from auditor.conversation import Conversation
from auditor.outcome import WORST_FIRST, outcome_of
from auditor.reports.aggregates import AgentSummary, ComplianceCounts, StepSummary
from auditor.reports.charts import ChartData
from auditor.reports.html import ISSUES
from auditor.result import ConversationResult

Block = Literal["dissatisfaction", "anomaly"]
TOP_FLAGGED = 5


@dataclass
class AuditSummary:
    """Running totals of an audit's results, in results.jsonl order."""

    top: int = TOP_FLAGGED
    total: int = 0
    passed: int = 0
    failed: int = 0
    needs_review: int = 0
    """Conversations the auditor could not decide: a person must (an uncertain step decides the outcome)."""
    uncertain_steps: int = 0
    violated_steps: int = 0
    score_sum: float = 0.0
    with_issues: int = 0
    critical_misses: int = 0
    dissatisfied: int = 0
    anomalous: int = 0
    sop_id: str = ""
    sop_version: int | str = ""
    models: dict[str, str] = field(default_factory=dict)
    critical_steps: set[str] = field(default_factory=set)
    compliance: ComplianceCounts = field(default_factory=ComplianceCounts)
    _flagged: dict[Block, list[tuple[float, int, ConversationResult]]] = field(
        default_factory=lambda: {"dissatisfaction": [], "anomaly": []}
    )
    charts: ChartData = field(default_factory=ChartData)
    """What the report's charts draw, counted in results.jsonl order."""

    def add(self, result: ConversationResult, started_at: str | None = None) -> None:
        """Count one final result; ``started_at`` is its conversation's (the trend chart's day)."""
        self.charts.add(result, started_at)
        if self.total == 0:
            self.sop_id, self.sop_version, self.models = result.sop_id, result.sop_version, result.models
        order = self.total
        self.total += 1
        outcome = outcome_of(result)
        self.passed += outcome == "passed"
        self.failed += outcome == "failed"
        self.needs_review += outcome == "needs_review"
        self.uncertain_steps += sum(step.status == "uncertain" for step in result.steps)
        self.violated_steps += sum(step.status == "violated" for step in result.steps)
        self.score_sum += result.score
        self.with_issues += bool(result.flags) or any(step.status in ISSUES for step in result.steps)
        self.critical_misses += any(flag.startswith("critical:") for flag in result.flags)
        self.dissatisfied += bool(result.dissatisfaction and result.dissatisfaction.flagged)
        self.anomalous += bool(result.anomaly and result.anomaly.flagged)
        self.compliance.add(result)
        self.critical_steps.update(step.step_id for step in result.steps if step.critical)
        for block in ("dissatisfaction", "anomaly"):
            found = getattr(result, block)
            if found is not None and found.flagged:
                # keep the `top` highest scores; among equal scores the earliest, as a stable sort would
                entry = (found.score, -order, result)
                kept = self._flagged[block]  # type: ignore[index]
                if len(kept) < self.top:
                    heapq.heappush(kept, entry)
                elif entry[:2] > kept[0][:2]:
                    heapq.heapreplace(kept, entry)

    @property
    def pass_rate(self) -> float | None:
        """Share of the decided conversations (passed or failed) that passed; None when none is decided."""
        decided = self.passed + self.failed
        return self.passed / decided if decided else None

    @property
    def mean_score(self) -> float:
        return self.score_sum / self.total if self.total else 0.0

    def agents(self) -> list[AgentSummary]:
        """As ``summarise_agents``: one row per agent, worst mean score first."""
        return self.compliance.agents()

    def steps(self) -> list[StepSummary]:
        """As ``summarise_steps``: one row per SOP step, in SOP order."""
        return self.compliance.steps()

    def flagged(self, block: Block) -> list[ConversationResult]:
        """The flagged results ``most_flagged`` would pick from the whole audit (pass them to it or its tables)."""
        return [result for _, _, result in sorted(self._flagged[block], key=lambda entry: -entry[1])]


def worst_first_key(outcome: str, score: float, conversation_id: str) -> tuple[int, float, str]:
    """The report's order: failed, then needs review, then passed; then lowest score, then id."""
    return (WORST_FIRST[outcome], score, conversation_id)


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
