"""Compliance per agent and per step, computed from conversation results.

Rates are over *decided* verdicts: an ``uncertain`` step (a person must decide) and a ``needs_review`` conversation
are counted in columns of their own and left out of ``done_rate`` and ``pass_rate``, so a rate means what it meant
before abstention existed; results written before then (``outcome`` null) read as passed / failed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from auditor.outcome import outcome_of
from auditor.result import ConversationResult

UNKNOWN_AGENT = "(unknown)"


@dataclass(frozen=True)
class AgentSummary:
    agent_id: str
    conversations: int
    mean_score: float
    pass_rate: float | None
    """Share of the agent's *decided* conversations (passed or failed) that passed; None when none is decided."""
    most_missed_step: str | None
    most_missed_count: int
    passed: int = 0
    failed: int = 0
    needs_review: int = 0
    uncertain_steps: int = 0
    """Step verdicts in the agent's conversations that a person must decide."""
    violated_steps: int = 0
    """Forbidden steps the agent said."""


@dataclass(frozen=True)
class StepSummary:
    step_id: str
    name: str
    applicable: int
    """Conversations where the step applied and was decided (``uncertain`` ones are counted apart)."""
    done: int
    missing: int
    out_of_order: int
    late: int
    not_applicable: int
    uncertain: int = 0
    """Conversations where the auditor could not decide the step: a person must (not in ``applicable``)."""
    violated: int = 0
    """Conversations where the (forbidden) step was said; decided, in ``applicable``, never done."""

    @property
    def done_rate(self) -> float:
        """Share of the decided conversations where the step applied and was done (on time and in order)."""
        return self.done / self.applicable if self.applicable else 0.0


@dataclass
class _AgentCounts:
    conversations: int = 0
    score_sum: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    uncertain: int = 0
    violated: int = 0
    missed: Counter[str] = field(default_factory=Counter)


@dataclass
class ComplianceCounts:
    """Per-agent and per-step counts taken one result at a time, so an audit of any size keeps only these."""

    _agents: dict[str, _AgentCounts] = field(default_factory=lambda: defaultdict(_AgentCounts))
    _step_names: dict[str, str] = field(default_factory=dict)
    _step_counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, result: ConversationResult) -> None:
        agent = self._agents[result.agent_id or UNKNOWN_AGENT]
        agent.conversations += 1
        agent.score_sum += result.score
        agent.outcomes[outcome_of(result)] += 1
        for step in result.steps:
            if step.status == "missing" and step.required:
                agent.missed[step.step_id] += 1
            agent.uncertain += step.status == "uncertain"
            agent.violated += step.status == "violated"
            self._step_names.setdefault(step.step_id, step.name or step.step_id)
            self._step_counts[step.step_id][step.status] += 1

    def agents(self) -> list[AgentSummary]:
        """One row per agent, worst mean score first (who needs coaching)."""
        rows = []
        for agent_id, counts in self._agents.items():
            top = counts.missed.most_common(1)
            passed, failed = counts.outcomes["passed"], counts.outcomes["failed"]
            rows.append(
                AgentSummary(
                    agent_id=agent_id,
                    conversations=counts.conversations,
                    mean_score=round(counts.score_sum / counts.conversations, 4),
                    pass_rate=round(passed / (passed + failed), 4) if passed + failed else None,
                    most_missed_step=top[0][0] if top else None,
                    most_missed_count=top[0][1] if top else 0,
                    passed=passed,
                    failed=failed,
                    needs_review=counts.outcomes["needs_review"],
                    uncertain_steps=counts.uncertain,
                    violated_steps=counts.violated,
                )
            )
        return sorted(rows, key=lambda row: (row.mean_score, row.agent_id))

    def steps(self) -> list[StepSummary]:
        """One row per SOP step, in SOP order (results are assumed to share one SOP)."""
        rows = []
        for step_id, name in self._step_names.items():
            c = self._step_counts[step_id]
            rows.append(
                StepSummary(
                    step_id=step_id,
                    name=name,
                    applicable=sum(c.values()) - c["not_applicable"] - c["uncertain"],
                    done=c["done"],
                    missing=c["missing"],
                    out_of_order=c["out_of_order"],
                    late=c["late"],
                    not_applicable=c["not_applicable"],
                    uncertain=c["uncertain"],
                    violated=c["violated"],
                )
            )
        return rows


def _counted(results: Sequence[ConversationResult]) -> ComplianceCounts:
    counts = ComplianceCounts()
    for result in results:
        counts.add(result)
    return counts


def summarise_agents(results: Sequence[ConversationResult]) -> list[AgentSummary]:
    """One row per agent, worst mean score first (who needs coaching)."""
    return _counted(results).agents()


def summarise_steps(results: Sequence[ConversationResult]) -> list[StepSummary]:
    """One row per SOP step, in SOP order (results are assumed to share one SOP)."""
    return _counted(results).steps()


def most_flagged(
    results: Sequence[ConversationResult], block: Literal["dissatisfaction", "anomaly"], top: int = 5
) -> list[ConversationResult]:
    """The flagged conversations with the highest score in their ``dissatisfaction`` or ``anomaly`` block."""
    flagged = [r for r in results if (outcome := getattr(r, block)) is not None and outcome.flagged]
    return sorted(flagged, key=lambda r: -getattr(r, block).score)[:top]
