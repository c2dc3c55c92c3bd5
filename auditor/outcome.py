"""How every reader of results reads a conversation's outcome and the step verdicts a person must still decide.

A result carries ``outcome`` (passed / failed / needs_review) since abstention existed; results written before it
carry ``outcome: null`` and are read from ``passed`` (passed / failed), so an old results.jsonl, a stored audit or
a result posted to the API reads the same everywhere. A step ``uncertain`` is undecided: counted apart, never as
done nor as missing. A step ``violated`` is a forbidden step that was said: decided, and not done.
"""

from __future__ import annotations

from typing import get_args

from auditor.result import ConversationResult, Outcome, StepResult

OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
OUTCOME_LABELS: dict[str, str] = {"passed": "passed", "failed": "failed", "needs_review": "needs review"}
WORST_FIRST: dict[str, int] = {"failed": 0, "needs_review": 1, "passed": 2}
"""The report's order of outcomes: failed, then to decide, then passed."""
REVIEW_FIRST: dict[str, int] = {"needs_review": 0, "failed": 1, "passed": 2}
"""The review queue's order: a person must decide the needs_review ones, so they come first."""

UNCERTAIN = "uncertain"
VIOLATED = "violated"
PERFORMED = frozenset({"done", "late", "out_of_order"})
"""Statuses of a step the agent performed (in order and on time or not)."""


def read_outcome(outcome: str | None, passed: bool) -> Outcome:
    """The outcome as stored, or (``None``: written before outcomes existed) the one ``passed`` implies."""
    if outcome in WORST_FIRST:
        return outcome  # type: ignore[return-value]
    return "passed" if passed else "failed"


def outcome_of(result: ConversationResult) -> Outcome:
    """The result's outcome; an old result (``outcome`` null) reads as passed / failed from ``passed``."""
    return read_outcome(result.outcome, result.passed)


def with_outcome(result: ConversationResult) -> ConversationResult:
    """The result with ``outcome`` filled in (from ``passed`` when it was written before outcomes existed)."""
    return result if result.outcome is not None else result.model_copy(update={"outcome": outcome_of(result)})


def is_decided(step: StepResult) -> bool:
    return step.status != UNCERTAIN


def uncertain_steps(result: ConversationResult) -> list[str]:
    """Ids of the steps a person must decide."""
    return [step.step_id for step in result.steps if step.status == UNCERTAIN]


def violated_steps(result: ConversationResult) -> list[str]:
    """Ids of the forbidden steps that were said."""
    return [step.step_id for step in result.steps if step.status == VIOLATED]


def act_note(act: str | None, reason: str | None) -> str | None:
    """What an evidence turn did toward its step, for a reader ("refused: 'can't … by phone'"); None when it
    performed the step (or says nothing)."""
    if act is None or act == "performed":
        return None
    label = act.replace("_", " ")
    if reason and reason.startswith(f"{label}: "):
        return reason  # the act's own reason names it already ("refused: 'can't' in '…'")
    return f"{label}: '{reason}'" if reason else label
