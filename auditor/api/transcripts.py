"""Transcripts sent to the API, as conversations: checked against the contract and the service limits once.

A transcript that arrived as ``TranscriptIn`` is already typed (pydantic checked its field types): it is converted
field by field, with only the contract checks pydantic does not make (blank speaker, negative or infinite times,
``end`` before ``start``, the language tag, text that is not valid Unicode, nesting). A raw one (a batch item, a
stored transcript) goes through ``conversation_from_mapping``. Both give the same conversation and the same messages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from auditor.api.errors import ApiError
from auditor.api.schemas import TranscriptIn, TurnIn
from auditor.api.settings import Settings
from auditor.conversation import Conversation, Turn
from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.records import conversation_from_mapping as _from_mapping
from auditor.transcripts.records import (
    join_reasons,
    parse_id,
    parse_lang,
    parse_seconds,
    parse_started_at,
    type_name,
    value_problems,
)
from auditor.transcripts.roles import normalise_role
from auditor.transcripts.speaker_roles import SPEAKER_MAP, resolve_roles

_SET_FIELDS = ("id", "agent_id", "lang", "started_at")


def conversation_from_body(raw: Mapping[str, Any], settings: Settings, label: str = "") -> Conversation:
    """Check a raw transcript against the contract and the service limits; errors name the field."""
    prefix = f"{label}: " if label else ""
    turns = raw.get("turns")
    if isinstance(turns, list):
        check_turn_count(len(turns), settings, prefix)
    try:
        conversation = resolve_roles(_from_mapping(raw, source="", default_id=content_id(raw)))
    except TranscriptError as error:
        raise ApiError(422, "invalid_transcript", f"{prefix}{error.reason}") from error
    check_turn_length(conversation.turns, settings, prefix)
    return conversation


def conversation_from_transcript(transcript: TranscriptIn, settings: Settings) -> Conversation:
    """The conversation of a validated request body, within the service limits; a contract problem raises
    ``TranscriptError`` (422 ``invalid_transcript``)."""
    check_turn_count(len(transcript.turns), settings)
    conversation = resolve_roles(conversation_from_model(transcript))
    check_turn_length(conversation.turns, settings)
    return conversation


def conversation_from_model(transcript: TranscriptIn, source: str = "") -> Conversation:
    """What ``conversation_from_mapping`` makes of the same transcript, read from the typed model."""
    fields = {name: getattr(transcript, name) for name in _SET_FIELDS if name in transcript.model_fields_set}
    extra = dict(transcript.model_extra or {})
    if transcript.speaker_map is not None:  # read by resolve_roles, as a raw transcript's speaker_map field is
        extra[SPEAKER_MAP] = transcript.speaker_map
    errors = list(value_problems(fields | extra))
    conversation_id = _collect(errors, parse_id, transcript.id, "id")
    agent_id = _collect(errors, parse_id, transcript.agent_id, "agent_id")
    lang = _collect(errors, parse_lang, transcript.lang, "lang")
    started_at = _collect(errors, parse_started_at, transcript.started_at, "started_at")
    if not transcript.turns:
        errors.append("turns: empty")
    turns = []
    for index, turn in enumerate(transcript.turns):
        try:
            turns.append(turn_from_model(turn, index))
        except TranscriptError as error:
            errors.append(error.reason)
    if errors:
        raise TranscriptError(join_reasons(errors))
    return Conversation(
        id=conversation_id or content_id(transcript.model_dump(exclude_unset=True)),
        turns=turns,
        agent_id=agent_id,
        lang=lang,
        started_at=started_at,
        metadata=extra,
        source=source,
    )


def turn_from_model(turn: TurnIn, index: int) -> Turn:
    """What ``turn_from_mapping`` makes of the same turn (at ``turns[index]``), read from the typed model."""
    path = f"turns[{index}]"
    extra = dict(turn.model_extra or {})
    shown = {"speaker": turn.speaker, "text": turn.text}
    shown |= {name: getattr(turn, name) for name in ("start", "end") if name in turn.model_fields_set}
    errors = list(value_problems(shown | extra, path))
    if not turn.speaker.strip():
        errors.append(f"{path}.speaker: empty")
    start = _collect(errors, parse_seconds, turn.start, f"{path}.start")
    end = _collect(errors, parse_seconds, turn.end, f"{path}.end")
    steps = _collect(errors, _steps, extra.pop("steps", None), f"{path}.steps")
    if start is not None and end is not None and end < start:
        errors.append(f"{path}.end: {end:g} is before start {start:g}")
    if errors:
        raise TranscriptError(join_reasons(errors))
    return Turn(
        index=index,
        speaker=turn.speaker,
        role=normalise_role(turn.speaker),
        text=turn.text,
        start=start,
        end=end,
        gold_steps=steps,
        extra=extra,
    )


def check_turn_count(turns: int, settings: Settings, prefix: str = "") -> None:
    if turns > settings.max_turns:
        raise ApiError(422, "too_many_turns", f"{prefix}{turns} turns, more than the limit of {settings.max_turns}")


def check_turn_length(turns: Iterable[Turn], settings: Settings, prefix: str = "") -> None:
    for turn in turns:
        if len(turn.text) > settings.max_turn_chars:
            raise ApiError(
                422,
                "turn_too_long",
                f"{prefix}turns[{turn.index}].text: {len(turn.text)} characters, "
                f"more than the limit of {settings.max_turn_chars}",
            )


def content_id(raw: Mapping[str, Any]) -> str:
    """An id for a transcript sent without one: the same content gets the same id (re-audits are comparable)."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    # surrogatepass: a lone surrogate (sent as "\\ud800") still hashes; the contract check then names its field
    return "c-" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _collect(errors: list[str], parse: Any, value: Any, label: str) -> Any:
    try:
        return parse(value, label)
    except TranscriptError as error:
        errors.append(error.reason)
        return None


def _steps(value: Any, label: str) -> tuple[str, ...] | None:
    """Gold step labels, as the contract reads them: a list of step ids."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(isinstance(step, str) for step in value):
        raise TranscriptError(f"{label}: must be a list of strings, got {type_name(value)}")
    return tuple(value)
