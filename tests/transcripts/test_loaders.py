"""Transcript loaders: every format loads good input and reports bad input as path:line: reason."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from auditor.conversation import Conversation, Role
from auditor.transcripts.loaders import (
    LoadProblem,
    LoadResult,
    TranscriptError,
    conversation_from_mapping,
    find_input_files,
    load_file,
    load_inputs,
)

STAR_DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "external" / "star_dev.jsonl"


def write(path: Path, content: str, encoding: str = "utf-8") -> Path:
    """Write a test input file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode(encoding))
    return path


def jsonl(*lines: dict[str, Any] | str) -> str:
    """JSON Lines text; strings are written as they are (bad lines, blank lines)."""
    texts = (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
    return "".join(f"{text}\n" for text in texts)


def record(conversation_id: str | None = "c-1", **fields: Any) -> dict[str, Any]:
    """A good contract record: agent greets, customer answers."""
    turns = [
        {"speaker": "agent", "text": "Hello, thanks for calling."},
        {"speaker": "customer", "text": "Hi."},
    ]
    base: dict[str, Any] = {"agent_id": "a-17", "turns": turns}
    if conversation_id is not None:
        base["id"] = conversation_id
    return base | fields


def ids(result: LoadResult) -> list[str]:
    return [conversation.id for conversation in result.conversations]


def only(result: LoadResult) -> Conversation:
    assert result.problems == [], [str(problem) for problem in result.problems]
    assert len(result.conversations) == 1
    return result.conversations[0]


# --- JSON Lines -----------------------------------------------------------------------------------------


def test_jsonl_keeps_roles_positions_labels_and_unknown_fields(tmp_path: Path) -> None:
    turns = [
        {"speaker": "Agent", "text": "Hi!", "start": 0, "end": 1.5, "steps": ["greet"], "action_label": "hi"},
        {"speaker": "action", "text": "query orders"},
        {"speaker": "caller", "text": "My parcel is late.", "start": "2.0"},
    ]
    line = record(lang="en-US", started_at="2024-05-01T09:00:00Z", turns=turns, channel="phone", tags=["vip"])
    path = write(tmp_path / "calls.jsonl", jsonl(line))

    conversation = only(load_file(path))

    assert [turn.role for turn in conversation.turns] == [Role.AGENT, Role.EVENT, Role.CUSTOMER]
    assert [turn.index for turn in conversation.turns] == [0, 1, 2]
    assert [turn.speaker for turn in conversation.turns] == ["Agent", "action", "caller"]
    first = conversation.turns[0]
    assert (first.start, first.end, first.gold_steps) == (0.0, 1.5, ("greet",))
    assert first.extra == {"action_label": "hi"}
    assert conversation.turns[2].start == 2.0
    assert (conversation.id, conversation.agent_id, conversation.lang) == ("c-1", "a-17", "en")
    assert conversation.started_at == "2024-05-01T09:00:00Z"
    assert conversation.metadata == {"channel": "phone", "tags": ["vip"]}
    assert conversation.source == str(path)


BAD_JSONL_LINES = [
    ('{"id": "c-2", "turns": [', "invalid JSON"),
    ("[1, 2]", "must be a JSON object, got array"),
    (json.dumps({"id": "c-2"}), "turns: missing"),
    (json.dumps({"id": "c-2", "turns": []}), "turns: empty"),
    (
        json.dumps({"id": "c-2", "turns": [{"speaker": "agent", "text": "hi"}, {"speaker": "customer"}]}),
        "turns[1].text: missing",
    ),
    (json.dumps({"id": "c-2", "turns": [{"text": "hi"}]}), "turns[0].speaker: missing"),
    (
        json.dumps({"id": "c-2", "turns": [{"speaker": "agent", "text": 42}]}),
        "turns[0].text: must be a string, got number",
    ),
    (
        json.dumps({"id": "c-2", "turns": [{"speaker": "agent", "text": "hi", "start": "soon"}]}),
        "turns[0].start: must be a number of seconds, got 'soon'",
    ),
    (
        json.dumps({"id": "c-2", "turns": [{"speaker": "agent", "text": "hi", "start": 5, "end": 2}]}),
        "turns[0].end: 2 is before start 5",
    ),
    (
        json.dumps({"id": "c-2", "lang": "fr", "turns": [{"speaker": "agent", "text": "bonjour"}]}),
        "lang: unsupported language 'fr'",
    ),
]


@pytest.mark.parametrize(("bad_line", "reason"), BAD_JSONL_LINES)
def test_jsonl_bad_line_is_one_problem_and_the_lines_around_it_load(tmp_path: Path, bad_line: str, reason: str) -> None:
    path = write(tmp_path / "calls.jsonl", jsonl(record("c-1"), bad_line, "", record("c-4")))

    result = load_file(path)

    assert ids(result) == ["c-1", "c-4"]
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert (problem.path, problem.line) == (str(path), 2)
    assert reason in problem.reason
    assert str(problem).startswith(f"{path}:2: ")


def test_jsonl_without_id_gets_file_stem_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "batch-7.jsonl", jsonl("", record(None)))

    assert ids(load_file(path)) == ["batch-7-2"]


