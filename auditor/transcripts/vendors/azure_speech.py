"""Azure AI Speech transcription results: batch transcription (``recognizedPhrases`` with ``speaker``,
``channel``, ``offsetInTicks`` / ``durationInTicks`` and ``nBest[0].display``) and fast transcription
(``phrases`` with ``speaker``, ``offsetMilliseconds`` / ``durationMilliseconds`` and ``text``).

Azure's diarization numbers speakers (``1``, ``2``; ``Guest-1`` from the conversation transcriber) without saying
who is the agent, so a numbered speaker becomes ``Speaker 1`` and a named one keeps its name; without
diarization a stereo call's channel becomes ``ch_0`` / ``ch_1``. Phrases that recognised nothing (``NoMatch``) are
not speech and make no turn. The file name is the id (the result names no job).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.vendors.fields import (
    array,
    duration,
    label,
    mapping,
    optional_text,
    scaled,
    spoken_turn,
)

NAME = "Azure speech"
FORMAT = "azure-speech"
TICK = 1e-7
"""Azure's time unit: 100 nanoseconds."""


def matches(obj: Mapping[str, Any]) -> bool:
    """A batch result (``recognizedPhrases``) or a fast transcription result (``phrases`` + ``combinedPhrases``)."""
    if isinstance(obj.get("recognizedPhrases"), list):
        return True
    return isinstance(obj.get("phrases"), list) and ("combinedPhrases" in obj or "durationMilliseconds" in obj)


def convert(obj: Mapping[str, Any], default_id: str) -> dict[str, Any]:
    """The transcript mapping of one Azure transcription result."""
    batch = "recognizedPhrases" in obj
    path = "recognizedPhrases" if batch else "phrases"
    turns: list[dict[str, Any]] = []
    locale: str | None = None
    for index, raw in enumerate(array(obj.get(path), path)):
        where = label(path, index)
        phrase = mapping(raw, where)
        turn = _batch_phrase(phrase, where) if batch else _fast_phrase(phrase, where)
        if turn is not None:
            turns.append(turn)
            locale = locale or (phrase["locale"] if isinstance(phrase.get("locale"), str) else None)
    turns.sort(key=lambda turn: turn["start"] if turn["start"] is not None else 0.0)  # channels come one after other
    if not turns:
        raise TranscriptError(f"{path}: no recognised speech")
    record: dict[str, Any] = {"id": default_id, "transcript_format": FORMAT, "turns": turns}
    if locale:
        record["lang"] = locale
    if isinstance(obj.get("timestamp"), str):
        record["started_at"] = obj["timestamp"]
    source = obj.get("source")
    if isinstance(source, str) and source.strip():
        record["audio"] = urlsplit(source).path.rsplit("/", 1)[-1] or None  # never the query: it may hold a key
    return record


def _speaker(phrase: Mapping[str, Any], where: str) -> str:
    speaker = phrase.get("speaker", phrase.get("speakerId"))
    if isinstance(speaker, int) and not isinstance(speaker, bool):
        return f"Speaker {speaker}"
    named = optional_text(speaker, label(where, "speaker"))
    if named:
        return named
    channel = phrase.get("channel")
    if isinstance(channel, int) and not isinstance(channel, bool):
        return f"ch_{channel}"
    raise TranscriptError(f"{where}: no speaker or channel (turn on diarization for a one-channel call)")


def _batch_phrase(phrase: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    status = phrase.get("recognitionStatus")
    if status is not None and status != "Success":
        return None
    best_list = array(phrase.get("nBest"), label(where, "nBest"))
    if not best_list:
        return None
    best = mapping(best_list[0], label(label(where, "nBest"), 0))
    best_where = label(label(where, "nBest"), 0)
    said = optional_text(best.get("display"), f"{best_where}.display") or optional_text(
        best.get("lexical"), f"{best_where}.lexical"
    )
    if said is None:
        return None
    if phrase.get("offsetInTicks") is not None:
        start = scaled(phrase.get("offsetInTicks"), label(where, "offsetInTicks"), TICK)
        length = scaled(phrase.get("durationInTicks"), label(where, "durationInTicks"), TICK)
    else:
        start = duration(phrase.get("offset"), label(where, "offset"))
        length = duration(phrase.get("duration"), label(where, "duration"))
    confidence = best.get("confidence")
    return spoken_turn(
        _speaker(phrase, where),
        said,
        start,
        None if start is None or length is None else round(start + length, 3),
        where,
        confidence=confidence if isinstance(confidence, int | float) and not isinstance(confidence, bool) else None,
    )


def _fast_phrase(phrase: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    said = optional_text(phrase.get("text"), label(where, "text"))
    if said is None:
        return None
    start = scaled(phrase.get("offsetMilliseconds"), label(where, "offsetMilliseconds"), 0.001)
    length = scaled(phrase.get("durationMilliseconds"), label(where, "durationMilliseconds"), 0.001)
    confidence = phrase.get("confidence")
    return spoken_turn(
        _speaker(phrase, where),
        said,
        start,
        None if start is None or length is None else round(start + length, 3),
        where,
        confidence=confidence if isinstance(confidence, int | float) and not isinstance(confidence, bool) else None,
    )
