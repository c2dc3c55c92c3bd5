"""Amazon Transcribe batch output: ``results.audio_segments`` when present, else ``results.items`` with speakers
from ``speaker_label`` (diarization: ``spk_0``...) or ``channel_label`` (channel identification: ``ch_0``...).

Consecutive words or segments of one speaker make one turn; punctuation items join the word before them. The
speakers stay the labels Transcribe gave (it does not say who is the agent). The job name is the id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.vendors.fields import (
    array,
    join_words,
    label,
    mapping,
    optional_text,
    seconds,
    spoken_turn,
    text,
)

NAME = "Amazon Transcribe"
FORMAT = "amazon-transcribe"
_RESULT_KEYS = ("items", "audio_segments", "speaker_labels", "channel_labels")


@dataclass
class _Word:
    speaker: str | None
    start: float | None
    end: float | None
    text: str
    confidence: float | None = None
    where: str = ""


@dataclass
class _Turn:
    speaker: str
    words: list[str] = field(default_factory=list)
    start: float | None = None
    end: float | None = None
    confidences: list[float] = field(default_factory=list)
    where: str = ""


def matches(obj: Mapping[str, Any]) -> bool:
    """A Transcribe job's output: a ``results`` object with items, audio segments or speaker/channel labels."""
    results = obj.get("results")
    return isinstance(results, Mapping) and any(key in results for key in _RESULT_KEYS)


def convert(obj: Mapping[str, Any], default_id: str) -> dict[str, Any]:
    """The transcript mapping of one Transcribe output document."""
    results = mapping(obj.get("results"), "results")
    segments = results.get("audio_segments")
    turns = _from_segments(array(segments, "results.audio_segments")) if segments else _from_items(results)
    record: dict[str, Any] = {
        "id": optional_text(obj.get("jobName"), "jobName") or default_id,
        "transcript_format": FORMAT,
        "turns": [_output(turn) for turn in turns],
    }
    language = results.get("language_code")
    if isinstance(language, str):
        record["lang"] = language
    return record


def _from_segments(segments: list[Any]) -> list[_Turn]:
    """Turns from ``audio_segments``: one per run of segments with the same speaker."""
    turns: list[_Turn] = []
    for index, raw in enumerate(segments):
        where = label("results.audio_segments", index)
        segment = mapping(raw, where)
        speaker = optional_text(segment.get("speaker_label"), label(where, "speaker_label")) or optional_text(
            segment.get("channel_label"), label(where, "channel_label")
        )
        if speaker is None:
            raise TranscriptError(f"{where}: no speaker_label or channel_label (Transcribe labels speakers only "
                                  "with ShowSpeakerLabels or ChannelIdentification)")
        said = text(segment.get("transcript"), label(where, "transcript")).strip()
        start = seconds(segment.get("start_time"), label(where, "start_time"))
        end = seconds(segment.get("end_time"), label(where, "end_time"))
        _extend(turns, _Word(speaker, start, end, said, where=where))
    return turns


def _from_items(results: Mapping[str, Any]) -> list[_Turn]:
    """Turns from word items, their speakers from the items or ``speaker_labels.segments``."""
    items = results.get("items")
    by_start = _speakers_by_start(results)
    words: list[_Word] = []
    if items:
        words = _words(array(items, "results.items"), "results.items", by_start, None)
    else:
        channels = mapping(results.get("channel_labels"), "results.items").get("channels")
        for number, raw in enumerate(array(channels, "results.channel_labels.channels")):
            where = label("results.channel_labels.channels", number)
            channel = mapping(raw, where)
            name = optional_text(channel.get("channel_label"), label(where, "channel_label")) or f"ch_{number}"
            words += _words(array(channel.get("items"), label(where, "items")), label(where, "items"), {}, name)
        words.sort(key=lambda word: word.start if word.start is not None else 0.0)
    if not words:
        raise TranscriptError("results.items: empty (the job transcribed no speech)")
    if all(word.speaker is None for word in words):
        raise TranscriptError("results.items: no speaker labels (Transcribe labels speakers only with "
                              "ShowSpeakerLabels or ChannelIdentification)")
    turns: list[_Turn] = []
    for word in words:
        _extend(turns, word)
    return turns


def _speakers_by_start(results: Mapping[str, Any]) -> dict[float, str]:
    """Word start time -> speaker, from ``speaker_labels.segments[].items`` (older output has no label on items)."""
    labels = results.get("speaker_labels")
    if not isinstance(labels, Mapping):
        return {}
    found: dict[float, str] = {}
    for index, raw in enumerate(array(labels.get("segments"), "results.speaker_labels.segments")):
        where = label("results.speaker_labels.segments", index)
        segment = mapping(raw, where)
        for number, item in enumerate(segment.get("items") or []):
            item_where = label(label(where, "items"), number)
            item = mapping(item, item_where)
            start = seconds(item.get("start_time"), label(item_where, "start_time"))
            speaker = optional_text(item.get("speaker_label"), label(item_where, "speaker_label"))
            if start is not None and speaker:
                found[start] = speaker
    return found


def _words(items: list[Any], path: str, by_start: dict[float, str], channel: str | None) -> list[_Word]:
    """Pronunciation items as words, each punctuation item appended to the word before it."""
    words: list[_Word] = []
    for index, raw in enumerate(items):
        where = label(path, index)
        item = mapping(raw, where)
        alternatives = array(item.get("alternatives"), label(where, "alternatives"))
        if not alternatives:
            raise TranscriptError(f"{label(where, 'alternatives')}: empty")
        best = mapping(alternatives[0], label(label(where, "alternatives"), 0))
        content = text(best.get("content"), label(label(where, "alternatives"), 0) + ".content")
        kind = item.get("type")
        if kind == "punctuation":
            if words:
                words[-1].text += content
            continue
        if kind != "pronunciation":
            raise TranscriptError(f"{label(where, 'type')}: must be 'pronunciation' or 'punctuation', got {kind!r}")
        speaker = (
            optional_text(item.get("speaker_label"), label(where, "speaker_label"))
            or optional_text(item.get("channel_label"), label(where, "channel_label"))
            or channel
        )
        start = seconds(item.get("start_time"), label(where, "start_time"))
        end = seconds(item.get("end_time"), label(where, "end_time"))
        if speaker is None and start is not None:
            speaker = by_start.get(start)
        confidence = _confidence(best.get("confidence"))
        words.append(_Word(speaker, start, end, content, confidence, where))
    return words


def _confidence(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _extend(turns: list[_Turn], word: _Word) -> None:
    """Add a word (or segment) to the last turn when its speaker is the same (or unknown), else start a turn."""
    speaker = word.speaker or (turns[-1].speaker if turns else None)
    if speaker is None:
        speaker = "spk_0"  # words before the first labelled one: Transcribe leaves none in practice
    if not turns or turns[-1].speaker != speaker:
        turns.append(_Turn(speaker, start=word.start, where=word.where))
    turn = turns[-1]
    turn.words.append(word.text)
    if turn.start is None:
        turn.start = word.start
    if word.end is not None:
        turn.end = word.end
    if word.confidence is not None:
        turn.confidences.append(word.confidence)


def _output(turn: _Turn) -> dict[str, Any]:
    confidence = round(sum(turn.confidences) / len(turn.confidences), 3) if turn.confidences else None
    return spoken_turn(turn.speaker, join_words(turn.words), turn.start, turn.end, turn.where, confidence=confidence)