def test_jsonl_reports_every_bad_field_of_a_line_at_once(tmp_path: Path) -> None:
    bad = {"id": "c-1", "lang": 3, "turns": [{"speaker": "agent"}, {"text": "hi", "end": -1}]}
    path = write(tmp_path / "calls.jsonl", jsonl(bad))

    reason = load_file(path).problems[0].reason

    for field in ("lang", "turns[0].text", "turns[1].speaker", "turns[1].end"):
        assert f"{field}: " in reason


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh-Hans", "zh"),
        ("zh-CN", "zh"),
        ("zh-TW", "zh"),
        ("zh-Hant", "zh"),
        ("zh_hant", "zh"),
        ("en-US", "en"),
        ("EN", "en"),
        (None, None),
        ("", None),
    ],
)
def test_language_tags_become_en_or_zh(tmp_path: Path, lang: str | None, expected: str | None) -> None:
    path = write(tmp_path / "calls.jsonl", jsonl(record(lang=lang)))

    assert only(load_file(path)).lang == expected


@pytest.mark.parametrize(
    ("speaker", "role"),
    [
        ("客服", Role.AGENT),
        ("坐席", Role.AGENT),
        ("客户", Role.CUSTOMER),
        ("顾客", Role.CUSTOMER),
        ("顧客", Role.CUSTOMER),
        ("系统", Role.EVENT),
    ],
)
def test_chinese_speaker_names_map_to_roles_and_are_kept(tmp_path: Path, speaker: str, role: Role) -> None:
    path = write(tmp_path / "zh.jsonl", jsonl(record(turns=[{"speaker": speaker, "text": "您好"}])))

    turn = only(load_file(path)).turns[0]

    assert (turn.role, turn.speaker) == (role, speaker)


def test_traditional_chinese_text_is_loaded_untouched(tmp_path: Path) -> None:
    text = "您好，請問有什麼可以幫您？  我們會儘快處理。"
    line = record(lang="zh-Hant", turns=[{"speaker": "客服", "text": text}])
    path = write(tmp_path / "zh.jsonl", jsonl(line))

    assert only(load_file(path)).turns[0].text == text


# --- JSON -----------------------------------------------------------------------------------------------


def test_json_single_conversation_gets_the_file_stem_as_default_id(tmp_path: Path) -> None:
    path = write(tmp_path / "call-42.json", json.dumps(record(None)))

    assert ids(load_file(path)) == ["call-42"]


