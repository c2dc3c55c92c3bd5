"""A self-contained HTML report (no external assets): summary, tables, and every conversation with its evidence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from auditor.reports.aggregates import AgentSummary, StepSummary
from auditor.result import ConversationResult
from auditor.transcripts.conversation import Conversation

STATUS_LABELS = {
    "done": "done",
    "missing": "missing",
    "out_of_order": "out of order",
    "late": "late",
    "not_applicable": "n/a",
}


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("auditor.reports", "templates"), autoescape=select_autoescape())
    env.filters["pct"] = lambda value: f"{value * 100:.0f}%"
    return env


def render_report(
    results: Sequence[ConversationResult],
    agents: Sequence[AgentSummary],
    steps: Sequence[StepSummary],
    conversations: dict[str, Conversation],
    *,
    sop_name: str,
    problems: Sequence[str] = (),
) -> str:
    """HTML text of the report; conversations are looked up by id to show their transcripts."""
    worst_first = sorted(results, key=lambda r: (r.passed, r.score))
    views = [_conversation_view(result, conversations.get(result.conversation_id)) for result in worst_first]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            sop_name=sop_name,
            sop_id=results[0].sop_id if results else "",
            sop_version=results[0].sop_version if results else "",
            models=results[0].models if results else {},
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            total=len(results),
            passed=sum(r.passed for r in results),
            mean_score=sum(r.score for r in results) / len(results) if results else 0.0,
            agents=agents,
            steps=steps,
            conversations=views,
            problems=problems,
            status_labels=STATUS_LABELS,
        )
    )


def write_report(path: Path, html: str) -> None:
    path.write_text(html, encoding="utf-8")


def _conversation_view(result: ConversationResult, conversation: Conversation | None) -> dict[str, object]:
    """Transcript rows annotated with the steps each turn performs and the missing steps expected there."""
    performed: dict[int, list[tuple[str, str]]] = {}
    for step in result.steps:
        for evidence in step.evidence:
            performed.setdefault(evidence.turn_index, []).append((step.step_id, step.status))
    expected_here: dict[int, list[str]] = {}
    for step in result.steps:
        if step.status == "missing" and step.expected is not None:
            anchor = (
                step.expected.before_turn
                if step.expected.before_turn is not None
                else ((step.expected.after_turn or -1) + 1)
            )
            expected_here.setdefault(anchor, []).append(step.step_id)
    turns = []
    for turn in conversation.turns if conversation else []:
        turns.append(
            {
                "index": turn.index,
                "speaker": turn.speaker,
                "role": turn.role.value,
                "text": turn.text,
                "steps": performed.get(turn.index, []),
                "missing_before": expected_here.get(turn.index, []),
            }
        )
    last = len(turns)
    trailing = [step_id for anchor, ids in expected_here.items() if anchor >= last for step_id in ids]
    return {"result": result, "turns": turns, "missing_at_end": trailing}
