"""What a detector reports: a turn that performs (or may perform) a step, with a calibrated confidence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepHit:
    """Evidence that ``turn_index`` performs ``step_id``; ``score`` is the raw match, ``confidence`` P(step)."""

    step_id: str
    turn_index: int
    text: str
    score: float
    confidence: float
    method: str
