"""What happened in each conversation, read from audit results: the outcomes steps are compared against.

From ``metadata`` (fields the transcripts carried): labelled dissatisfaction, escalation, resolution or
task success, survey scores (CSAT, NPS, CES). From the audit itself: the dissatisfaction model's flag and
customers asking for a manager. Computed by other modules and added here: repeat contact within N days,
handle time. A field is an outcome only when at least ``MIN_VALUES`` results carry it and it varies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from auditor.result import ConversationResult

OutcomeKind = Literal["binary", "numeric"]
MIN_VALUES = 10
MIN_EVENTS = 5
"""A binary outcome needs at least this many conversations on each side to be compared with anything."""


@dataclass(frozen=True)
class Outcome:
    """One outcome, one value per result (None: unknown for that conversation)."""

    name: str
    kind: OutcomeKind
    source: str
    higher_is_better: bool | None
    values: list[float | None]
    quality: bool = True
    """False for outcomes that say nothing about service quality (handle time): not used to flag steps."""

    @property
    def known(self) -> int:
        return sum(value is not None for value in self.values)


@dataclass(frozen=True)
class KnownField:
    """A metadata field recognised as an outcome, with the name it is reported under."""

    name: str
    kind: OutcomeKind
    higher_is_better: bool


KNOWN_FIELDS: dict[str, KnownField] = {
    "dissatisfied": KnownField("dissatisfied", "binary", False),
    "escalated": KnownField("escalated", "binary", False),
    "escalation": KnownField("escalated", "binary", False),
    "resolved": KnownField("resolved", "binary", True),
    "resolution": KnownField("resolved", "binary", True),
    "issue_resolved": KnownField("resolved", "binary", True),
    "task_success": KnownField("task success", "binary", True),
    "success": KnownField("task success", "binary", True),
    "user_task_success_answers": KnownField("task success", "binary", True),
    "fcr": KnownField("first-contact resolution", "binary", True),
    "first_contact_resolution": KnownField("first-contact resolution", "binary", True),
    "churned": KnownField("churned", "binary", False),
    "csat": KnownField("CSAT", "numeric", True),
    "nps": KnownField("NPS score", "numeric", True),
    "satisfaction": KnownField("satisfaction", "numeric", True),
    "overall_satisfaction": KnownField("satisfaction", "numeric", True),
    "survey_score": KnownField("survey score", "numeric", True),
    "ces": KnownField("customer effort (CES)", "numeric", False),
}
"""Metadata field names (case-insensitive) read as outcomes without being asked for."""

_TRUE = {"true", "yes", "y", "1", "是", "对", "已解决", "resolved", "success", "成功"}
_FALSE = {"false", "no", "n", "0", "否", "不", "未解决", "unresolved", "failure", "失败"}


def as_binary(value: Any) -> float | None:
    """1.0 / 0.0 for booleans, yes/no words, 0/1, and lists of booleans (all true = 1); None otherwise."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and value in (0, 1):
        return float(value)
    if isinstance(value, str):
        folded = value.strip().casefold()
        return 1.0 if folded in _TRUE else 0.0 if folded in _FALSE else None
    if isinstance(value, list) and value and all(isinstance(item, bool) for item in value):
        return float(all(value))
    return None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _metadata_value(result: ConversationResult, field: str) -> Any:
    folded = {key.casefold(): value for key, value in result.metadata.items()}
    return folded.get(field.casefold())


def metadata_outcome(
    results: Sequence[ConversationResult],
    field: str,
    *,
    name: str | None = None,
    kind: OutcomeKind | None = None,
    higher_is_better: bool | None = None,
) -> Outcome | None:
    """The metadata field as an outcome (kind guessed from its values when not given); None if never present."""
    raw = [_metadata_value(result, field) for result in results]
    if all(value is None for value in raw):
        return None
    if kind is None:
        binary = [as_binary(value) for value in raw if value is not None]
        kind = "binary" if all(value is not None for value in binary) else "numeric"
    convert: Callable[[Any], float | None] = as_binary if kind == "binary" else as_number
    values = [convert(value) if value is not None else None for value in raw]
    return Outcome(name or field, kind, f"metadata.{field}", higher_is_better, values)


def audit_outcomes(results: Sequence[ConversationResult]) -> list[Outcome]:
    """Outcomes the audit itself measured: the dissatisfaction model's flag, customers asking to escalate."""
    scored = [result.dissatisfaction for result in results]
    if not any(block is not None for block in scored):
        return []
    flagged = [float(block.flagged) if block is not None else None for block in scored]
    escalation = [
        float(any("escalation" in turn.signals for turn in block.turns)) if block is not None else None
        for block in scored
    ]
    return [
        Outcome("flagged dissatisfied", "binary", "auditor dissatisfaction model", False, flagged),
        Outcome("asked to escalate", "binary", "auditor dissatisfaction signals", False, escalation),
    ]


def find_outcomes(results: Sequence[ConversationResult], extra_fields: Sequence[str] = ()) -> list[Outcome]:
    """Every usable outcome: known metadata fields, the audit's own, and ``extra_fields`` the user named."""
    present = {key.casefold() for result in results for key in result.metadata}
    found: list[Outcome] = []
    names: set[str] = set()
    for field, known in KNOWN_FIELDS.items():
        if field not in present or known.name in names:
            continue
        outcome = metadata_outcome(
            results, field, name=known.name, kind=known.kind, higher_is_better=known.higher_is_better
        )
        if outcome is not None:
            found.append(outcome)
            names.add(known.name)
    for field in extra_fields:
        outcome = metadata_outcome(results, field)
        if outcome is not None and outcome.name not in names:
            found.append(outcome)
            names.add(outcome.name)
    found += audit_outcomes(results)
    return [outcome for outcome in found if usable(outcome)]


def usable(outcome: Outcome) -> bool:
    """Enough known values, and they vary (a constant outcome cannot be associated with anything)."""
    known = [value for value in outcome.values if value is not None]
    if outcome.kind == "binary":
        positive = sum(value == 1.0 for value in known)
        return len(known) >= MIN_VALUES and min(positive, len(known) - positive) >= MIN_EVENTS
    return len(known) >= MIN_VALUES and len(set(known)) > 1