def test_json_list_bad_item_names_its_index_and_the_others_load(tmp_path: Path) -> None:
    bad = {"id": "c-2", "turns": [{"speaker": "agent"}]}
    path = write(tmp_path / "batch.json", json.dumps([record("c-1"), bad, record(None)], indent=2))

    result = load_file(path)

    assert ids(result) == ["c-1", "batch-2"]
    assert [(p.line, p.reason) for p in result.problems] == [(None, "[1] turns[0].text: missing")]
    assert str(result.problems[0]) == f"{path}: [1] turns[0].text: missing"


def test_json_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.json", '{\n  "id": "c-1",\n  "turns": [\n}\n')

    result = load_file(path)

    assert result.conversations == []
    assert result.problems[0].line == 4
    assert result.problems[0].reason.startswith("invalid JSON")


def test_json_scalar_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path / "odd.json", '"hello"')

    assert "got string" in load_file(path).problems[0].reason


# --- CSV ------------------------------------------------------------------------------------------------


def test_csv_with_excel_bom_groups_rows_by_conversation_in_first_seen_order(tmp_path: Path) -> None:
    rows = [
        "Conversation_ID,agent_id,speaker,text,start,end,lang,queue",
        "c-2,a-9,客服,您好，請問有什麼可以幫您？,0,2.5,zh-TW,vip",
        "c-1,a-1,agent,Hello,,,en,",
        "c-2,a-9,顧客,我的訂單還沒到,3,5,,vip",
        "c-1,a-1,customer,Hi,,,,",
    ]
    path = write(tmp_path / "export.csv", "\r\n".join(rows) + "\r\n", encoding="utf-8-sig")

    result = load_file(path)

    assert result.problems == []
    assert ids(result) == ["c-2", "c-1"]
    zh = result.conversations[0]
    assert (zh.agent_id, zh.lang) == ("a-9", "zh")
    assert [(turn.index, turn.role, turn.text) for turn in zh.turns] == [
        (0, Role.AGENT, "您好，請問有什麼可以幫您？"),
        (1, Role.CUSTOMER, "我的訂單還沒到"),
    ]
    assert (zh.turns[1].start, zh.turns[1].end) == (3.0, 5.0)
    assert zh.turns[0].extra == {"queue": "vip"}
    assert result.conversations[1].turns[0].start is None


def test_csv_bad_row_drops_only_its_conversation_and_names_its_physical_line(tmp_path: Path) -> None:
    rows = [
        "conversation_id,agent_id,speaker,text,start,end",
        'c-1,a-1,agent,"Hello,\nhow can I help?",0,2',  # a quoted newline: this row spans lines 2-3
        "c-2,a-2,agent,Hello,0,1",
        "c-1,a-1,customer,My order is late,3,4",
        "",
        "c-2,a-2,,I have no speaker,2,3",
        "c-3,a-3,agent,Hi,5,1",
        "c-4,a-4,customer,Fine,,",
    ]
    path = write(tmp_path / "export.csv", "\n".join(rows) + "\n")

    result = load_file(path)

    assert ids(result) == ["c-1", "c-4"]
    assert result.conversations[0].turns[0].text == "Hello,\nhow can I help?"
    assert [(problem.line, problem.reason) for problem in result.problems] == [
        (7, "speaker: empty (conversation c-2 skipped)"),
        (8, "end: 1 is before start 5 (conversation c-3 skipped)"),
    ]


def test_csv_missing_required_column_is_one_problem_for_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "conversation_id,who,text\nc-1,agent,Hello\n")

    result = load_file(path)

    assert result.conversations == []
    assert len(result.problems) == 1
    assert str(result.problems[0]).startswith(f"{path}:1: missing required column(s): speaker; the header has ")


def test_csv_rows_of_one_conversation_must_agree_on_the_agent(tmp_path: Path) -> None:
    rows = "conversation_id,agent_id,speaker,text\nc-1,a-1,agent,Hi\nc-1,a-2,agent,Yo\n"
    path = write(tmp_path / "export.csv", rows)

    result = load_file(path)

    assert result.conversations == []
    assert result.problems[0].line == 3
    assert "agent_id: 'a-2' differs from 'a-1'" in result.problems[0].reason


