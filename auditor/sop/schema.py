"""The SOP format (the contract in DESIGN.md) as pydantic models; the JSON Schema is exported from here."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Condition = Literal["customer_complaint", "customer_identity_needed"]
"""Named conditions a step may depend on (``when``)."""

STEP_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


def _notes_as_list(value: Any) -> Any:
    """Notes may be written as one string; they are kept as a list of separate notes."""
    return [value] if isinstance(value, str) else value


class StepText(BaseModel):
    """A step's human text in another language, for training documents (detection reads ``examples``)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str | None = None
    notes: list[str] = Field(default_factory=list)

    _notes = field_validator("notes", mode="before")(_notes_as_list)


class SopText(BaseModel):
    """An SOP's human text in another language, for training documents."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str | None = None
    notes: list[str] = Field(default_factory=list)

    _notes = field_validator("notes", mode="before")(_notes_as_list)


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
    counter_examples: list[str] = Field(
        default_factory=list,
        description="Phrasings that sound like the step but are not it (a refusal, a mere mention); any language.",
    )
    forbidden: bool = Field(
        default=False,
        description="A thing the agent must NOT say: detecting it is a violation (critical: it fails the call).",
    )
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
    notes: list[str] = Field(
        default_factory=list, description="What agents must keep in mind for this step (注意事项); shown in training."
    )
    translations: dict[str, StepText] = Field(
        default_factory=dict, description="Name, description and notes in other languages, by language code."
    )

    _notes = field_validator("notes", mode="before")(_notes_as_list)

    @field_validator("examples", "keywords", "counter_examples")
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
    owner: str | None = Field(default=None, description="Who answers for this SOP (责任人): a person or a team.")
    notes: list[str] = Field(default_factory=list, description="What agents must keep in mind (注意事项).")
    review_interval_days: int | None = Field(
        default=None, ge=1, description="How often the owner reviews the SOP; overdue SOPs are warned about."
    )
    last_reviewed: date | None = Field(default=None, description="Date of the last review (YYYY-MM-DD).")
    translations: dict[str, SopText] = Field(
        default_factory=dict, description="Name, description and notes in other languages, by language code."
    )
    pass_score: float = Field(default=0.8, ge=0, le=1, description="Score at or above which a call passes.")
    steps: list[Step] = Field(min_length=1)

    _notes = field_validator("notes", mode="before")(_notes_as_list)

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)
