"""Handle time (AHT) per conversation, from turn timestamps or a duration in the metadata."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from auditor.conversation import Conversation
from auditor.insights.outcomes import as_number
from auditor.result import ConversationResult

DURATION_FIELDS = ("handle_time", "handle_time_seconds", "aht", "aht_seconds", "duration", "duration_seconds")


def conversation_seconds(conversation: Conversation) -> float | None:
    """From the first turn's start to the last turn's end (or start); None without two timestamps."""
    times = [t for turn in conversation.turns for t in (turn.start, turn.end) if t is not None]
    if len(times) < 2:
        return None
    return max(times) - min(times)


def handle_times(
    results: Sequence[ConversationResult], conversations: Mapping[str, Conversation] | None = None
) -> list[float | None]:
    """Seconds per result: transcript timestamps when given, else a duration field of the metadata."""
    conversations = conversations or {}
    seconds: list[float | None] = []
    for result in results:
        value: float | None = None
        conversation = conversations.get(result.conversation_id)
        if conversation is not None:
            value = conversation_seconds(conversation)
        if value is None:
            folded = {key.casefold(): item for key, item in result.metadata.items()}
            value = next((v for f in DURATION_FIELDS if (v := as_number(folded.get(f))) is not None), None)
        seconds.append(value)
    return seconds


@dataclass(frozen=True)
class HandleTimeSummary:
    """Handle time of a group of conversations, in seconds."""

    group: str
    conversations: int
    mean: float
    median: float
    p90: float


def summarise_handle_times(
    results: Sequence[ConversationResult], seconds: Sequence[float | None], by: str = "sop"
) -> list[HandleTimeSummary]:
    """Overall (``by='all'``), per SOP (``'sop'``) or per agent (``'agent'``); groups without times are left out."""
    groups: dict[str, list[float]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for result, value in zip(results, seconds, strict=True):
        if value is None:
            continue
        group = {"all": "all", "sop": result.sop_id, "agent": result.agent_id or "-"}[by]
        if by == "all" and (group, result.conversation_id) in seen:
            continue  # one conversation audited against several SOPs counts once overall
        seen.add((group, result.conversation_id))
        groups[group].append(value)
    summaries = []
    for group, values in sorted(groups.items()):
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
        summaries.append(
            HandleTimeSummary(group, len(values), statistics.fmean(values), statistics.median(values), p90)
        )
    return summaries
