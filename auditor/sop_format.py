"""The SOP format (the contract in DESIGN.md) as pydantic models; the JSON Schema is exported from here."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from auditor.text.normalise import normalise_text

STEP_ID_PATTERN = r"^[a-z][a-z0-9_]*$"

TIMING_FIELDS = ("before", "within_first_turns", "within_first_seconds", "within_last_turns", "when")
"""Rules about when a step is done; a forbidden step is never to be done, so it cannot have them."""

_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)


def phrase_key(text: str) -> str:
    """A phrase as matching sees it, less case, spaces and punctuation: two phrasings with one key are the same.

    NFKC, traditional -> simplified Chinese and regional variants (``normalise_text``), then casefolded.
    """
    return _PUNCTUATION.sub("", normalise_text(text).casefold())


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

    # Field order matters to the validators: examples, keywords and forbidden come before the fields checked
    # against them (counter_examples and the TIMING_FIELDS), so they are in ``info.data`` when those are checked.

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={  # editors flag timing rules on forbidden steps too, as loading does
            "if": {"properties": {"forbidden": {"const": True}}, "required": ["forbidden"]},
            "then": {
                "properties": {
                    "before": {"maxItems": 0},
                    **{name: {"type": "null"} for name in TIMING_FIELDS if name != "before"},
                }
            },
        },
    )

    id: str = Field(pattern=STEP_ID_PATTERN, description="Unique within the SOP; lower_snake_case.")
    name: str = Field(min_length=1, description="Short human name of the step.")
    description: str = Field(
        default="", description="What the agent does, in a sentence; used for zero-shot detection."
    )
    examples: list[str] = Field(default_factory=list, description="Example phrasings, any language.")
    keywords: list[str] = Field(default_factory=list, description="Exact phrases (phrase matcher).")
    counter_examples: list[str] = Field(
        default_factory=list,
        description=(
            "Phrasings that sound like the step but are not it (a refusal, a mere mention); any language. A turn "
            "closer to one of them than to the step's examples does not count for the step."
        ),
    )
    forbidden: bool = Field(
        default=False,
        description=(
            "A thing the agent must NOT say (its examples are examples of the forbidden thing): detecting it is a "
            "violation, never saying it is done. required: a violation lowers the score; critical: it fails the "
            "call. A forbidden step cannot have before, within_first_turns, within_first_seconds, "
            "within_last_turns or when."
        ),
    )
    speaker: Literal["agent", "customer"] = "agent"
    required: bool = True
    critical: bool = Field(default=False, description="Missing it fails the whole conversation.")
    weight: float = Field(default=1.0, gt=0, description="Weight of the step in the score.")
    before: list[str] = Field(default_factory=list, description="Steps that must come after this one.")
    within_first_turns: int | None = Field(default=None, ge=1, description="Counted in spoken turns.")
    within_first_seconds: float | None = Field(default=None, gt=0)
    within_last_turns: int | None = Field(default=None, ge=1, description="Counted in spoken turns.")
    when: str | None = Field(default=None, description="Step applies only when this condition holds.")
    """A name in ``auditor.checklist.conditions`` (checked when the SOP is loaded, ``auditor.sop.loading``)."""
    detector: str | None = Field(
        default=None, description="Name of a built-in detector to use in addition to the text matchers."
    )
    """A name in ``auditor.detection.registry.DETECTORS`` (checked when the SOP is loaded)."""
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

    @field_validator("counter_examples")
    @classmethod
    def _counter_examples_are_not_examples(cls, phrases: list[str], info: ValidationInfo) -> list[str]:
        """A counter-example equal to an example or keyword would cancel it: the step could never be found."""
        own: dict[str, tuple[str, str]] = {}
        for kind in ("examples", "keywords"):  # validated before counter_examples (field order); absent if invalid
            for text in info.data.get(kind) or []:
                own.setdefault(phrase_key(text), (kind[:-1], text))
        clashes = [
            f"{phrase!r} is also the step's {own[phrase_key(phrase)][0]} {own[phrase_key(phrase)][1]!r}"
            for phrase in phrases
            if phrase_key(phrase) in own
        ]
        if clashes:
            raise PydanticCustomError(
                "counter_example_is_example",
                "counter-example {clashes}: a phrasing cannot both be the step and not be it; remove one",
                {"clashes": "; ".join(clashes)},
            )
        return phrases

    @field_validator(*TIMING_FIELDS)
    @classmethod
    def _no_timing_on_forbidden_steps(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("forbidden") and value not in (None, []):
            raise PydanticCustomError(
                "forbidden_step_rule",
                "a forbidden step cannot have {field}: order, position and condition rules say when a step is "
                "done, and a forbidden step must never be done; remove {field} (or forbidden: true)",
                {"field": info.field_name},
            )
        return value


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
