"""The SOP format (the contract in DESIGN.md) as pydantic models; the JSON Schema is exported from here."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Condition = Literal["customer_complaint", "customer_identity_needed"]
"""Named conditions a step may depend on (``when``)."""

STEP_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class Step(BaseModel):
    """One checklist step: what the agent must do, how to recognise it, and its order / position rules."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=STEP_ID_PATTERN, description="Unique within the SOP; lower_snake_case.")
    name: str = Field(min_length=1, description="Short human name of the step.")
    description: str = Field(
        default="", description="What the agent does, in a sentence; used for zero-shot detection."
    )
    examples: list[str] = Field(default_factory=list, description="Example phrasings, any language.")
    keywords: list[str] = Field(default_factory=list, description="Exact phrases (phrase matcher).")
    speaker: Literal["agent", "customer"] = "agent"
    required: bool = True
    critical: bool = Field(default=False, description="Missing it fails the whole conversation.")
    weight: float = Field(default=1.0, gt=0, description="Weight of the step in the score.")
    before: list[str] = Field(default_factory=list, description="Steps that must come after this one.")
    within_first_turns: int | None = Field(default=None, ge=1, description="Counted in spoken turns.")
    within_first_seconds: float | None = Field(default=None, gt=0)
    within_last_turns: int | None = Field(default=None, ge=1, description="Counted in spoken turns.")
    when: Condition | None = Field(default=None, description="Step applies only when this condition holds.")
    detector: str | None = Field(
        default=None, description="Name of a built-in detector to use in addition to the text matchers."
    )

    @field_validator("examples", "keywords")
    @classmethod
    def _no_blank_phrases(cls, phrases: list[str]) -> list[str]:
        if any(not phrase.strip() for phrase in phrases):
            raise ValueError("must not contain empty phrases")
        return phrases


class Sop(BaseModel):
    """A standard operating procedure: an ordered checklist of steps."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Used on the command line as --sop ID.")
    name: str = Field(min_length=1)
    version: int | str = 1
    languages: list[str] = Field(default_factory=lambda: ["en"])
    description: str = ""
    owner: str | None = None
    pass_score: float = Field(default=0.8, ge=0, le=1, description="Score at or above which a call passes.")
    steps: list[Step] = Field(min_length=1)

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)
