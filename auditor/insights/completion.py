"""How often each step is done, done late or out of order, or skipped, with Wilson intervals.

Rates are over the *decided* verdicts: a step the auditor left ``uncertain`` is neither done nor skipped, and is
counted in ``uncertain`` instead (a ``violated`` forbidden step is decided and not done).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.insights.statistics import wilson_interval
from auditor.result import ConversationResult

PERFORMED = frozenset({"done", "late", "out_of_order"})
MISPLACED = frozenset({"late", "out_of_order"})


@dataclass(frozen=True)
class StepCompletion:
    """One step of one SOP across the results: ``applicable`` excludes not_applicable verdicts."""

    sop_id: str
    step_id: str
    name: str | None
    required: bool
    applicable: int
    performed: int
    misplaced: int
    not_applicable: int
    rate: float
    """Share of ``applicable`` (decided) conversations where the step was performed."""
    rate_low: float
    rate_high: float
    misplaced_rate: float
    misplaced_low: float
    misplaced_high: float
    uncertain: int = 0
    """Conversations where the auditor could not decide the step (not in ``applicable``)."""

    @property
    def key(self) -> tuple[str, str]:
        return self.sop_id, self.step_id


def step_completion(results: Sequence[ConversationResult]) -> list[StepCompletion]:
    """Per (SOP, step), in the order steps first appear: completion rate and the share done late / out of order."""
    counts: dict[tuple[str, str], list[int]] = {}
    info: dict[tuple[str, str], tuple[str | None, bool]] = {}
    for result in results:
        for step in result.steps:
            key = (result.sop_id, step.step_id)
            row = counts.setdefault(key, [0, 0, 0, 0, 0])
            info.setdefault(key, (step.name, step.required))
            if step.status == "not_applicable":
                row[3] += 1
                continue
            if step.status == "uncertain":  # undecided: neither done nor skipped
                row[4] += 1
                continue
            row[0] += 1
            row[1] += step.status in PERFORMED
            row[2] += step.status in MISPLACED
    completions = []
    for (sop_id, step_id), (applicable, performed, misplaced, not_applicable, uncertain) in counts.items():
        low, high = wilson_interval(performed, applicable)
        m_low, m_high = wilson_interval(misplaced, performed)
        completions.append(
            StepCompletion(
                sop_id,
                step_id,
                info[(sop_id, step_id)][0],
                info[(sop_id, step_id)][1],
                applicable,
                performed,
                misplaced,
                not_applicable,
                performed / applicable if applicable else 0.0,
                low,
                high,
                misplaced / performed if performed else 0.0,
                m_low,
                m_high,
                uncertain,
            )
        )
    return completions


def almost_always_skipped(
    completions: Sequence[StepCompletion], max_rate: float = 0.1, min_applicable: int = 10
) -> list[StepCompletion]:
    """Steps done in at most ``max_rate`` of the conversations they applied to: unworkable or unnecessary?"""
    return [c for c in completions if c.applicable >= min_applicable and c.rate <= max_rate]


def often_late(
    completions: Sequence[StepCompletion], min_rate: float = 0.25, min_performed: int = 5
) -> list[StepCompletion]:
    """Steps done late or out of order in at least ``min_rate`` of the conversations that did them."""
    return [c for c in completions if c.performed >= min_performed and c.misplaced_rate >= min_rate]
