"""What report.html and the tables need from an audit, counted one result at a time: the aggregates stay small at
any size.

``AuditSummary.add`` takes each final result once; ``agents()`` and ``steps()`` then equal ``summarise_agents`` /
``summarise_steps`` over all results, and the totals, the critical steps, the charts and the most dissatisfied /
most unusual flagged conversations are those of the whole audit. ``auditor.reports.html`` fills the report from it,
whether the results stream from a batch audit or are a list in memory.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from auditor.outcome import WORST_FIRST, outcome_of
from auditor.reports.aggregates import AgentSummary, ComplianceCounts, StepSummary
from auditor.reports.charts import ChartData
from auditor.result import ConversationResult

MISPLACED = ("missing", "out_of_order", "late")
"""Statuses shown with a marker where the SOP expected the step."""
MARKED = (*MISPLACED, "uncertain")
"""Statuses whose expected place is marked in the transcript (an uncertain step: where to look)."""
ISSUES = (*MISPLACED, "uncertain", "violated")
"""Step statuses that give a conversation an issue to look at."""

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
                kept = self._flagged[block]
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


def summarise(results: Iterable[tuple[ConversationResult, str | None]], top: int = TOP_FLAGGED) -> AuditSummary:
    """The summary of ``(result, started_at)`` pairs in results.jsonl order."""
    summary = AuditSummary(top=top)
    for result, started_at in results:
        summary.add(result, started_at)
    return summary
