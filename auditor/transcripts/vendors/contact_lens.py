"""Amazon Connect Contact Lens analysis output (and Transcribe Call Analytics output, the same shape): a
``Transcript`` list of turns with ``ParticipantId`` (``AGENT`` / ``CUSTOMER``, or an id that ``Participants``
gives a ``ParticipantRole``), ``Content``, ``BeginOffsetMillis`` / ``EndOffsetMillis`` and ``Sentiment``.

The roles are the vendor's, so they become ``agent`` / ``customer``; each turn keeps its ``sentiment`` and the
overall sentiment per role, the matched categories and the contact summary go to the conversation's metadata.
The contact id (``CustomerMetadata.ContactId``) or the job name is the conversation id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.vendors.fields import (
    array,
    label,
    mapping,
    optional_mapping,
    optional_text,
    scaled,
    spoken_turn,
    text,
)

NAME = "Amazon Connect Contact Lens"
FORMAT = "amazon-contact-lens"
ROLES = {"AGENT": "agent", "CUSTOMER": "customer", "SYSTEM": "system"}
"""Contact Lens roles as the transcript contract names them (``system``: a non-spoken event)."""
_MARKERS = ("Participants", "ConversationCharacteristics", "JobStatus", "CustomerMetadata", "Channel")


def matches(obj: Mapping[str, Any]) -> bool:
    """A ``Transcript`` list whose turns name a ``ParticipantId`` or ``ParticipantRole``, or sit beside the other
    sections of an analysis file."""
    transcript = obj.get("Transcript")
    if not isinstance(transcript, list):
        return False
    first = transcript[0] if transcript else None
    named = isinstance(first, Mapping) and ("ParticipantId" in first or "ParticipantRole" in first)
    return named or any(key in obj for key in _MARKERS)


def convert(obj: Mapping[str, Any], default_id: str) -> dict[str, Any]:
    """The transcript mapping of one Contact Lens (or Call Analytics) output file."""
    roles = _participant_roles(obj.get("Participants"))
    turns = [_turn(raw, index, roles) for index, raw in enumerate(array(obj.get("Transcript"), "Transcript"))]
    customer = optional_mapping(obj.get("CustomerMetadata"), "CustomerMetadata")
    contact_id = optional_text(customer.get("ContactId"), "CustomerMetadata.ContactId")
    record: dict[str, Any] = {
        "id": contact_id or optional_text(obj.get("JobName"), "JobName") or default_id,
        "transcript_format": FORMAT,
        "turns": turns,
    }
    language = obj.get("LanguageCode")
    if isinstance(language, str):
        record["lang"] = language
    if isinstance(obj.get("Channel"), str):
        record["channel"] = obj["Channel"]
    characteristics = optional_mapping(obj.get("ConversationCharacteristics"), "ConversationCharacteristics")
    sentiment = characteristics.get("Sentiment")
    if isinstance(sentiment, Mapping) and isinstance(sentiment.get("OverallSentiment"), Mapping):
        record["sentiment"] = dict(sentiment["OverallSentiment"])
    summary = characteristics.get("ContactSummary")
    if isinstance(summary, Mapping) and isinstance(summary.get("PostContactSummary"), Mapping):
        content = summary["PostContactSummary"].get("Content")
        if isinstance(content, str):
            record["contact_summary"] = content
    categories = obj.get("Categories")
    if isinstance(categories, Mapping) and isinstance(categories.get("MatchedCategories"), list):
        record["categories"] = list(categories["MatchedCategories"])
    return record


def _participant_roles(value: Any) -> dict[str, str]:
    """``ParticipantId`` -> ``ParticipantRole`` from the ``Participants`` list."""
    roles: dict[str, str] = {}
    for index, raw in enumerate(array(value, "Participants") if value is not None else []):
        participant = mapping(raw, label("Participants", index))
        pid = participant.get("ParticipantId")
        role = participant.get("ParticipantRole")
        if isinstance(pid, str) and isinstance(role, str):
            roles[pid] = role
    return roles


def _turn(raw: Any, index: int, roles: dict[str, str]) -> dict[str, Any]:
    where = label("Transcript", index)
    item = mapping(raw, where)
    participant = optional_text(item.get("ParticipantId"), label(where, "ParticipantId"))
    role = optional_text(item.get("ParticipantRole"), label(where, "ParticipantRole"))
    role = role or roles.get(participant or "") or participant
    if role is None:
        raise TranscriptError(f"{where}: no ParticipantId or ParticipantRole")
    speaker = ROLES.get(role.upper(), role)
    content = item.get("Content")
    if content is None and item.get("ContentType") is not None:  # a chat event: a participant joined or left
        speaker, content = "system", str(item.get("ContentType"))
    said = text(content, label(where, "Content"))
    start = scaled(item.get("BeginOffsetMillis"), label(where, "BeginOffsetMillis"), 0.001)
    end = scaled(item.get("EndOffsetMillis"), label(where, "EndOffsetMillis"), 0.001)
    return spoken_turn(
        speaker,
        said,
        start,
        end,
        where,
        sentiment=item.get("Sentiment") if isinstance(item.get("Sentiment"), str) else None,
        issues_detected=item.get("IssuesDetected") or None,
        absolute_time=item.get("AbsoluteTime") if isinstance(item.get("AbsoluteTime"), str) else None,
    )
