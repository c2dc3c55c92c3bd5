"""The suggestions file an owner reviews (``accept: true`` per suggestion) and applying it as a new SOP version.

Suggestions are never applied silently: `auditor insights` writes ``suggestions.yaml`` with every
``accept: false``; the owner flips the ones they want; `auditor sops accept` adds those examples to the SOP
and writes it as a new version (version + 1, reviewed today), leaving the old file as it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from auditor.insights.suggestions import Suggestion, comparable
from auditor.sop_format import Sop

HEADER = """\
# Suggested example phrasings, mined by `auditor insights` on {date} from {conversations} audited conversations.
# Each one is a wording that high-scoring agents used for the step and that the SOP does not list yet
# (personal data redacted). Review them: set `accept: true` on the ones you want, then run
#   auditor sops accept {path} --sop YOUR-SOP.yaml
# which writes a new SOP version. Nothing changes until you do.
"""


class SuggestionFileError(ValueError):
    """The suggestions file cannot be read; the message names the file and the entry."""


def suggestions_yaml(suggestions: Sequence[Suggestion], *, conversations: int, path: str) -> str:
    entries = [
        {
            "sop": s.sop_id,
            "sop_version": s.sop_version,
            "step": s.step_id,
            "example": s.text,
            "accept": False,
            "conversations": s.conversations,
            "agents": s.agents,
            "nearest_existing_example": s.nearest_example,
            "similarity_to_nearest": s.nearest_similarity,
            "variants": list(s.variants),
        }
        for s in suggestions
    ]
    body = yaml.safe_dump({"suggestions": entries}, allow_unicode=True, sort_keys=False, width=120)
    return HEADER.format(date=date.today().isoformat(), conversations=conversations, path=path) + body


@dataclass(frozen=True)
class AcceptedExample:
    sop_id: str
    sop_version: str
    step_id: str
    example: str


def read_accepted(path: Path) -> list[AcceptedExample]:
    """The suggestions marked ``accept: true``; a malformed file or entry is an error naming it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SuggestionFileError(f"{path}: cannot read: {error}") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise SuggestionFileError(f"{path}{where}: not valid YAML") from error
    entries = raw.get("suggestions") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise SuggestionFileError(f"{path}: expected a 'suggestions:' list (as written by `auditor insights`)")
    accepted = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise SuggestionFileError(f"{path}: suggestion #{number} is not a mapping")
        if entry.get("accept") is not True:
            continue
        missing = [key for key in ("sop", "step", "example") if not isinstance(entry.get(key), str) or not entry[key]]
        if missing:
            raise SuggestionFileError(f"{path}: suggestion #{number} lacks {', '.join(missing)}")
        accepted.append(
            AcceptedExample(entry["sop"], str(entry.get("sop_version", "")), entry["step"], entry["example"].strip())
        )
    return accepted


def next_version(version: int | str) -> int | str:
    """1 -> 2; '1.4' -> '1.5'; 'v3' -> 'v4'; anything else gets '.1' appended."""
    if isinstance(version, int):
        return version + 1
    match = re.search(r"(\d+)$", version)
    if match:
        return version[: match.start()] + str(int(match.group(1)) + 1)
    return f"{version}.1"


@dataclass(frozen=True)
class Revision:
    sop: Sop
    added: list[AcceptedExample]
    already_there: list[AcceptedExample]
    unknown_steps: list[AcceptedExample]


def apply_accepted(sop: Sop, accepted: Sequence[AcceptedExample], today: date | None = None) -> Revision:
    """A new version of ``sop`` with the accepted examples of its steps added (duplicates skipped)."""
    mine = [a for a in accepted if a.sop_id == sop.id]
    steps = {step.id: step for step in sop.steps}
    added: list[AcceptedExample] = []
    already: list[AcceptedExample] = []
    unknown: list[AcceptedExample] = []
    new_examples: dict[str, list[str]] = {step.id: list(step.examples) for step in sop.steps}
    for item in mine:
        if item.step_id not in steps:
            unknown.append(item)
        elif comparable(item.example) in {comparable(e) for e in new_examples[item.step_id]}:
            already.append(item)
        else:
            new_examples[item.step_id].append(item.example)
            added.append(item)
    updated: dict[str, Any] = {
        "steps": [step.model_copy(update={"examples": new_examples[step.id]}) for step in sop.steps],
        "version": next_version(sop.version),
        "last_reviewed": today or date.today(),
    }
    return Revision(sop.model_copy(update=updated), added, already, unknown)
