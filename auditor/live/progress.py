"""Where a live call stands against its SOP, and the alerts a supervisor should see.

A partial transcript is not a finished one: a step not done yet is ``pending`` rather than missing, and becomes
``overdue`` only once a rule can no longer be met (its first-N-turns or first-N-seconds window has passed, or a
step it must precede has already happened). ``within_last_turns`` is judged when the call is closed. A step a turn
may have done, the auditor not being sure, is ``uncertain`` (not done, not pending: a person decides unless a later
turn settles it); a forbidden step said is ``violated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from auditor.conversation import Role, Turn
from auditor.detection.acts import NOT_DOING
from auditor.result import ConversationResult, StepResult
from auditor.sop_format import Sop, Step
from auditor.text.artifacts import ConversationArtifacts

LiveStatus = Literal["done", "late", "out_of_order", "pending", "overdue", "not_applicable", "uncertain", "violated"]
AlertKind = Literal[
    "critical_step_missed",
    "step_overdue",
    "critical_step_uncertain",
    "forbidden_step_said",
    "escalation_request",
    "dissatisfaction_rising",
]
Severity = Literal["critical", "warning"]

RISING_TURN_SCORE = 0.6
"""A customer turn at least this dissatisfied, and worse than the one before, raises ``dissatisfaction_rising``
even before the conversation as a whole is flagged."""


@dataclass(frozen=True)
class LiveStep:
    step_id: str
    name: str | None
    status: LiveStatus
    required: bool
    critical: bool
    turn_index: int | None
    confidence: float
    reason: str | None = None


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    severity: Severity
    turn_index: int
    message: str
    step_id: str | None = None


def live_steps(
    sop: Sop, result: ConversationResult, artifacts: ConversationArtifacts, latest_start: float | None
) -> list[LiveStep]:
    """Every SOP step's live status from the verdicts on the transcript so far."""
    done_at = {r.step_id: _first_turn(r) for r in result.steps if r.status in {"done", "late", "out_of_order"}}
    spoken = len(artifacts.turns)
    return [
        _live_step(sop.step(r.step_id), r, done_at, spoken, latest_start, artifacts.turns[-1].turn.index)
        if artifacts.turns
        else _pending(sop.step(r.step_id), r, None)
        for r in result.steps
    ]


def _live_step(
    step: Step,
    verdict: StepResult,
    done_at: dict[str, int | None],
    spoken: int,
    latest_start: float | None,
    latest_turn: int,
) -> LiveStep:
    if step.forbidden and verdict.status == "done":  # not said so far: compliance is judged when the call closes
        return LiveStep(
            step.id, step.name, "pending", step.required, step.critical, None, verdict.confidence, "not said so far"
        )
    if verdict.status in {"done", "late", "out_of_order"}:
        status: LiveStatus = verdict.status
        reason = verdict.reason
        if status == "late" and step.within_last_turns and not (step.within_first_turns or step.within_first_seconds):
            status, reason = "done", f"placement (within the last {step.within_last_turns} turns) judged at close"
        return LiveStep(
            step.id, step.name, status, step.required, step.critical, done_at[step.id], verdict.confidence, reason
        )
    if verdict.status == "not_applicable":
        return LiveStep(
            step.id, step.name, "not_applicable", step.required, step.critical, None, verdict.confidence, verdict.reason
        )
    if verdict.status in {"violated", "uncertain"}:
        at = _first_turn(verdict) if verdict.evidence else None
        return LiveStep(
            step.id, step.name, verdict.status, step.required, step.critical, at, verdict.confidence, verdict.reason
        )
    if overdue := _overdue_reason(step, done_at, spoken, latest_start):
        return LiveStep(step.id, step.name, "overdue", step.required, step.critical, latest_turn, 1.0, overdue)
    return _pending(step, verdict, None)


def _pending(step: Step, verdict: StepResult, turn_index: int | None) -> LiveStep:
    return LiveStep(
        step.id, step.name, "pending", step.required, step.critical, turn_index, verdict.confidence, "not done yet"
    )


