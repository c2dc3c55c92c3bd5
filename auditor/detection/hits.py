"""What a detector reports: a turn that performs (or may perform) a step, with a calibrated confidence."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.result import Act


@dataclass(frozen=True)
class StepHit:
    """Evidence that ``turn_index`` performs ``step_id``; ``score`` is the raw match, ``confidence`` P(step).

    ``act`` is what the agent did toward the step in that turn (filled in by the act check after detection);
    ``performs`` is False when that act does not perform the step (a refusal, a skip, a mere offer).
    """

    step_id: str
    turn_index: int
    text: str
    score: float
    confidence: float
    method: str
    act: Act = "performed"
    act_reason: str | None = None
    performs: bool = True

    def but(
        self, *, method: str | None = None, act: Act | None = None, act_reason: str | None | object = ...,
        performs: bool | None = None,
    ) -> StepHit:
        """A copy with these fields changed (``dataclasses.replace`` without its cost: a live call copies hundreds
        of hits after every turn)."""
        return StepHit(
            self.step_id,
            self.turn_index,
            self.text,
            self.score,
            self.confidence,
            self.method if method is None else method,
            self.act if act is None else act,
            self.act_reason if act_reason is ... else act_reason,  # type: ignore[arg-type]
            self.performs if performs is None else performs,
        )
