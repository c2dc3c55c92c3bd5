"""Turn step hits into verdicts (done / missing / uncertain / out_of_order / late / not_applicable / violated),
a score and a three-way outcome (passed / failed / needs_review)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.checklist.conditions import ConditionOutcome
from auditor.detection.acts import SOFT
from auditor.detection.hits import StepHit
from auditor.result import Evidence, ExpectedPlace, Outcome, StepResult, StepStatus
from auditor.sop_format import Sop, Step
from auditor.text.artifacts import ConversationArtifacts, TurnArtifacts
from auditor.transcripts.speaker_roles import ROLES_UNCERTAIN_FLAG, roles_uncertain

STATUS_CREDIT = {"done": 1.0, "late": 0.5, "out_of_order": 0.5, "missing": 0.0, "violated": 0.0}
"""Share of a step's weight earned by each decided status (not_applicable and uncertain steps leave the score)."""
CRITICAL_FAILURES = frozenset({"missing", "out_of_order", "violated"})


@dataclass(frozen=True)
class UncertainBand:
    """Step probabilities in ``[low, high)`` are not decided: the step is ``uncertain`` and a person decides.

    A hit that performs the step at ``high`` or above makes it done; a step whose best such hit stays below
    ``low`` is missing. ``low == high`` decides everything (no abstention).
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ValueError(f"uncertain band must satisfy 0 <= low <= high <= 1, got {self.low}, {self.high}")


@dataclass(frozen=True)
class ChecklistOutcome:
    steps: list[StepResult]
    score: float
    passed: bool
    flags: list[str]
    outcome: Outcome = "passed"


def evaluate_checklist(
    sop: Sop,
    hits: Sequence[StepHit],
    candidates: Sequence[StepHit],
    artifacts: ConversationArtifacts,
    conditions: Mapping[str, ConditionOutcome],
    done_threshold: float = 0.5,
    band: UncertainBand | None = None,
) -> ChecklistOutcome:
    """Apply the SOP's required / order / position / condition rules to the detected hits.

    A step is done when a hit that performs it (its act, see ``auditor.detection.acts``) reaches ``band.high``
    (``done_threshold`` when no band is given); only such decisive hits place the step in time (order and position
    rules), while weaker hits are still shown as evidence. Hits whose act refuses, cannot do or skips the step are
    evidence against it.
    """
    band = band or UncertainBand(done_threshold, done_threshold)
    by_step: dict[str, list[StepHit]] = {step.id: [] for step in sop.steps}
    for hit in hits:
        by_step.setdefault(hit.step_id, []).append(hit)
    decisive = {
        step_id: [h for h in found if h.performs and h.confidence >= band.high] for step_id, found in by_step.items()
    }
    forbidden = {step.id for step in sop.steps if step.forbidden}
    first_turn = {
        step_id: min(h.turn_index for h in found)
        for step_id, found in decisive.items()
        if found and step_id not in forbidden
    }
    closest: dict[str, StepHit] = {}
    for hit in [*candidates, *hits]:
        if hit.step_id not in closest or hit.confidence > closest[hit.step_id].confidence:
            closest[hit.step_id] = hit
    results = [
        _forbidden_verdict(step, by_step[step.id], closest.get(step.id), band)
        if step.forbidden
        else _step_verdict(
            step,
            sop,
            decisive[step.id],
            by_step[step.id],
            closest.get(step.id),
            first_turn,
            artifacts,
            conditions,
            band,
        )
        for step in sop.steps
    ]
    score = weighted_score(sop, results)
    critical_failures = [r.step_id for r in results if r.critical and r.status in CRITICAL_FAILURES]
    outcome = conversation_outcome(sop, results)
    flags = [
        f"{r.status}:{r.step_id}"
        for r in results
        if r.status in {"missing", "out_of_order", "late", "uncertain"} and (r.required or r.critical)
        or r.status == "violated"
    ]
    flags += [f"critical:{step_id}" for step_id in critical_failures]
    if roles_uncertain(artifacts.conversation.metadata):  # who is the agent is a guess: a person decides
        flags.append(ROLES_UNCERTAIN_FLAG)
        outcome = "needs_review"
    return ChecklistOutcome(results, score, outcome == "passed", flags, outcome)


def weighted_score(sop: Sop, results: Sequence[StepResult], uncertain_credit: float | None = None) -> float:
    """Weighted share of required, applicable, decided steps done (late / out of order earn half).

    Uncertain steps leave the score unless ``uncertain_credit`` says what they earn (0: as if missing, 1: as if
    done). A required forbidden step earns its weight when never said (done) and nothing when violated.
    """
    weights = {step.id: step.weight for step in sop.steps}
    counted = [
        r
        for r in results
        if r.required and r.status != "not_applicable" and (r.status != "uncertain" or uncertain_credit is not None)
    ]
    total = sum(weights[r.step_id] for r in counted)
    if not total:
        return 1.0

    def credit(result: StepResult) -> float:
        return (uncertain_credit or 0.0) if result.status == "uncertain" else STATUS_CREDIT[result.status]

    return round(sum(weights[r.step_id] * credit(r) for r in counted) / total, 4)


def conversation_outcome(sop: Sop, results: Sequence[StepResult]) -> Outcome:
    """failed when a critical step failed or the call fails even with every uncertain step done; passed when it
    passes even with every uncertain step missing; else needs_review."""
    if any(r.critical and r.status in CRITICAL_FAILURES for r in results):
        return "failed"
    if weighted_score(sop, results, uncertain_credit=1.0) < sop.pass_score:
        return "failed"
    critical_open = any(r.critical and r.status == "uncertain" for r in results)
    if not critical_open and weighted_score(sop, results, uncertain_credit=0.0) >= sop.pass_score:
        return "passed"
    return "needs_review"


def _evidence(hits: Sequence[StepHit]) -> list[Evidence]:
    """Every hit, best first: those that perform the step before those whose act does not."""
    ranked = sorted(hits, key=lambda h: (not h.performs, -h.confidence, h.turn_index))
    return [
        Evidence(
            turn_index=h.turn_index,
            text=h.text,
            score=h.score,
            method=h.method,
            confidence=h.confidence,
            act=h.act,
            act_reason=h.act_reason,
        )
        for h in ranked
    ]


def _verdict(step: Step, status: StepStatus, confidence: float, **details: Any) -> StepResult:
    """A step's result with its SOP fields (id, name, required, critical, forbidden) filled in."""
    return StepResult(
        step_id=step.id,
        name=step.name,
        required=step.required,
        critical=step.critical,
        forbidden=step.forbidden,
        status=status,
        confidence=confidence,
        **details,
    )


