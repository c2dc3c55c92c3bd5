"""Gold step labels for evaluation: a turn's ``steps`` list, or another turn field (STAR's ``action_label``) mapped."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import yaml

from auditor.conversation import Conversation, Role


class LabelMapError(ValueError):
    """The label mapping file could not be used."""


def load_label_map(path: Path) -> dict[str, str | None]:
    """Read a YAML/JSON mapping of label -> step id (null drops the label)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise LabelMapError(f"{path}: cannot read label map: {error}") from error
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise LabelMapError(f"{path}: a label map must be a mapping of label -> step id")
    return {key: (None if value is None else str(value)) for key, value in raw.items()}


def with_gold_from_field(
    conversation: Conversation, field: str, label_map: Mapping[str, str | None] | None = None
) -> Conversation:
    """Copy of the conversation whose agent turns take gold steps from ``turn.extra[field]`` (a label or list)."""
    turns = []
    for turn in conversation.turns:
        value = turn.extra.get(field)
        labels = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        if label_map is not None:
            mapped = [label_map.get(label, label) for label in labels]
            labels = [label for label in mapped if label]
        steps = tuple(labels) if turn.role is Role.AGENT else None
        turns.append(dataclasses.replace(turn, gold_steps=steps))
    return dataclasses.replace(conversation, turns=turns)


def has_gold(conversation: Conversation) -> bool:
    return any(turn.gold_steps is not None for turn in conversation.turns)
