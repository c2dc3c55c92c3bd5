"""How much a conversation needs a coach's eyes: critical misses first, then unhappy customers and unusual calls.

The risk is a sum of parts, each with the reason shown in the queue. A critical miss (1.0 each, at most two)
outranks any mix of the others; dissatisfaction (up to 1.0) outranks anomaly (up to 0.7); failed audits, audits
that need review, other missed or violated steps, uncertain steps and low-confidence verdicts add a little, so among
equals the doubtful ones come first. (The queue puts ``needs_review`` audits before all others whatever their risk:
a person must decide them; their uncertain steps are the first reason shown.)
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.outcome import outcome_of
from auditor.result import ConversationResult

CRITICAL_MISS = 1.0
MAX_CRITICAL = 2
FAILED = 0.3
NEEDS_REVIEW = 0.3
UNDECIDED_STEP = 0.1
MAX_UNDECIDED = 0.3
DISSATISFACTION = 0.8
DISSATISFIED_FLAG = 0.2
ANOMALY = 0.5
ANOMALY_FLAG = 0.2
MISSED_STEP = 0.1
MAX_MISSED = 0.5
UNCERTAIN_STEP = 0.05
MAX_UNCERTAIN = 0.2
UNCERTAIN_BELOW = 0.6
"""A step verdict decided with lower confidence is worth a coach's check (the report marks them too)."""

MISSED_STATUSES = ("missing", "out_of_order", "late", "violated")
FLAGGED_STATUSES = (*MISSED_STATUSES, "uncertain")
"""A step filter's statuses: the auditor flagged the step or could not decide it."""


@dataclass(frozen=True)
class Risk:
    score: float
    reasons: tuple[str, ...]
    critical_misses: tuple[str, ...]


def assess(result: ConversationResult) -> Risk:
    """The risk score of one audit result and the reasons behind it, most serious first."""
    critical = tuple(f.split(":", 1)[1] for f in result.flags if f.startswith("critical:"))
    score = CRITICAL_MISS * min(len(critical), MAX_CRITICAL)
    statuses = {step.step_id: step.status for step in result.steps}
    reasons = [
        f"critical forbidden step said: {step_id}"
        if statuses.get(step_id) == "violated"
        else f"critical step out of order: {step_id}"
        if statuses.get(step_id) == "out_of_order"
        else f"critical step missed: {step_id}"
        for step_id in critical
    ]
    outcome = outcome_of(result)
    undecided = [s.step_id for s in result.steps if s.status == "uncertain"]
    if outcome == "needs_review":
        score += NEEDS_REVIEW
    if undecided:
        score += min(UNDECIDED_STEP * len(undecided), MAX_UNDECIDED)
        reasons.insert(0, "to decide: " + ", ".join(undecided))
    unhappy = result.dissatisfaction
    if unhappy is not None:
        score += DISSATISFACTION * unhappy.score + (DISSATISFIED_FLAG if unhappy.flagged else 0.0)
        if unhappy.flagged:
            reasons.append(f"dissatisfied customer ({unhappy.score:.2f})")
    unusual = result.anomaly
    if unusual is not None:
        score += ANOMALY * unusual.score + (ANOMALY_FLAG if unusual.flagged else 0.0)
        if unusual.flagged:
            why = "; ".join(unusual.reasons[:2])
            reasons.append(f"unusual conversation ({unusual.score:.2f}{': ' + why if why else ''})")
    if outcome == "failed":
        score += FAILED
        if not critical:
            reasons.append(f"failed (score {result.score:.2f})")
    missed = [s.step_id for s in result.steps if s.status in MISSED_STATUSES and s.required and not s.critical]
    if missed:
        score += min(MISSED_STEP * len(missed), MAX_MISSED)
        reasons.append("steps flagged: " + ", ".join(missed))
    doubtful = [
        s for s in result.steps if s.status not in {"not_applicable", "uncertain"} and s.confidence < UNCERTAIN_BELOW
    ]
    if doubtful:
        score += min(UNCERTAIN_STEP * len(doubtful), MAX_UNCERTAIN)
        reasons.append(f"{len(doubtful)} low-confidence verdict{'s' if len(doubtful) != 1 else ''}")
    return Risk(round(score, 4), tuple(reasons), critical)
