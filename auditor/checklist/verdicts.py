"""Turn step hits into verdicts: done / missing / out_of_order / late / not_applicable, a score and pass/fail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.checklist.conditions import ConditionOutcome
from auditor.detection.hits import StepHit
from auditor.result import Evidence, ExpectedPlace, StepResult, StepStatus
from auditor.sop.schema import Sop, Step
from auditor.text.artifacts import ConversationArtifacts

STATUS_CREDIT = {"done": 1.0, "late": 0.5, "out_of_order": 0.5, "missing": 0.0}
"""Share of a step's weight earned by each status (not_applicable steps leave the score)."""


@dataclass(frozen=True)
class ChecklistOutcome:
    steps: list[StepResult]
    score: float
    passed: bool
    flags: list[str]


def evaluate_checklist(
    sop: Sop,
    hits: Sequence[StepHit],
    candidates: Sequence[StepHit],
    artifacts: ConversationArtifacts,
    conditions: Mapping[str, ConditionOutcome],
    done_threshold: float = 0.5,
) -> ChecklistOutcome:
    """Apply the SOP's required / order / position / condition rules to the detected hits.

    A step is done when some hit reaches ``done_threshold``; only such decisive hits place the step in time
    (order and position rules), while weaker hits are still shown as evidence of a done step.
    """
    by_step: dict[str, list[StepHit]] = {step.id: [] for step in sop.steps}
    for hit in hits:
        by_step.setdefault(hit.step_id, []).append(hit)
    decisive = {step_id: [h for h in found if h.confidence >= done_threshold] for step_id, found in by_step.items()}
    first_turn = {step_id: min(h.turn_index for h in found) for step_id, found in decisive.items() if found}
    closest: dict[str, StepHit] = {}
    for hit in [*candidates, *hits]:
        if hit.step_id not in closest or hit.confidence > closest[hit.step_id].confidence:
            closest[hit.step_id] = hit
    results = [
        _step_verdict(
            step, sop, decisive[step.id], by_step[step.id], closest.get(step.id), first_turn, artifacts, conditions
        )
        for step in sop.steps
    ]
    score = weighted_score(sop, results)
    critical_failures = [r.step_id for r in results if r.critical and r.status in {"missing", "out_of_order"}]
    passed = score >= sop.pass_score and not critical_failures
    flags = [
        f"{r.status}:{r.step_id}" for r in results if r.status in {"missing", "out_of_order", "late"} and r.required
    ]
    flags += [f"critical:{step_id}" for step_id in critical_failures]
    return ChecklistOutcome(results, score, passed, flags)


def weighted_score(sop: Sop, results: Sequence[StepResult]) -> float:
    """Weighted share of required, applicable steps done (late / out of order earn half)."""
    weights = {step.id: step.weight for step in sop.steps}
    counted = [r for r in results if r.required and r.status != "not_applicable"]
    total = sum(weights[r.step_id] for r in counted)
    if not total:
        return 1.0
    return round(sum(weights[r.step_id] * STATUS_CREDIT[r.status] for r in counted) / total, 4)


def _step_verdict(
    step: Step,
    sop: Sop,
    found: list[StepHit],
    evidence_hits: Sequence[StepHit],
    closest: StepHit | None,
    first_turn: Mapping[str, int],
    artifacts: ConversationArtifacts,
    conditions: Mapping[str, ConditionOutcome],
) -> StepResult:
    """Verdict of one step; ``found`` are its decisive hits, ``evidence_hits`` every hit shown as evidence."""

    def verdict(status: StepStatus, confidence: float, **details: Any) -> StepResult:
        return StepResult(
            step_id=step.id,
            name=step.name,
            required=step.required,
            critical=step.critical,
            status=status,
            confidence=confidence,
            **details,
        )

    if step.when and not found:  # a step the agent did is judged on its evidence: doing it shows it applied
        outcome = conditions[step.when]
        if not outcome.holds:
            reason = f"condition {step.when!r} does not hold: {outcome.reason}"
            return verdict("not_applicable", outcome.confidence, reason=reason)
    if not found:
        reason = "no turn performs this step" if step.required else "optional step not performed (not scored)"
        if closest is not None:
            reason += f"; closest: turn {closest.turn_index} (confidence {closest.confidence:.2f})"
        confidence = round(1.0 - (closest.confidence if closest else 0.0), 4)
        return verdict("missing", confidence, expected=_expected_place(step, sop, first_turn, artifacts), reason=reason)
    ranked = sorted(evidence_hits, key=lambda h: (-h.confidence, h.turn_index))
    evidence = [
        Evidence(turn_index=h.turn_index, text=h.text, score=h.score, method=h.method, confidence=h.confidence)
        for h in ranked
    ]
    problem: tuple[StepStatus, str] | None = None
    if order_problem := _order_problem(step, first_turn):
        problem = ("out_of_order", order_problem)
    elif position_problem := _position_problem(step, found, artifacts):
        problem = ("late", position_problem)
    if problem is None:
        return verdict("done", ranked[0].confidence, evidence=evidence)
    others = {step_id: turn for step_id, turn in first_turn.items() if step_id != step.id}
    expected = _expected_place(step, sop, others, artifacts)
    return verdict(problem[0], ranked[0].confidence, evidence=evidence, expected=expected, reason=problem[1])


