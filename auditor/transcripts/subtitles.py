"""Read WebVTT and SubRip transcripts (via ``webvtt-py``); every cue must say who is speaking."""

from __future__ import annotations

import bisect
import html
import io
import re
from dataclasses import dataclass

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError
from webvtt.models import Caption

from auditor.conversation import Conversation, Turn
from auditor.transcripts.file_ids import FileIds, HeaderError, header_ids
from auditor.transcripts.plain_text import split_speaker_prefix
from auditor.transcripts.problems import FileLoad, Located
from auditor.transcripts.records import quoted
from auditor.transcripts.roles import normalise_role

_VOICE = re.compile(r"<v(?:\.[^\s>]+)*\s+([^>]+)>")
_TIMING = re.compile(r"\s*(?:(\d{1,12}):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})\s*-->")
_VTT_STAMP = r"(?:\d+:)?\d{1,2}:\d{1,2}\.\d{1,3}"
_GOOD_TIMING = {
    # what the parser reads (webvtt-py's own patterns): SRT needs hours, WebVTT a full stop before the milliseconds
    "srt": re.compile(r"\s*\d+:\d{1,2}:\d{1,2}[,.]\d+\s*-->\s*\d+:\d{1,2}:\d{1,2}[,.]\d+"),
    "vtt": re.compile(rf"\s*{_VTT_STAMP}\s*-->\s*{_VTT_STAMP}"),
}
_BROKEN_ARROW = re.compile(r"\s*(?:\d+:)+\d+[.,]\d+\s*(?:-+|=+|\u2013|\u2014)+>?\s*(?:\d+:)+\d+[.,]\d+\s*$")
"""Two times joined by something other than ``-->`` (``->``, ``--``, ``=>``): a timing line the parser would take for
text."""
_NOTE_FIELD = re.compile(r"([A-Za-z_]+)\s*[:：]\s*(.*)")
_DIALOGUE_DASHES = "-\u2013\u2014 "  # SRT dialogue lines may start with a hyphen, en dash or em dash
_FORMAT_NAMES = {"vtt": "WebVTT", "srt": "SubRip (SRT)"}


@dataclass
class _Segment:
    """The lines of one speaker inside a cue."""

    speaker: str | None
    lines: list[str]


def read_vtt(text: str, source: str, stem: str, *, ids: FileIds | None = None) -> FileLoad:
    """Load a WebVTT file; speakers come from ``<v Name>`` voice tags or a ``Name:`` prefix.

    Ids come from ``NOTE key: value`` lines before the first cue (``NOTE agent_id: A-17``, or a ``NOTE`` block
    with one ``key: value`` a line; keys as in ``file_ids.ID_KEYS``), else from ``ids`` (sidecar, file name, run).
    """
    loaded = FileLoad()
    try:
        header = header_ids(_note_fields(text))
    except HeaderError as error:
        loaded.problem(source, error.line, f"NOTE {error.reason}")
        return loaded
    return _read_subtitles(text, source, stem, "vtt", header.over(ids or FileIds()))


def read_srt(text: str, source: str, stem: str, *, ids: FileIds | None = None) -> FileLoad:
    """Load a SubRip file; speakers come from a ``Name:`` prefix in each cue; ids only from ``ids`` (SubRip has no
    comments)."""
    return _read_subtitles(text, source, stem, "srt", ids or FileIds())


def _note_fields(text: str) -> list[tuple[int, str, str]]:
    """``(line, key, value)`` of each ``key: value`` in the NOTE blocks before a WebVTT file's first cue."""
    fields: list[tuple[int, str, str]] = []
    in_note = False
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if "-->" in line:
            break
        if not line:
            in_note = False
            continue
        if line == "NOTE" or line.startswith(("NOTE ", "NOTE\t")):
            in_note, line = True, line[4:].strip()
        if in_note and (match := _NOTE_FIELD.fullmatch(line)):
            fields.append((number, match.group(1), match.group(2).strip()))
    return fields


