"""Rich tables for the terminal: compliance per agent and per step.

Every cell that holds text from the input or the SOP (ids, step names, reasons) is a ``Text`` made by ``cell``:
never read as rich markup, control characters shown as escapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rich.table import Table
from rich.text import Text

from auditor.anomaly.agent_steps import AgentStepDeviation
from auditor.reports.aggregates import AgentSummary, StepSummary, most_flagged
from auditor.reports.terminal import cell
from auditor.result import ConversationResult


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def agents_table(agents: Sequence[AgentSummary], title: str = "Compliance per agent") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("agent", no_wrap=True)
    table.add_column("conversations", justify="right")
    table.add_column("mean score", justify="right")
    table.add_column("pass rate", justify="right")
    reviewing = any(a.needs_review for a in agents)
    if reviewing:
        table.add_column("needs review", justify="right")
    table.add_column("most missed step")
    for a in agents:
        style = "red" if a.pass_rate is not None and a.pass_rate < 0.5 else ""
        missed = f"{a.most_missed_step} ({a.most_missed_count})" if a.most_missed_step else "-"
        cells: list[str | Text] = [cell(a.agent_id), str(a.conversations), f"{a.mean_score:.2f}", _pct(a.pass_rate)]
        cells += [str(a.needs_review)] if reviewing else []
        table.add_row(*cells, cell(missed), style=style)
    if reviewing:
        table.caption = "pass rate: of the conversations decided (passed or failed); needs review: a person decides"
    return table


def steps_table(steps: Sequence[StepSummary], title: str = "Compliance per step") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("step", no_wrap=True)
    table.add_column("done rate", justify="right")
    table.add_column("done", justify="right")
    table.add_column("missing", justify="right")
    table.add_column("out of order", justify="right")
    table.add_column("late", justify="right")
    table.add_column("n/a", justify="right")
    uncertain = any(s.uncertain for s in steps)
    violated = any(s.violated for s in steps)
    if uncertain:
        table.add_column("uncertain", justify="right")
    if violated:
        table.add_column("violated", justify="right")
    for s in steps:
        style = "red" if (s.applicable and s.done_rate < 0.7) or s.violated else ""
        cells: list[str | Text] = [
            cell(s.step_id),
            _pct(s.done_rate) if s.applicable else "-",
            str(s.done),
            str(s.missing),
            str(s.out_of_order),
            str(s.late),
            str(s.not_applicable),
        ]
        cells += [str(s.uncertain)] if uncertain else []
        cells += [str(s.violated)] if violated else []
        table.add_row(*cells, style=style)
    if uncertain:
        table.caption = "done rate: of the decided verdicts; uncertain: a person decides (left out of the rate)"
    return table


def deviations_table(deviations: Sequence[AgentStepDeviation], cells: int) -> Table:
    """Agents who miss a step significantly more than their peers: what to coach."""
    table = Table(title=f"What to coach (agent x step, {cells} cells tested, q < 0.05)", title_justify="left")
    table.add_column("agent", no_wrap=True)
    table.add_column("step", no_wrap=True)
    table.add_column("agent missed", justify="right")
    table.add_column("peers missed", justify="right")
    table.add_column("q", justify="right")
    for d in deviations:
        table.add_row(
            cell(d.agent_id),
            cell(d.step_id),
            f"{d.agent_misses}/{d.agent_conversations} ({_pct(d.agent_rate)})",
            f"{d.peer_misses}/{d.peer_conversations} ({_pct(d.peer_rate)})",
            f"{d.q_value:.2g}",
        )
    return table


def flagged_table(
    results: Sequence[ConversationResult], block: Literal["dissatisfaction", "anomaly"], title: str, top: int = 5
) -> Table | None:
    """The most dissatisfied or most unusual flagged conversations, with what drove them; None if none."""
    flagged = most_flagged(results, block, top)
    if not flagged:
        return None
    table = Table(title=title, title_justify="left")
    table.add_column("conversation", no_wrap=True)
    table.add_column("agent", no_wrap=True)
    table.add_column("score", justify="right")
    table.add_column("why")
    for r in flagged:
        outcome = getattr(r, block)
        why = outcome.reasons if block == "anomaly" else sorted({s for t in outcome.turns for s in t.signals})
        reasons = cell("; ".join(why) or "-")
        table.add_row(cell(r.conversation_id), cell(r.agent_id or "-"), f"{outcome.score:.2f}", reasons)
    return table
