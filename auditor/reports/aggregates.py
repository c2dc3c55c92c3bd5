"""Compliance per agent and per step, computed from conversation results."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from auditor.result import ConversationResult

UNKNOWN_AGENT = "(unknown)"


@dataclass(frozen=True)
class AgentSummary:
    agent_id: str
    conversations: int
    mean_score: float
    pass_rate: float
    most_missed_step: str | None
    most_missed_count: int


@dataclass(frozen=True)
class StepSummary:
    step_id: str
    name: str
    applicable: int
    done: int
    missing: int
    out_of_order: int
    late: int
    not_applicable: int

    @property
    def done_rate(self) -> float:
        """Share of conversations where the step applied and was done (on time and in order)."""
        return self.done / self.applicable if self.applicable else 0.0


def summarise_agents(results: Sequence[ConversationResult]) -> list[AgentSummary]:
    """One row per agent, worst mean score first (who needs coaching)."""
    grouped: dict[str, list[ConversationResult]] = defaultdict(list)
    for result in results:
        grouped[result.agent_id or UNKNOWN_AGENT].append(result)
    rows = []
    for agent_id, agent_results in grouped.items():
        missed = Counter(s.step_id for r in agent_results for s in r.steps if s.status == "missing" and s.required)
        top = missed.most_common(1)
        rows.append(
            AgentSummary(
                agent_id=agent_id,
                conversations=len(agent_results),
                mean_score=round(sum(r.score for r in agent_results) / len(agent_results), 4),
                pass_rate=round(sum(r.passed for r in agent_results) / len(agent_results), 4),
                most_missed_step=top[0][0] if top else None,
                most_missed_count=top[0][1] if top else 0,
            )
        )
    return sorted(rows, key=lambda row: (row.mean_score, row.agent_id))


def summarise_steps(results: Sequence[ConversationResult]) -> list[StepSummary]:
    """One row per SOP step, in SOP order (results are assumed to share one SOP)."""
    order: dict[str, str] = {}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for result in results:
        for step in result.steps:
            order.setdefault(step.step_id, step.name or step.step_id)
            counts[step.step_id][step.status] += 1
    rows = []
    for step_id, name in order.items():
        c = counts[step_id]
        rows.append(
            StepSummary(
                step_id=step_id,
                name=name,
                applicable=sum(c.values()) - c["not_applicable"],
                done=c["done"],
                missing=c["missing"],
                out_of_order=c["out_of_order"],
                late=c["late"],
                not_applicable=c["not_applicable"],
            )
        )
    return rows


def most_flagged(
    results: Sequence[ConversationResult], block: Literal["dissatisfaction", "anomaly"], top: int = 5
) -> list[ConversationResult]:
    """The flagged conversations with the highest score in their ``dissatisfaction`` or ``anomaly`` block."""
    flagged = [r for r in results if (outcome := getattr(r, block)) is not None and outcome.flagged]
    return sorted(flagged, key=lambda r: -getattr(r, block).score)[:top]
