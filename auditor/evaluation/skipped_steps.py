"""Skipped-step detection: remove the turns that performed a step, re-audit, and see whether it is reported missing.

A step re-audited ``uncertain`` is an abstention: counted in ``uncertain_removed`` / ``uncertain_intact`` and left
out of the rates (neither caught nor wrongly called missing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor.auditor import Auditor
from auditor.conversation import Conversation
from auditor.evaluation.step_metrics import gold_turns

MISSING = "missing"
UNCERTAIN = "uncertain"


@dataclass
class SkipCounts:
    """Per step: how often its removal was caught, and how often an intact step was wrongly called missing."""

    removed: int = 0
    caught: int = 0
    intact: int = 0
    false_missing: int = 0
    uncertain_removed: int = 0
    """Removals re-audited uncertain (in ``removed``, not in the recall)."""
    uncertain_intact: int = 0
    """Intact steps re-audited uncertain (in ``intact``, not in the false-missing rate)."""

    @property
    def recall(self) -> float:
        """Share of the decided re-audits of a removed step that call it missing."""
        decided = self.removed - self.uncertain_removed
        return self.caught / decided if decided else 1.0

    @property
    def false_missing_rate(self) -> float:
        """Share of the decided re-audits of an intact step that call it missing."""
        decided = self.intact - self.uncertain_intact
        return self.false_missing / decided if decided else 0.0


@dataclass
class SkipMetrics:
    per_step: dict[str, SkipCounts] = field(default_factory=dict)

    def overall(self) -> SkipCounts:
        total = SkipCounts()
        for counts in self.per_step.values():
            total.removed += counts.removed
            total.caught += counts.caught
            total.intact += counts.intact
            total.false_missing += counts.false_missing
            total.uncertain_removed += counts.uncertain_removed
            total.uncertain_intact += counts.uncertain_intact
        return total


def without_turns(conversation: Conversation, removed: set[int], suffix: str) -> Conversation:
    """The conversation with some turns removed and the rest re-indexed, as if they had never been said."""
    kept = [turn for turn in conversation.turns if turn.index not in removed]
    turns = [dataclasses.replace(turn, index=position) for position, turn in enumerate(kept)]
    return dataclasses.replace(conversation, id=f"{conversation.id}{suffix}", turns=turns)


def measure_skipped_steps(
    auditor: Auditor, conversations: Sequence[Conversation], *, batch_size: int = 64
) -> SkipMetrics:
    """For every conversation and every step it performs, drop that step's turns and re-audit."""
    metrics = SkipMetrics()
    step_ids = {step.id for step in auditor.sop.steps}
    variants: list[tuple[Conversation, str, set[str]]] = []
    for conversation in conversations:
        gold = {step_id: turns for step_id, turns in gold_turns(conversation).items() if step_id in step_ids}
        for step_id, turns in gold.items():
            reduced = without_turns(conversation, turns, f"#without-{step_id}")
            still_done = {other for other, other_turns in gold.items() if other != step_id and other_turns - turns}
            variants.append((reduced, step_id, still_done))
    for start in range(0, len(variants), batch_size):
        batch = variants[start : start + batch_size]
        results = auditor.audit_many([reduced for reduced, _, _ in batch])
        for (_, step_id, still_done), result in zip(batch, results, strict=True):
            statuses = {step.step_id: step.status for step in result.steps}
            counts = metrics.per_step.setdefault(step_id, SkipCounts())
            counts.removed += 1
            counts.caught += statuses.get(step_id) == MISSING
            counts.uncertain_removed += statuses.get(step_id) == UNCERTAIN
            for other in still_done:
                other_counts = metrics.per_step.setdefault(other, SkipCounts())
                other_counts.intact += 1
                other_counts.false_missing += statuses.get(other) == MISSING
                other_counts.uncertain_intact += statuses.get(other) == UNCERTAIN
    return metrics