def test_csv_steps_column_becomes_gold_steps(tmp_path: Path) -> None:
    rows = "conversation_id,speaker,text,steps\nc-1,agent,Hello,greet; identify\n"
    path = write(tmp_path / "gold.csv", rows)

    assert only(load_file(path)).turns[0].gold_steps == ("greet", "identify")


# --- plain text -----------------------------------------------------------------------------------------


def test_txt_with_header_full_width_colons_timestamps_and_multi_line_turns(tmp_path: Path) -> None:
    text = (
        "# id: zh-call-7\n"
        "# agent_id: a-17\n"
        "# lang: zh-Hant\n"
        "# queue: vip\n"
        "\n"
        "[00:00:01] 客服：您好，請問有什麼可以幫您？\n"
        "[00:01:04.5] 顧客：我的訂單還沒到。\n"
        "已經等了一週了。\n"
        "坐席: 非常抱歉\n"
    )
    path = write(tmp_path / "call.txt", text)

    conversation = only(load_file(path))

    assert (conversation.id, conversation.agent_id, conversation.lang) == ("zh-call-7", "a-17", "zh")
    assert conversation.metadata == {"queue": "vip"}
    assert [(turn.index, turn.speaker, turn.role) for turn in conversation.turns] == [
        (0, "客服", Role.AGENT),
        (1, "顧客", Role.CUSTOMER),
        (2, "坐席", Role.AGENT),
    ]
    assert conversation.turns[1].text == "我的訂單還沒到。\n已經等了一週了。"
    assert [turn.start for turn in conversation.turns] == [1.0, 64.5, None]


def test_txt_without_header_uses_file_stem_and_splits_at_the_first_colon(tmp_path: Path) -> None:
    text = "Agent: Hello, how can I help?\nCustomer: Order: 1234 is late.\nSee https://example.com/track\n"
    path = write(tmp_path / "call-9.txt", text)

    conversation = only(load_file(path))

    assert conversation.id == "call-9"
    assert [turn.role for turn in conversation.turns] == [Role.AGENT, Role.CUSTOMER]
    assert conversation.turns[1].text == "Order: 1234 is late.\nSee https://example.com/track"


def test_txt_first_line_without_speaker_is_a_problem_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "call.txt", "# id: c-1\nhello there\nAgent: Hi\n")

    result = load_file(path)

    assert result.conversations == []
    assert result.problems[0].line == 2
    assert "first line has no speaker" in result.problems[0].reason


def test_txt_bad_lang_header_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "call.txt", "# id: c-1\n# lang: klingon\nAgent: Hi\n")

    assert [(p.line, p.reason) for p in load_file(path).problems] == [
        (2, "lang: unsupported language 'klingon' (expected en, zh or null)")
    ]


# --- WebVTT and SubRip ----------------------------------------------------------------------------------


def test_vtt_speakers_from_voice_tags_and_prefixes_with_cue_times(tmp_path: Path) -> None:
    text = (
        "WEBVTT\n\n"
        "NOTE exported from the call recorder\n\n"
        "1\n00:00:01.500 --> 00:00:03.000\n<v Agent>Hello &amp; welcome</v>\n\n"
        "2\n00:00:03.000 --> 00:00:05.250\n<v.loud Customer>My bill is wrong!\nIt doubled.\n\n"
        "00:00:06.000 --> 00:00:08.000\nAgent: I am sorry.\nCustomer: Thanks.\n"
    )
    path = write(tmp_path / "call-3.vtt", text)

    conversation = only(load_file(path))

    assert conversation.id == "call-3"
    assert [(turn.index, turn.speaker, turn.role, turn.text) for turn in conversation.turns] == [
        (0, "Agent", Role.AGENT, "Hello & welcome"),
        (1, "Customer", Role.CUSTOMER, "My bill is wrong!\nIt doubled."),
        (2, "Agent", Role.AGENT, "I am sorry."),
        (3, "Customer", Role.CUSTOMER, "Thanks."),
    ]
    assert [(turn.start, turn.end) for turn in conversation.turns[:2]] == [(1.5, 3.0), (3.0, 5.25)]


