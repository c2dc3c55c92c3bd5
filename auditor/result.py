"""The audit result of one conversation (the contract in DESIGN.md, written one object a line to results.jsonl)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

StepStatus = Literal["done", "missing", "uncertain", "out_of_order", "late", "not_applicable", "violated"]
"""``uncertain``: the auditor is not sure and a person must decide (counted apart from the score);
``violated``: a forbidden step (``forbidden: true``) was said."""

Outcome = Literal["passed", "failed", "needs_review"]
"""A conversation's three-way outcome; ``passed`` (the boolean) is true only for ``outcome == "passed"``."""

Act = Literal[
    "performed",
    "asked",
    "offered",
    "promised",
    "refused",
    "cannot",
    "skipped",
    "not_available",
    "negated",
    "mentioned",
    "counter_example",
]
"""What the agent did with respect to a step in one evidence turn (``auditor.detection.acts``); ``counter_example``:
the turn is closer to one of the step's counter-examples than to the step."""


class Evidence(BaseModel):
    turn_index: int
    text: str
    score: float
    method: str
    confidence: float | None = None
    act: Act | None = None
    """The speech act of the turn toward the step; only acts that perform the step earn ``done``."""
    act_reason: str | None = None
    """Why the act was read so (the words that fired), for a coach."""


class ExpectedPlace(BaseModel):
    """Where a missing (or misplaced) step should have happened, in input turn indices."""

    after_turn: int | None = None
    before_turn: int | None = None
    reason: str


class StepResult(BaseModel):
    step_id: str
    name: str | None = None
    status: StepStatus
    confidence: float = Field(ge=0, le=1)
    required: bool = True
    critical: bool = False
    evidence: list[Evidence] = Field(default_factory=list)
    expected: ExpectedPlace | None = None
    reason: str | None = None
    forbidden: bool = False
    """A step the agent must not say (SOP ``forbidden: true``): ``done`` means never said, ``violated`` said."""


class TurnSignal(BaseModel):
    turn_index: int
    score: float
    signals: list[str]
    evidence: dict[str, str] | None = None
    """What fired each signal, by signal: the words a phrase list matched ("close every account"), the learned
    model's reading ("negativity 0.83"), a measure ("45s of silence") (an extension of the contract; None in results
    made before it)."""


class Dissatisfaction(BaseModel):
    score: float = Field(ge=0, le=1)
    flagged: bool
    turns: list[TurnSignal] = Field(default_factory=list)
    trajectory: dict[str, Any] | None = None
    """The turn-score curve and whether it recovered after the agent apologised (an extension of the contract)."""


class Anomaly(BaseModel):
    score: float = Field(ge=0, le=1)
    flagged: bool
    reasons: list[str] = Field(default_factory=list)


class ConversationResult(BaseModel):
    conversation_id: str
    agent_id: str | None
    sop_id: str
    sop_version: int | str
    lang: str | None
    score: float = Field(ge=0, le=1)
    passed: bool
    outcome: Outcome | None = None
    """passed / failed / needs_review; None only in results written before it existed (read ``passed`` then)."""
    steps: list[StepResult]
    dissatisfaction: Dissatisfaction | None = None
    anomaly: Anomaly | None = None
    flags: list[str] = Field(default_factory=list)
    models: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def step(self, step_id: str) -> StepResult:
        return next(step for step in self.steps if step.step_id == step_id)
