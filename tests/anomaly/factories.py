"""Hand-built conversations and audit results for the anomaly tests (no embedder, no model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auditor.conversation import Conversation, Turn
from auditor.result import ConversationResult, StepResult
from auditor.transcripts.roles import normalise_role


def timed_conversation(
    turns: Sequence[tuple[str, str, float | None, float | None]], *, conversation_id: str = "c-1", agent_id: str = "a-1"
) -> Conversation:
    """A conversation from (speaker, text, start, end) tuples."""
    built = [
        Turn(index=i, speaker=speaker, role=normalise_role(speaker), text=text, start=start, end=end)
        for i, (speaker, text, start, end) in enumerate(turns)
    ]
    return Conversation(id=conversation_id, turns=built, agent_id=agent_id)


def make_result(
    statuses: Mapping[str, str],
    *,
    conversation_id: str = "c-1",
    agent_id: str | None = "a-1",
    sop_id: str = "sop",
    score: float = 1.0,
    required: Mapping[str, bool] | None = None,
    critical: Sequence[str] = (),
) -> ConversationResult:
    """A result whose steps carry the given statuses (step id -> status)."""
    steps = [
        StepResult(
            step_id=step_id,
            name=step_id.replace("_", " "),
            status=status,  # type: ignore[arg-type]
            confidence=0.9,
            required=(required or {}).get(step_id, True),
            critical=step_id in critical,
        )
        for step_id, status in statuses.items()
    ]
    return ConversationResult(
        conversation_id=conversation_id,
        agent_id=agent_id,
        sop_id=sop_id,
        sop_version=1,
        lang="en",
        score=score,
        passed=score >= 0.8,
        steps=steps,
    )
