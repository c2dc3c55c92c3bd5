"""A subtitle cue never vanishes: a timing the parser cannot read, or an end before the start, is named (issue 17)."""

from __future__ import annotations

from auditor.transcripts.loaders import load_bytes

SRT = """1
00:00:01,000 --> 00:00:02,000
Agent: Hello, thanks for calling.

2
{timing}
Customer: My order is late.

3
00:00:06,000 --> 00:00:07,000
Agent: Sorry about that.
"""
VTT = """WEBVTT

00:00:01.000 --> 00:00:02.000
<v Agent>Hello, thanks for calling.

{timing}
<v Customer>My order is late.

00:00:06.000 --> 00:00:07.000
<v Agent>Sorry about that.
"""


def load(template: str, timing: str, name: str):  # type: ignore[no-untyped-def]
    return load_bytes(template.format(timing=timing).encode("utf-8"), name)


def test_a_good_srt_keeps_every_cue():
    result = load(SRT, "00:00:03,000 --> 00:00:04,000", "call.srt")
    assert result.problems == []
    assert [turn.text for turn in result.conversations[0].turns] == [
        "Hello, thanks for calling.",
        "My order is late.",
        "Sorry about that.",
    ]


def test_an_srt_timing_without_milliseconds_is_named_not_dropped():
    result = load(SRT, "00:00:03 --> 00:00:04,000", "call.srt")
    assert result.conversations == []
    assert [str(problem) for problem in result.problems] == [
        "call.srt:6: malformed cue timing '00:00:03 --> 00:00:04,000' (expected '00:00:01,000 --> 00:00:02,500'); "
        "its cue cannot be placed, file skipped"
    ]


def test_an_srt_timing_with_a_broken_arrow_is_named_not_read_as_text():
    result = load(SRT, "00:00:03,000 -> 00:00:04,000", "call.srt")
    assert result.conversations == []
    assert result.problems[0].line == 6 and "malformed cue timing" in result.problems[0].reason


def test_a_vtt_timing_the_parser_cannot_read_is_named():
    result = load(VTT, "00:00:03,000 --> 00:00:04,000", "call.vtt")
    assert result.conversations == []
    assert result.problems[0].line == 6 and "expected '00:00:01.000 --> 00:00:02.500'" in result.problems[0].reason


def test_a_vtt_cue_ending_before_it_starts_is_refused_like_the_same_times_in_json():
    result = load(VTT, "00:00:05.000 --> 00:00:04.000", "call.vtt")
    assert result.conversations == []
    assert [str(problem) for problem in result.problems] == [
        "call.vtt:6: cue 2: end 00:00:04.000 is before start 00:00:05.000 (a turn cannot end before it starts), "
        "file skipped"
    ]
    as_json = b'{"turns": [{"speaker": "agent", "text": "hi", "start": 5, "end": 4}]}'
    assert "before start" in str(load_bytes(as_json, "call.json").problems[0])


def test_an_srt_cue_ending_before_it_starts_is_refused():
    result = load(SRT, "00:00:05,000 --> 00:00:04,000", "call.srt")
    assert result.conversations == [] and result.problems[0].line == 6


def test_a_cue_text_that_mentions_times_is_kept():
    result = load(SRT, "00:00:03,000 --> 00:00:04,000", "call.srt")
    text = SRT.format(timing="00:00:03,000 --> 00:00:04,000").replace("My order is late.", "10:30 - 11:45 suits me")
    result = load_bytes(text.encode("utf-8"), "call.srt")
    assert result.problems == [] and result.conversations[0].turns[1].text == "10:30 - 11:45 suits me"