def _read_subtitles(text: str, source: str, stem: str, subtitle_format: str, ids: FileIds) -> FileLoad:
    """Turn each cue (or each speaker inside a cue) into a turn; a cue without a speaker skips the file."""
    loaded = FileLoad()
    broken = _malformed_timing(text, subtitle_format)
    if broken is not None:
        number, line = broken
        reason = (
            f"malformed cue timing {quoted(line.strip())} (expected {_EXPECTED[subtitle_format]}); its cue cannot be "
            "placed, file skipped"
        )
        loaded.problem(source, number, reason)
        return loaded
    try:
        captions = webvtt.from_buffer(io.StringIO(text.lstrip("\r\n")), format=subtitle_format).captions
    except (MalformedFileError, MalformedCaptionError) as error:
        loaded.problem(source, None, f"not a valid {_FORMAT_NAMES[subtitle_format]} file: {error}")
        return loaded
    if not captions:
        loaded.problem(source, None, "no cues found")
        return loaded
    cue_lines = _cue_line_numbers(text, captions)
    for number, caption in enumerate(captions, start=1):
        start, end = caption.start_time.in_milliseconds(), caption.end_time.in_milliseconds()
        if end < start:
            reason = (
                f"cue {number}: end {caption.end} is before start {caption.start} (a turn cannot end before it "
                "starts), file skipped"
            )
            loaded.problem(source, cue_lines[number - 1], reason)
            return loaded
    turns: list[Turn] = []
    unnamed: list[int] = []
    for number, caption in enumerate(captions, start=1):
        segments = _segments(caption, unescape=subtitle_format == "vtt")
        if any(segment.speaker is None for segment in segments):
            unnamed.append(number)
        turns.extend(_turns(segments, caption, first_index=len(turns)))
    if unnamed:
        first = unnamed[0]
        loaded.problem(source, cue_lines[first - 1], _unnamed_reason(first, len(unnamed), len(captions)))
        return loaded
    if not turns:
        loaded.problem(source, None, f"no cue has any text ({len(captions)} empty cues)")
        return loaded
    conversation = Conversation(
        id=ids.id or stem,
        turns=turns,
        agent_id=ids.agent_id,
        lang=ids.lang,
        started_at=ids.started_at,
        metadata=dict(ids.metadata),
        source=source,
    )
    loaded.located.append(Located(conversation, None, source))
    return loaded


_EXPECTED = {"srt": "'00:00:01,000 --> 00:00:02,500'", "vtt": "'00:00:01.000 --> 00:00:02.500'"}


def _malformed_timing(text: str, subtitle_format: str) -> tuple[int, str] | None:
    """The first line (1-based, and its text) that is meant as a cue timing but that the parser cannot read, and
    whose cue has text: the parser would drop that turn, or read the timing as text. (A broken timing with no text
    under it loses nothing and is left to the parser, which skips it.)"""
    good = _GOOD_TIMING[subtitle_format]
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if "-->" in line:
            broken = not good.match(line) and not (subtitle_format == "vtt" and line.lstrip().startswith("NOTE"))
        else:
            broken = bool(_BROKEN_ARROW.match(line))
        if broken and _has_cue_text(lines, number):
            return number, line
    return None


def _has_cue_text(lines: list[str], after: int) -> bool:
    """Whether the lines after line ``after`` (1-based), up to the next blank line, hold any text."""
    for line in lines[after:]:
        if not line.strip():
            return False
        if line.strip("\x00\r\t "):
            return True
    return False


def _segments(caption: Caption, *, unescape: bool) -> list[_Segment]:
    """Split a cue's lines by speaker: a voice tag or ``Name:`` starts a segment, other lines continue it."""
    segments: list[_Segment] = []
    for raw, plain in zip(caption.lines, caption.text.split("\n"), strict=False):
        words = html.unescape(plain).strip() if unescape else plain.strip()
        if not words and not raw.strip():
            continue
        voice = _VOICE.match(raw.strip())
        speaker = voice.group(1).strip() if voice else None
        if speaker is None and (prefix := split_speaker_prefix(words.lstrip(_DIALOGUE_DASHES))):
            speaker, words = prefix
        if speaker is not None or not segments:
            segments.append(_Segment(speaker, [words]))
        else:
            segments[-1].lines.append(words)
    return segments


def _turns(segments: list[_Segment], caption: Caption, *, first_index: int) -> list[Turn]:
    """Make the turns of one cue; they share the cue's start and end time."""
    start = caption.start_time.in_milliseconds() / 1000
    end = caption.end_time.in_milliseconds() / 1000
    turns = []
    for offset, segment in enumerate(segments):
        speaker = segment.speaker or ""
        text = "\n".join(line for line in segment.lines if line)
        turns.append(Turn(first_index + offset, speaker, normalise_role(speaker), text, start=start, end=end))
    return turns


def _unnamed_reason(first: int, count: int, total: int) -> str:
    return (
        f"cue {first} has no speaker (expected a <v Name> voice tag or a 'Name: ' prefix); "
        f"{count} of {total} cues lack one, file skipped"
    )


def _cue_line_numbers(text: str, captions: list[Caption]) -> list[int | None]:
    """Find the 1-based line of each caption's timing line, matching captions to timing lines in order."""
    lines_by_start: dict[int, list[int]] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if match := _TIMING.match(line):
            lines_by_start.setdefault(_milliseconds(match), []).append(number)
    found: list[int | None] = []
    previous = 0
    for caption in captions:
        candidates = lines_by_start.get(caption.start_time.in_milliseconds(), [])
        position = bisect.bisect_right(candidates, previous)
        hit = candidates[position] if position < len(candidates) else None
        found.append(hit)
        previous = previous if hit is None else hit
    return found


def _milliseconds(match: re.Match[str]) -> int:
    hours, minutes, seconds, fraction = match.groups()
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(fraction.ljust(3, "0"))
