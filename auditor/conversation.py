"""The in-memory conversation every loader produces and every detector reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Who produced a turn. ``event`` is anything not spoken (an API action, a system note)."""

    AGENT = "agent"
    CUSTOMER = "customer"
    EVENT = "event"


@dataclass(frozen=True)
class Turn:
    """One input turn; ``index`` is its 0-based position in the input ``turns`` list, events included."""

    index: int
    speaker: str
    role: Role
    text: str
    start: float | None = None
    end: float | None = None
    gold_steps: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def spoken(self) -> bool:
        return self.role is not Role.EVENT


@dataclass
class Conversation:
    """A transcript ready to audit: normalised roles, original turn order, unknown fields kept."""

    id: str
    turns: list[Turn]
    agent_id: str | None = None
    lang: str | None = None
    started_at: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    line: int | None = None
    """1-based line of ``source`` the conversation starts on, when the format has one (problems name it)."""