def _overdue_reason(step: Step, done_at: dict[str, int | None], spoken: int, latest_start: float | None) -> str | None:
    """Why a step not done yet can no longer be done in time, or None while it still can."""
    if step.within_first_turns and spoken >= step.within_first_turns:
        return f"not done within the first {step.within_first_turns} spoken turns"
    if step.within_first_seconds and latest_start is not None and latest_start > step.within_first_seconds:
        return f"not done within the first {step.within_first_seconds:g} s"
    for later in step.before:
        if done_at.get(later) is not None:
            return f"must come before {later!r}, which already happened (turn {done_at[later]})"
    return None


def _first_turn(verdict: StepResult) -> int | None:
    """Where the step happened: its first evidence turn that did it (a refusal before it does not place it)."""
    did = [e.turn_index for e in verdict.evidence if e.act not in NOT_DOING]
    return min(did or [e.turn_index for e in verdict.evidence], default=None)


@dataclass
class AlertTracker:
    """Raises each alert once per session: a critical step missed, a step overdue, a critical step the auditor is not
    sure was done (``critical_step_uncertain``), a forbidden step said (``forbidden_step_said``: critical when the step
    is), an escalation request; and ``dissatisfaction_rising`` when a customer turn makes the call flagged
    dissatisfied or is itself strongly dissatisfied and worse than the one before (re-armed once the customer calms
    down)."""

    raised: set[tuple[str, str]] = field(default_factory=set)
    _previous_customer_score: float | None = None
    _rising_armed: bool = True

    def update(self, sop: Sop, steps: list[LiveStep], result: ConversationResult, turn: Turn) -> list[Alert]:
        alerts = [alert for step in steps if (alert := self._step_alert(step, turn.index))]
        if turn.role is Role.CUSTOMER and result.dissatisfaction is not None:
            block = result.dissatisfaction
            entry = next((t for t in block.turns if t.turn_index == turn.index), None)
            if entry is not None:
                alerts += self._customer_alerts(entry.score, entry.signals, block.flagged, turn.index)
        return alerts

    def _step_alert(self, step: LiveStep, turn_index: int) -> Alert | None:
        if step.status == "violated" and self._first("forbidden_step_said", step.step_id):
            return Alert(
                "forbidden_step_said",
                "critical" if step.critical else "warning",
                turn_index,
                f"{'critical ' if step.critical else ''}forbidden step {step.step_id!r} said: {step.reason}",
                step.step_id,
            )
        if step.status == "uncertain" and step.critical and self._first("critical_step_uncertain", step.step_id):
            return Alert(
                "critical_step_uncertain",
                "warning",
                turn_index,
                f"critical step {step.step_id!r} may not have been done (the auditor is not sure): {step.reason}",
                step.step_id,
            )
        if step.status not in {"overdue", "out_of_order"} or not step.required:
            return None
        kind: AlertKind = "critical_step_missed" if step.critical else "step_overdue"
        if not self._first(kind, step.step_id):
            return None
        what = "out of order" if step.status == "out_of_order" else "overdue"
        return Alert(
            kind,
            "critical" if step.critical else "warning",
            turn_index,
            f"{'critical ' if step.critical else ''}step {step.step_id!r} {what}: {step.reason}",
            step.step_id,
        )

    def _customer_alerts(self, score: float, signals: list[str], flagged: bool, turn_index: int) -> list[Alert]:
        alerts = []
        if "escalation" in signals and self._first("escalation_request", ""):
            alerts.append(
                Alert("escalation_request", "critical", turn_index, "the customer asks for a supervisor or to escalate")
            )
        previous = self._previous_customer_score
        turn_rising = score >= RISING_TURN_SCORE and (previous is None or score > previous)
        if (turn_rising or flagged) and self._rising_armed:
            self._rising_armed = False
            why = "the conversation is now flagged dissatisfied" if flagged else "a strongly dissatisfied turn"
            alerts.append(
                Alert(
                    "dissatisfaction_rising",
                    "warning",
                    turn_index,
                    f"{why}: latest customer turn {score:.2f}"
                    + (f", up from {previous:.2f}" if previous is not None else "")
                    + (f" ({', '.join(signals)})" if signals else ""),
                )
            )
        elif not flagged and score < RISING_TURN_SCORE:
            self._rising_armed = True
        self._previous_customer_score = score
        return alerts

    def _first(self, kind: str, key: str) -> bool:
        if (kind, key) in self.raised:
            return False
        self.raised.add((kind, key))
        return True
