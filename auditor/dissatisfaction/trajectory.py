"""Does dissatisfaction recover after the agent apologises? The customer-turn score curve around the apology."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

TrajectoryKind = Literal["recovered", "worsened", "flat"]

DEFAULT_MARGIN = 0.1
"""Smallest change in turn score (0..1) that counts as recovering or worsening."""


@dataclass(frozen=True)
class Trajectory:
    """The curve (customer turn index, score), where it pivots, and whether it ended better or worse.

    ``pivot_turn`` is the first agent apology with customer turns on both sides; ``before`` is the highest
    score before it and ``after`` the last customer turn's score. Without such an apology the curve's first and
    last points are compared and ``pivot_turn`` is None.
    """

    kind: TrajectoryKind
    pivot_turn: int | None
    before: float
    after: float
    curve: list[tuple[int, float]] = field(default_factory=list)

    @property
    def delta(self) -> float:
        return self.after - self.before

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "pivot_turn": self.pivot_turn,
            "before": round(self.before, 4),
            "after": round(self.after, 4),
            "curve": [[index, round(score, 4)] for index, score in self.curve],
        }


def trajectory(
    curve: Sequence[tuple[int, float]], apology_turns: Sequence[int], margin: float = DEFAULT_MARGIN
) -> Trajectory:
    """Classify the curve: ``recovered`` if it fell by at least ``margin``, ``worsened`` if it rose, else ``flat``."""
    points = sorted((int(index), float(score)) for index, score in curve)
    if not points:
        return Trajectory("flat", None, 0.0, 0.0, [])
    pivot = next(
        (a for a in sorted(apology_turns) if points[0][0] < a < points[-1][0]),
        None,
    )
    if pivot is None:
        before, after = points[0][1], points[-1][1]
    else:
        before = max(score for index, score in points if index < pivot)
        after = points[-1][1]
    delta = after - before
    kind: TrajectoryKind = "recovered" if delta <= -margin else "worsened" if delta >= margin else "flat"
    return Trajectory(kind, pivot, before, after, points)