def _describe(hit: StepHit) -> str:
    why = f" ({hit.act_reason})" if hit.act_reason else ""
    return f"turn {hit.turn_index} {hit.act.replace('_', ' ')}{why}"


def _forbidden_verdict(
    step: Step, evidence_hits: Sequence[StepHit], closest: StepHit | None, band: UncertainBand
) -> StepResult:
    """A forbidden step is violated when a turn says it (its act performs it), done when no turn does."""
    said = sorted((h for h in evidence_hits if h.performs), key=lambda h: (-h.confidence, h.turn_index))
    if said and said[0].confidence >= band.high:
        decisive = [h for h in said if h.confidence >= band.high]
        reason = f"the agent said what this SOP forbids at turn {said[0].turn_index}"
        return _verdict(step, "violated", said[0].confidence, evidence=_evidence(decisive), reason=reason)
    if said and said[0].confidence >= band.low:
        reason = f"turn {said[0].turn_index} may say what this SOP forbids (confidence {said[0].confidence:.2f})"
        return _verdict(step, "uncertain", round(1.0 - said[0].confidence, 4), evidence=_evidence(said), reason=reason)
    nearest = said[0] if said else closest
    reason = "never said"
    if nearest is not None and nearest.confidence >= band.low:
        reason += f"; {_describe(nearest)}"
    confidence = round(1.0 - (said[0].confidence if said else 0.0), 4)
    return _verdict(step, "done", confidence, reason=reason)