def test_vtt_cue_without_speaker_skips_the_file_and_names_the_cue(tmp_path: Path) -> None:
    text = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Agent>Hello</v>\n\n00:00:03.000 --> 00:00:04.000\nwho said this?\n"
    )
    path = write(tmp_path / "call.vtt", text)

    result = load_file(path)

    assert result.conversations == []
    assert result.problems[0].line == 6
    assert result.problems[0].reason.startswith("cue 2 has no speaker")


def test_vtt_without_header_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path / "call.vtt", "00:00:01.000 --> 00:00:02.000\nAgent: Hello\n")

    assert "not a valid WebVTT file" in load_file(path).problems[0].reason


def test_srt_speakers_from_prefixes_including_chinese_and_italics(tmp_path: Path) -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,500\n客服：您好，这里是客服中心\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\n<i>Customer: I need help.</i>\n"
    )
    path = write(tmp_path / "call.srt", text)

    conversation = only(load_file(path))

    assert [(turn.speaker, turn.role, turn.text, turn.start, turn.end) for turn in conversation.turns] == [
        ("客服", Role.AGENT, "您好，这里是客服中心", 1.0, 2.5),
        ("Customer", Role.CUSTOMER, "I need help.", 3.0, 4.0),
    ]


def test_srt_cue_without_speaker_skips_the_file(tmp_path: Path) -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nAgent: Hi\n\n2\n00:00:03,000 --> 00:00:04,000\nno idea who\n"
    path = write(tmp_path / "call.srt", text)

    result = load_file(path)

    assert result.conversations == []
    assert (result.problems[0].line, result.problems[0].reason[:5]) == (6, "cue 2")


# --- files, folders, duplicates -------------------------------------------------------------------------


def test_folders_are_searched_recursively_in_order_ignoring_other_files(tmp_path: Path) -> None:
    write(tmp_path / "in" / "b.jsonl", jsonl(record("c-b")))
    write(tmp_path / "in" / "a" / "nested.txt", "Agent: hi\n")
    write(tmp_path / "in" / "notes.md", "# not a transcript")
    write(tmp_path / "in" / "recording.WAV", "RIFF")
    write(tmp_path / "in" / ".cache" / "old.jsonl", jsonl(record("c-old")))

    files, problems = find_input_files([tmp_path / "in"])
    result = load_inputs([str(tmp_path / "in")])

    assert problems == []
    assert files == [tmp_path / "in" / "a" / "nested.txt", tmp_path / "in" / "b.jsonl"]
    assert ids(result) == ["nested", "c-b"]
    assert result.problems == []


def test_missing_paths_and_unsupported_files_given_explicitly_are_problems(tmp_path: Path) -> None:
    good = write(tmp_path / "calls.jsonl", jsonl(record("c-1")))
    notes = write(tmp_path / "notes.md", "# hi")

    result = load_inputs([tmp_path / "missing.jsonl", notes, good])

    assert ids(result) == ["c-1"]
    assert [(problem.path, problem.reason.split(" (")[0]) for problem in result.problems] == [
        (str(tmp_path / "missing.jsonl"), "no such file or folder"),
        (str(notes), "unsupported file type '.md'"),
    ]


def test_same_file_given_twice_is_loaded_once(tmp_path: Path) -> None:
    path = write(tmp_path / "calls.jsonl", jsonl(record("c-1")))

    result = load_inputs([path, tmp_path])

    assert (ids(result), result.problems) == (["c-1"], [])