def _order_problem(step: Step, first_turn: Mapping[str, int]) -> str | None:
    mine = first_turn[step.id]
    for later in step.before:
        if later in first_turn and first_turn[later] < mine:
            return f"must come before {later!r}, which happened first (turn {first_turn[later]}; this step turn {mine})"
    return None


def _position_problem(step: Step, found: Sequence[StepHit], artifacts: ConversationArtifacts) -> str | None:
    first = artifacts.turn(min(h.turn_index for h in found))
    last = artifacts.turn(max(h.turn_index for h in found))
    if step.within_first_turns and first.spoken_ordinal > step.within_first_turns:
        return f"first done at spoken turn {first.spoken_ordinal}, expected within the first {step.within_first_turns}"
    start = first.turn.start
    if step.within_first_seconds and start is not None and start > step.within_first_seconds:
        return f"first done at {start:.1f} s, expected within the first {step.within_first_seconds:g} s"
    if step.within_last_turns and last.spoken_from_end > step.within_last_turns:
        return (
            f"last done {last.spoken_from_end} spoken turns from the end, "
            f"expected within the last {step.within_last_turns}"
        )
    return None


def _expected_place(
    step: Step, sop: Sop, first_turn: Mapping[str, int], artifacts: ConversationArtifacts
) -> ExpectedPlace:
    """Between the nearest done step listed before it and the nearest done step listed after it."""
    order = [s.id for s in sop.steps]
    position = order.index(step.id)
    must_follow = {s.id for s in sop.steps if step.id in s.before}
    earlier = [first_turn[s] for s in order[:position] if s in first_turn] + [
        first_turn[s] for s in must_follow if s in first_turn
    ]
    later = [first_turn[s] for s in order[position + 1 :] if s in first_turn] + [
        first_turn[s] for s in step.before if s in first_turn
    ]
    after_turn = max(earlier) if earlier else None
    before_turn = min(later) if later else None
    if after_turn is not None and before_turn is not None and before_turn <= after_turn:
        before_turn = None
    rules = []
    if step.within_first_turns:
        limit = _turn_at_ordinal(artifacts, step.within_first_turns)
        before_turn = limit if before_turn is None or limit is None else min(before_turn, limit)
        rules.append(f"within the first {step.within_first_turns} spoken turns")
    if step.within_last_turns:
        rules.append(f"within the last {step.within_last_turns} spoken turns")
        last_ok = next((t.turn.index for t in artifacts.turns if t.spoken_from_end == step.within_last_turns), None)
        after_turn = max(after_turn or -1, (last_ok or 0) - 1)
    if step.before:
        rules.append("before " + ", ".join(step.before))
    reason = "expected " + ("; ".join(rules) if rules else "where the SOP order puts it")
    return ExpectedPlace(after_turn=after_turn, before_turn=before_turn, reason=reason)


def _turn_at_ordinal(artifacts: ConversationArtifacts, ordinal: int) -> int | None:
    turn = next((t for t in artifacts.turns if t.spoken_ordinal == ordinal), None)
    if turn is not None:
        return turn.turn.index + 1
    return artifacts.turns[-1].turn.index + 1 if artifacts.turns else None
