"""Precision, recall and F1 per step, per turn (is this turn evidence of S?) and per conversation (did S happen?).

A step predicted happened when its status says so (done, late, out of order; violated for a forbidden step said), at
its evidence turns; evidence of a step not done (a refusal, an offer) predicts nothing. A step the auditor left
``uncertain`` is an abstention: left out of the counts (neither predicted nor missed) and counted in ``uncertain``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from auditor.conversation import Conversation
from auditor.result import ConversationResult

DETECTED_STATUSES = frozenset({"done", "out_of_order", "late", "violated"})
UNCERTAIN = "uncertain"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, predicted: set, gold: set) -> None:
        self.tp += len(predicted & gold)
        self.fp += len(predicted - gold)
        self.fn += len(gold - predicted)

    def __iadd__(self, other: Counts) -> Counts:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        return self


@dataclass
class StepMetrics:
    """Counts per step at turn and conversation level, plus verdict-status agreement where gold statuses exist."""

    turn: dict[str, Counts] = field(default_factory=dict)
    conversation: dict[str, Counts] = field(default_factory=dict)
    status_total: int = 0
    status_correct: int = 0
    status_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    uncertain: Counter[str] = field(default_factory=Counter)
    """Step id -> conversations where the auditor left it uncertain (not in the counts above)."""

    def overall(self, level: str, keep: Callable[[str], bool] | None = None) -> Counts:
        """Counts summed over steps (micro), over the steps ``keep`` accepts when given."""
        total = Counts()
        for step_id, counts in (self.turn if level == "turn" else self.conversation).items():
            if keep is None or keep(step_id):
                total += counts
        return total

    @property
    def status_accuracy(self) -> float:
        return self.status_correct / self.status_total if self.status_total else 0.0

    @property
    def uncertain_total(self) -> int:
        return sum(self.uncertain.values())


def gold_turns(conversation: Conversation) -> dict[str, set[int]]:
    """Step id -> turn indices the gold labels say perform it."""
    found: dict[str, set[int]] = {}
    for turn in conversation.turns:
        for step_id in turn.gold_steps or ():
            found.setdefault(step_id, set()).add(turn.index)
    return found


def score_results(
    pairs: Iterable[tuple[Conversation, ConversationResult]], step_ids: Sequence[str] | None = None
) -> StepMetrics:
    """Compare results with the gold ``steps`` of each turn (and ``gold_statuses`` metadata where present)."""
    metrics = StepMetrics()
    for conversation, result in pairs:
        gold = gold_turns(conversation)
        ids = step_ids or [step.step_id for step in result.steps]
        gold_statuses = conversation.metadata.get("gold_statuses") or {}
        for step in result.steps:
            if step.step_id not in ids:
                continue
            if step.status == UNCERTAIN:  # an abstention: a person decides, so it is neither a hit nor a miss
                metrics.uncertain[step.step_id] += 1
                continue
            predicted_turns = {e.turn_index for e in step.evidence} if step.status in DETECTED_STATUSES else set()
            gold_set = gold.get(step.step_id, set())
            metrics.turn.setdefault(step.step_id, Counts()).add(predicted_turns, gold_set)
            happened = {0} if predicted_turns else set()
            metrics.conversation.setdefault(step.step_id, Counts()).add(happened, {0} if gold_set else set())
            if step.step_id in gold_statuses:
                expected = gold_statuses[step.step_id]
                metrics.status_total += 1
                metrics.status_correct += expected == step.status
                metrics.status_confusion[(expected, step.status)] += 1
    return metrics
