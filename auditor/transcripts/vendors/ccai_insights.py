"""Google Contact Center AI Insights: a ``Conversation`` resource (``transcript.transcriptSegments``, each with
``segmentParticipant.role`` HUMAN_AGENT / AUTOMATED_AGENT / END_USER, ``channelTag`` and timed ``words``), or the
chat format Insights imports (``entries`` with ``role`` AGENT / CUSTOMER and ``start_timestamp_usec``).

Roles the vendor gives become ``agent`` / ``customer`` (an automated agent speaks for the contact centre, so it is
the agent side; ``participant_role`` keeps the vendor's role on each turn); a segment without one takes its
channel's role from ``callMetadata`` (``agentChannel`` / ``customerChannel``), else keeps the label ``ch_<tag>``.
The last part of the conversation's ``name`` is its id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.vendors.fields import (
    array,
    duration,
    join_words,
    label,
    mapping,
    optional_mapping,
    optional_text,
    scaled,
    short_id,
    spoken_turn,
    text,
)

NAME = "Google CCAI Insights"
FORMAT = "google-ccai-insights"
ROLES = {
    "HUMAN_AGENT": "agent",
    "AUTOMATED_AGENT": "agent",
    "ANY_AGENT": "agent",
    "AGENT": "agent",
    "END_USER": "customer",
    "CUSTOMER": "customer",
}


def matches(obj: Mapping[str, Any]) -> bool:
    """A conversation with ``transcript.transcriptSegments``, or an Insights chat import with ``entries``."""
    transcript = obj.get("transcript")
    if isinstance(transcript, Mapping) and "transcriptSegments" in transcript:
        return True
    entries = obj.get("entries")
    first = entries[0] if isinstance(entries, list) and entries else None
    return isinstance(first, Mapping) and "text" in first and ("role" in first or "start_timestamp_usec" in first)


def convert(obj: Mapping[str, Any], default_id: str) -> dict[str, Any]:
    """The transcript mapping of one Insights conversation (or chat import)."""
    if "entries" in obj and not isinstance(obj.get("transcript"), Mapping):
        return _from_entries(obj, default_id)
    name = optional_text(obj.get("name"), "name")
    channels = _channel_roles(optional_mapping(obj.get("callMetadata"), "callMetadata"))
    transcript = mapping(obj.get("transcript"), "transcript")
    segments = array(transcript.get("transcriptSegments"), "transcript.transcriptSegments")
    record: dict[str, Any] = {
        "id": short_id(name) or default_id,
        "transcript_format": FORMAT,
        "turns": [_segment(raw, index, channels) for index, raw in enumerate(segments)],
    }
    for source, target in (("agentId", "agent_id"), ("languageCode", "lang"), ("startTime", "started_at")):
        if isinstance(obj.get(source), str) and obj[source].strip():
            record[target] = obj[source]
    if name:
        record["vendor_name"] = name
    for source, target in (("medium", "medium"), ("duration", "duration"), ("labels", "labels")):
        if obj.get(source) is not None:
            record[target] = obj[source]
    sentiments = _overall_sentiment(obj.get("latestAnalysis"))
    if sentiments is not None:
        record["sentiment"] = sentiments
    return record


def _channel_roles(call: Mapping[str, Any]) -> dict[int, str]:
    roles: dict[int, str] = {}
    for key, speaker in (("agentChannel", "agent"), ("customerChannel", "customer")):
        if isinstance(call.get(key), int):
            roles[call[key]] = speaker
    return roles


def _segment(raw: Any, index: int, channels: dict[int, str]) -> dict[str, Any]:
    where = label("transcript.transcriptSegments", index)
    segment = mapping(raw, where)
    participant = optional_mapping(segment.get("segmentParticipant"), label(where, "segmentParticipant"))
    role = optional_text(participant.get("role"), label(where, "segmentParticipant.role"))
    channel = segment.get("channelTag")
    speaker = ROLES.get(role or "")
    if speaker is None and isinstance(channel, int):
        speaker = channels.get(channel, f"ch_{channel}")
    if speaker is None:
        raise TranscriptError(f"{where}: no segmentParticipant.role or channelTag says who spoke")
    words_where = label(where, "words")
    words = [mapping(w, label(words_where, n)) for n, w in enumerate(array(segment.get("words") or [], words_where))]
    said = optional_text(segment.get("text"), label(where, "text"))
    if said is None:
        said = join_words([text(w.get("word"), f"{label(words_where, n)}.word") for n, w in enumerate(words)])
    start = end = None
    if words:
        start = duration(words[0].get("startOffset"), f"{label(words_where, 0)}.startOffset")
        end = duration(words[-1].get("endOffset"), f"{label(words_where, len(words) - 1)}.endOffset")
    sentiment = segment.get("sentiment")
    return spoken_turn(
        speaker,
        said,
        start,
        end,
        where,
        participant_role=role if role and role not in ("HUMAN_AGENT", "END_USER") else None,
        sentiment=dict(sentiment) if isinstance(sentiment, Mapping) else None,
        confidence=segment.get("confidence") if isinstance(segment.get("confidence"), int | float) else None,
        message_time=segment.get("messageTime") if isinstance(segment.get("messageTime"), str) else None,
    )


def _overall_sentiment(analysis: Any) -> list[Any] | None:
    """``latestAnalysis.analysisResult.callAnalysisMetadata.sentiments``: the sentiment of each channel."""
    if not isinstance(analysis, Mapping):
        return None
    result = analysis.get("analysisResult")
    metadata = result.get("callAnalysisMetadata") if isinstance(result, Mapping) else None
    sentiments = metadata.get("sentiments") if isinstance(metadata, Mapping) else None
    return list(sentiments) if isinstance(sentiments, list) else None


def _from_entries(obj: Mapping[str, Any], default_id: str) -> dict[str, Any]:
    """The chat import format: ``entries`` of ``text``, ``role``, ``user_id``, ``start_timestamp_usec``."""
    entries = array(obj.get("entries"), "entries")
    turns: list[dict[str, Any]] = []
    first_usec: float | None = None
    for index, raw in enumerate(entries):
        where = label("entries", index)
        entry = mapping(raw, where)
        role = optional_text(entry.get("role"), label(where, "role"))
        user = entry.get("user_id")
        speaker = ROLES.get((role or "").upper()) or role or (f"user_{user}" if user is not None else None)
        if speaker is None:
            raise TranscriptError(f"{where}: no role or user_id says who wrote it")
        usec = scaled(entry.get("start_timestamp_usec"), label(where, "start_timestamp_usec"), 1.0)
        if usec is not None and first_usec is None:
            first_usec = usec
        start = None if usec is None or first_usec is None else round((usec - first_usec) / 1e6, 3)
        if start is not None and start < 0:
            raise TranscriptError(f"{label(where, 'start_timestamp_usec')}: earlier than the first entry's")
        turns.append(spoken_turn(speaker, text(entry.get("text"), label(where, "text")), start, None, where))
    return {"id": default_id, "transcript_format": FORMAT, "turns": turns}
