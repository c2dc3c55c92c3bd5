"""report.html for an audit of any size: the headline figures and tables of all of it, transcripts of the worst.

The page is ``auditor.reports.html``'s template, filled from an ``AuditSummary`` instead of a list of every result.
For an audit of up to ``REPORT_CONVERSATIONS`` conversations it is the page ``render_report`` makes (its charts
count results in results.jsonl order rather than worst first: the same figures); past that,
only the lowest-scoring ones are shown with their transcripts (a page with 100,000 transcripts is over a gigabyte of
HTML) and a note says so; results.jsonl holds every one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

from auditor.anomaly.agent_steps import AgentStepDeviation
from auditor.batch.summary import AuditSummary
from auditor.conversation import Conversation
from auditor.reports.aggregates import AgentSummary, StepSummary, most_flagged
from auditor.reports.charts import render_charts
from auditor.reports.html import (
    OUTCOME_LABELS,
    STATUS_LABELS,
    STATUS_MEANINGS,
    ConversationView,
    _conversation_view,
    _environment,
)
from auditor.result import ConversationResult

REPORT_CONVERSATIONS = 1_000
"""Conversations shown with their transcript in report.html, worst first (about 12 MB of HTML)."""


@dataclass(frozen=True)
class ShownConversation:
    """A conversation the report shows: its worst-first key, its final result as JSON (parsed when its turn comes,
    so a thousand parsed results never coexist) and its transcript."""

    key: tuple[int, float, str]
    result_json: str
    conversation: Conversation | None


def write_audit_report(
    path: Path,
    summary: AuditSummary,
    shown: Sequence[ShownConversation],
    agents: Sequence[AgentSummary],
    steps: Sequence[StepSummary],
    *,
    sop_name: str,
    problems: Sequence[str] = (),
    deviations: Sequence[AgentStepDeviation] = (),
    deviation_cells: int = 0,
) -> None:
    """Write report.html: figures from ``summary``, transcripts of ``shown``; the page is streamed to the file."""
    views = _LazyViews(sorted(shown, key=lambda item: item.key))
    chunks = (
        _environment()
        .get_template("report.html.j2")
        .generate(
            sop_name=sop_name,
            sop_id=summary.sop_id,
            sop_version=summary.sop_version,
            models=summary.models,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            total=summary.total,
            passed=summary.passed,
            failed=summary.failed,
            needs_review=summary.needs_review,
            uncertain_steps=summary.uncertain_steps,
            violated_steps=summary.violated_steps,
            with_issues=summary.with_issues,
            critical_misses=summary.critical_misses,
            dissatisfied=summary.dissatisfied,
            anomalous=summary.anomalous,
            mean_score=summary.mean_score,
            agents=agents,
            steps=steps,
            critical_steps=summary.critical_steps,
            conversations=views,
            problems=problems,
            status_labels=STATUS_LABELS,
            status_meanings=STATUS_MEANINGS,
            outcome_labels=OUTCOME_LABELS,
            deviations=deviations,
            deviation_cells=deviation_cells,
            most_dissatisfied=most_flagged(summary.flagged("dissatisfaction"), "dissatisfaction", summary.top),
            most_anomalous=most_flagged(summary.flagged("anomaly"), "anomaly", summary.top),
            charts=render_charts(summary.charts),
            shown_note=(
                f"Showing the {len(shown):,} lowest-scoring of {summary.total:,} conversations; "
                "results.jsonl has every one; the filters below apply to those shown."
                if len(shown) < summary.total
                else ""
            ),
        )
    )
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(chunks)


class _LazyViews(Sequence[ConversationView]):
    """The shown conversations' views, each built when the template reaches it (and built again if it comes back),
    so the page never holds a thousand parsed results and transcripts at once."""

    def __init__(self, shown: Sequence[ShownConversation]):
        self._shown = shown

    def __len__(self) -> int:
        return len(self._shown)

    @overload
    def __getitem__(self, index: int) -> ConversationView: ...

    @overload
    def __getitem__(self, index: slice) -> list[ConversationView]: ...

    def __getitem__(self, index: int | slice) -> ConversationView | list[ConversationView]:
        if isinstance(index, slice):
            return [self._view(item) for item in self._shown[index]]
        return self._view(self._shown[index])

    def __iter__(self) -> Iterator[ConversationView]:
        return (self._view(item) for item in self._shown)

    @staticmethod
    def _view(item: ShownConversation) -> ConversationView:
        return _conversation_view(ConversationResult.model_validate_json(item.result_json), item.conversation)
