"""Write an SOP as readable YAML in the contract's field order, so people can edit what the tools write.

Fields left at their default are left out (the file says only what the owner decided). Comments can be
attached to the SOP or to a step (e.g. "examples seeded from complaint-handling/listen: check them").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import yaml

from auditor.sop_format import Sop, Step

SOP_FIELDS = (
    "id",
    "name",
    "version",
    "languages",
    "description",
    "owner",
    "review_interval_days",
    "last_reviewed",
    "notes",
    "pass_score",
    "translations",
)
STEP_FIELDS = tuple(Step.model_fields)


def sop_to_yaml(sop: Sop, *, header: str | None = None, step_comments: Mapping[str, str] | None = None) -> str:
    """YAML text that loads back to an equal SOP; ``header`` and ``step_comments`` become ``#`` comments."""
    step_comments = step_comments or {}
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    data = sop.model_dump(mode="python")
    defaults = {name: field.get_default(call_default_factory=True) for name, field in Sop.model_fields.items()}
    for name in SOP_FIELDS:
        if name in ("id", "name", "version") or data[name] != defaults[name]:
            lines += _field(name, data[name], indent=0)
    lines.append("steps:")
    step_defaults = {name: field.get_default(call_default_factory=True) for name, field in Step.model_fields.items()}
    for step in data["steps"]:
        comment = step_comments.get(step["id"])
        if comment:
            lines += [f"  # {line}".rstrip() for line in comment.splitlines()]
        first = True
        for name in STEP_FIELDS:
            if name not in ("id", "name") and step[name] == step_defaults[name]:
                continue
            field_lines = _field(name, step[name], indent=4)
            if first:
                field_lines[0] = "  - " + field_lines[0][4:]
                first = False
            lines += field_lines
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    dumped = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000)
    return dumped.removesuffix("\n...\n").strip()


def _field(name: str, value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        if name in ("languages", "before", "keywords"):
            return [f"{pad}{name}: [{', '.join(_scalar(item) for item in value)}]"]
        return [f"{pad}{name}:"] + [f"{pad}  - {_scalar(item)}" for item in value]
    if isinstance(value, dict):
        if not value:
            return [f"{pad}{name}: {{}}"]
        body = yaml.safe_dump(_drop_empty(value), allow_unicode=True, sort_keys=False, width=10_000)
        return [f"{pad}{name}:"] + [f"{pad}  {line}" for line in body.rstrip("\n").splitlines()]
    return [f"{pad}{name}: {_scalar(value)}"]


def _drop_empty(value: Any) -> Any:
    """Translations without the parts left empty (None, [] or '')."""
    if isinstance(value, dict):
        return {key: _drop_empty(item) for key, item in value.items() if item not in (None, [], "", {})}
    return value