def _step_verdict(
    step: Step,
    sop: Sop,
    found: list[StepHit],
    evidence_hits: Sequence[StepHit],
    closest: StepHit | None,
    first_turn: Mapping[str, int],
    artifacts: ConversationArtifacts,
    conditions: Mapping[str, ConditionOutcome],
    band: UncertainBand,
) -> StepResult:
    """Verdict of one step; ``found`` are its decisive hits, ``evidence_hits`` every hit shown as evidence."""

    if step.when and not found:  # a step the agent did is judged on its evidence: doing it shows it applied
        outcome = conditions[step.when]
        if not outcome.holds:
            reason = f"condition {step.when!r} does not hold: {outcome.reason}"
            return _verdict(step, "not_applicable", outcome.confidence, reason=reason)
    if not found:
        return _undone_verdict(step, sop, evidence_hits, closest, first_turn, artifacts, band)
    evidence = _evidence(evidence_hits)
    best = max(h.confidence for h in found)
    problem: tuple[StepStatus, str] | None = None
    if order_problem := _order_problem(step, first_turn):
        problem = ("out_of_order", order_problem)
    elif position_problem := _position_problem(step, found, artifacts):
        problem = ("late", position_problem)
    if problem is None:
        return _verdict(step, "done", best, evidence=evidence)
    others = {step_id: turn for step_id, turn in first_turn.items() if step_id != step.id}
    expected = _expected_place(step, sop, others, artifacts)
    return _verdict(step, problem[0], best, evidence=evidence, expected=expected, reason=problem[1])


def _undone_verdict(
    step: Step,
    sop: Sop,
    evidence_hits: Sequence[StepHit],
    closest: StepHit | None,
    first_turn: Mapping[str, int],
    artifacts: ConversationArtifacts,
    band: UncertainBand,
) -> StepResult:
    """No turn surely performs the step: uncertain when one may (or only offered / promised it), else missing."""
    expected = _expected_place(step, sop, first_turn, artifacts)
    maybe = sorted(
        (h for h in evidence_hits if h.performs and h.confidence >= band.low),
        key=lambda h: (-h.confidence, h.turn_index),
    )
    against = sorted(
        (h for h in evidence_hits if not h.performs and h.confidence >= band.low),
        key=lambda h: (h.act in SOFT, -h.confidence, h.turn_index),
    )
    if maybe:
        reason = f"turn {maybe[0].turn_index} may perform it (confidence {maybe[0].confidence:.2f})"
        if against:
            reason += f"; {_describe(against[0])}"
        evidence = _evidence(maybe + against)
        return _verdict(step, "uncertain", maybe[0].confidence, evidence=evidence, expected=expected, reason=reason)
    if against and against[0].act in SOFT:
        reason = f"only {_describe(against[0])}: not done in this call"
        evidence = _evidence(against)
        return _verdict(step, "uncertain", against[0].confidence, evidence=evidence, expected=expected, reason=reason)
    if against:
        reason = f"not performed: {_describe(against[0])}"
        evidence = _evidence(against)
        return _verdict(step, "missing", against[0].confidence, evidence=evidence, expected=expected, reason=reason)
    reason = "no turn performs this step" if step.required else "optional step not performed (not scored)"
    if closest is not None:
        reason += f"; closest: turn {closest.turn_index} (confidence {closest.confidence:.2f})"
    confidence = round(1.0 - (closest.confidence if closest else 0.0), 4)
    return _verdict(step, "missing", confidence, expected=expected, reason=reason)


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
        spoken, position = artifacts.turns, len(artifacts.turns) - step.within_last_turns  # in order: look there
        if 0 <= position < len(spoken) and spoken[position].spoken_from_end == step.within_last_turns:
            last_ok: int | None = spoken[position].turn.index
        else:
            last_ok = next((t.turn.index for t in spoken if t.spoken_from_end == step.within_last_turns), None)
        after_turn = max(after_turn or -1, (last_ok or 0) - 1)
    if step.before:
        rules.append("before " + ", ".join(step.before))
    reason = "expected " + ("; ".join(rules) if rules else "where the SOP order puts it")
    return ExpectedPlace(after_turn=after_turn, before_turn=before_turn, reason=reason)


def _turn_at(artifacts: ConversationArtifacts, ordinal: int) -> TurnArtifacts | None:
    """The spoken turn with this 1-based ordinal (spoken turns are in order: found by position, in constant time)."""
    if 0 < ordinal <= len(artifacts.turns) and artifacts.turns[ordinal - 1].spoken_ordinal == ordinal:
        return artifacts.turns[ordinal - 1]
    return next((t for t in artifacts.turns if t.spoken_ordinal == ordinal), None)


def _turn_at_ordinal(artifacts: ConversationArtifacts, ordinal: int) -> int | None:
    turn = _turn_at(artifacts, ordinal)
    if turn is not None:
        return turn.turn.index + 1
    return artifacts.turns[-1].turn.index + 1 if artifacts.turns else None