def test_duplicate_id_in_another_file_is_skipped_and_names_the_first(tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", jsonl(record("c-1"), record("c-2")))
    second = write(tmp_path / "b.jsonl", jsonl(record("c-3"), record("c-1")))

    result = load_inputs([first, second])

    assert ids(result) == ["c-1", "c-2", "c-3"]
    assert [str(problem) for problem in result.problems] == [
        f"{second}:2: duplicate conversation id c-1, first seen at {first}:1"
    ]
    assert result.conversations[0].source == str(first)


def test_duplicate_id_inside_a_json_list(tmp_path: Path) -> None:
    path = write(tmp_path / "batch.json", json.dumps([record("c-1"), record("c-1")]))

    result = load_file(path)

    assert ids(result) == ["c-1"]
    assert result.problems[0].reason == f"duplicate conversation id c-1, first seen at {path}[0]"


def test_non_utf8_file_is_one_problem_and_other_files_still_load(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", jsonl(record("c-1")))
    legacy = tmp_path / "b.txt"
    legacy.write_bytes("Agent: Grüß Gott\n".encode("latin-1"))  # neither UTF-8 nor Chinese: refused, not misread

    result = load_inputs([tmp_path])

    assert ids(result) == ["c-1"]
    assert [(problem.path, problem.line) for problem in result.problems] == [(str(legacy), 1)]
    assert result.problems[0].reason.startswith("turns[0].text: not UTF-8 text (byte 0xfc")


def test_unreadable_file_is_one_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "secret.jsonl", jsonl(record("c-1")))

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)  # chmod does not stop root, so refuse the read directly
    result = load_file(path)

    assert result.conversations == []
    assert [str(problem) for problem in result.problems] == [f"{path}: cannot read file: Permission denied"]


def test_empty_file_says_no_conversations_were_found(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.jsonl", "\n\n")

    assert [str(problem) for problem in load_file(path).problems] == [f"{path}: no conversations found"]


def test_load_problem_reads_as_path_line_reason() -> None:
    assert str(LoadProblem("a.jsonl", 3, "turns: empty")) == "a.jsonl:3: turns: empty"
    assert str(LoadProblem("a.json", None, "[2] turns: empty")) == "a.json: [2] turns: empty"


# --- the mapping API used by the HTTP service -----------------------------------------------------------


def test_conversation_from_mapping_names_the_bad_turn_field() -> None:
    turns = [{"speaker": "agent", "text": "hi"}] * 3 + [{"speaker": "customer"}]

    with pytest.raises(TranscriptError, match=r"turns\[3\]\.text: missing"):
        conversation_from_mapping({"id": "c-1", "turns": turns}, source="api", default_id="x")


def test_conversation_from_mapping_uses_default_id_and_keeps_source() -> None:
    conversation = conversation_from_mapping(record(None), source="api", default_id="req-1")

    assert (conversation.id, conversation.source) == ("req-1", "api")


# --- real data ------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not STAR_DEV.exists(), reason=f"STAR dev data not found at {STAR_DEV}")
def test_star_dialogues_keep_actions_as_events_at_their_input_positions(tmp_path: Path) -> None:
    with STAR_DEV.open(encoding="utf-8") as star:
        lines = list(islice(star, 50))
    path = write(tmp_path / "star_head.jsonl", "".join(lines))
    records = {number: json.loads(line) for number, line in enumerate(lines, start=1)}

    result = load_file(path)

    empty = [number for number, line in records.items() if not line["turns"]]
    assert [(p.line, p.reason) for p in result.problems] == [(number, "turns: empty") for number in empty]
    assert len(result.conversations) == 50 - len(empty)
    by_id = {line["id"]: line for line in records.values()}
    events = 0
    for conversation in result.conversations:
        raw_turns = by_id[conversation.id]["turns"]
        assert [turn.index for turn in conversation.turns] == list(range(len(raw_turns)))
        for turn, raw in zip(conversation.turns, raw_turns, strict=True):
            assert turn.text == raw["text"]
            assert (turn.role is Role.EVENT) == (raw["speaker"] == "action")
            assert turn.extra.get("action_label") == raw.get("action_label")
            events += turn.role is Role.EVENT
        assert conversation.metadata["source"] == by_id[conversation.id]["source"]
    assert events > 0
