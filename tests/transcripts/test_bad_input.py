"""Bad input never crashes a load and never costs the good conversations beside it (issue 7, item 2)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from auditor.transcripts.loaders import LoadResult, load_file, load_inputs

HELLO = [
    {"speaker": "客服", "text": "您好，请问有什么可以帮您？"},
    {"speaker": "客户", "text": "我的快递三天了还没到。"},
]


def line(conversation_id: str, turns: list[dict[str, Any]] | None = None, **fields: Any) -> str:
    record = {"id": conversation_id, "turns": HELLO if turns is None else turns, **fields}
    return json.dumps(record, ensure_ascii=False) + "\n"


def texts(result: LoadResult) -> dict[str, list[str]]:
    return {conversation.id: [turn.text for turn in conversation.turns] for conversation in result.conversations}


def problems(result: LoadResult) -> list[str]:
    return [str(problem) for problem in result.problems]


# --- encodings ------------------------------------------------------------------------------------------

CHINESE_TXT = "# id: c-1\n客服：您好，这里是售后服务中心，请问有什么可以帮您？\n客户：我上周买的电饭煲坏了，想退货。\n"
TRADITIONAL_TXT = (
    "# id: c-1\n客服：您好，這裡是售後服務中心，請問有什麼可以幫您？\n客戶：我上週買的電飯煲壞了，想退貨。\n"
)


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("gb18030", CHINESE_TXT),  # Notepad "ANSI" on simplified-Chinese Windows
        ("cp950", TRADITIONAL_TXT),  # Big5 on traditional-Chinese Windows
        ("utf-16", CHINESE_TXT),  # with a BOM, as Notepad's "Unicode"
        ("utf-16-le", CHINESE_TXT),  # without one
        ("utf-16-be", CHINESE_TXT),
        ("utf-32", CHINESE_TXT),
        ("utf-8-sig", CHINESE_TXT),
    ],
)
def test_chinese_transcript_in_a_legacy_or_utf16_encoding_loads_as_written(
    tmp_path: Path, encoding: str, text: str
) -> None:
    path = tmp_path / "call.txt"
    path.write_bytes(text.encode(encoding))

    result = load_file(path)

    assert problems(result) == []
    assert texts(result)["c-1"] == [part.split("：", 1)[1] for part in text.splitlines()[1:]]


def test_excel_utf16_csv_with_bom_loads(tmp_path: Path) -> None:
    rows = 'conversation_id,speaker,text\r\nc-1,agent,您好\r\nc-1,customer,"退款, 谢谢"\r\n'
    path = tmp_path / "export.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + rows.encode("utf-16-le"))

    assert texts(load_file(path)) == {"c-1": ["您好", "退款, 谢谢"]}


def test_latin1_text_is_refused_not_misread_as_chinese(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Agent: Grüß Gott, Señor Muñoz.\nCustomer: Très bien, merci.\n".encode("latin-1"))

    result = load_file(path)

    assert result.conversations == []
    assert problems(result) == [
        f"{path}:1: turns[0].text: not UTF-8 text (byte 0xfc at character 3) (conversation legacy skipped)"
    ]


def test_one_gbk_line_in_a_utf8_jsonl_costs_only_that_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(line("c-1").encode() + line("c-2").encode("gb18030") + line("c-3").encode())

    result = load_file(path)

    assert list(texts(result)) == ["c-1", "c-3"]
    assert [(problem.line, problem.reason.split(" (")[0]) for problem in result.problems] == [(2, "not UTF-8 text")]


def test_a_byte_that_is_not_utf8_in_a_json_list_costs_only_its_item(tmp_path: Path) -> None:
    items = [json.loads(line(f"c-{index}")) for index in range(3)]
    items[1]["turns"][1]["text"] = "caf@"
    path = tmp_path / "batch.json"
    path.write_bytes(json.dumps(items, ensure_ascii=False).encode().replace(b"caf@", b"caf\xe9"))

    result = load_file(path)

    assert list(texts(result)) == ["c-0", "c-2"]
    assert problems(result) == [f"{path}: [1] turns[1].text: not UTF-8 text (byte 0xe9 at character 4)"]


def test_truncated_utf8_file_loses_only_the_cut_character(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt"
    path.write_bytes("客服：您好\n客户：谢谢".encode()[:-1])

    assert texts(load_file(path)) == {"cut": ["您好", "谢"]}


def test_binary_file_is_one_problem_and_the_other_files_still_load(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(line("c-1"), encoding="utf-8")
    (tmp_path / "b.jsonl").write_bytes(bytes.fromhex("1f8b08000000000000ff") + bytes(range(256)) * 40)

    result = load_inputs([tmp_path])

    assert list(texts(result)) == ["c-1"]
    assert len(result.problems) == 1
    assert result.problems[0].reason.startswith("binary data, not a text file")


# --- JSON and JSON Lines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("[" * 100_000, "invalid JSON: nested more than about"),
        ('{"id": "x", "n": ' + "9" * 6000 + "}", "invalid JSON: a number has more than 4300 digits"),
        (line("x", [{"speaker": "agent", "text": "hi", "start": 10**400}]).strip(), "turns[0].start: must be a finite"),
        (json.dumps({"turns": [{"speaker": "agent", "text": "\ud800"}]}), "turns[0].text: unpaired surrogate U+D800"),
        (line("x", tags=json.loads("[" * 100 + "]" * 100)).strip(), "tags[0][0][0]"),
        (line("x", []).strip(), "turns: empty"),
    ],
    ids=["100,000-deep", "6,000-digit number", "start 1e400", "lone surrogate", "100-deep field", "no turns"],
)
def test_hostile_jsonl_line_is_one_problem_naming_the_line_and_field(tmp_path: Path, bad: str, reason: str) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text(line("c-1") + bad + "\n" + line("c-3"), encoding="utf-8")

    result = load_file(path)

    assert list(texts(result)) == ["c-1", "c-3"]
    assert [problem.line for problem in result.problems] == [2]
    assert reason in result.problems[0].reason
    assert len(result.problems[0].reason) < 300


def test_jsonl_files_joined_with_their_byte_order_marks_load(tmp_path: Path) -> None:
    path = tmp_path / "joined.jsonl"
    path.write_bytes(line("c-1").encode("utf-8-sig") + line("c-2").encode("utf-8-sig"))

    assert list(texts(load_file(path))) == ["c-1", "c-2"]


def test_json_list_cut_off_keeps_the_items_before_the_cut(tmp_path: Path) -> None:
    document = json.dumps([json.loads(line(f"c-{index}")) for index in range(4)], ensure_ascii=False, indent=2)
    path = tmp_path / "batch.json"
    path.write_text(document[: document.index('"c-2"') + 20], encoding="utf-8")

    result = load_file(path)

    assert list(texts(result)) == ["c-0", "c-1"]
    assert len(result.problems) == 1
    assert result.problems[0].line == document[: document.index('"c-2"') + 20].count("\n") + 1
    assert result.problems[0].reason.endswith("the 2 item(s) before it were loaded, the rest of the file was skipped")


def test_ten_megabyte_turn_loads_in_every_format(tmp_path: Path) -> None:
    big = "好" * 3_500_000  # 10.5 MB of UTF-8
    files = {
        "a.jsonl": line("a", [{"speaker": "agent", "text": big}]),
        "b.csv": f"conversation_id,speaker,text\nb,agent,{big}\n",
        "c.txt": f"Agent: {big}\n",
        "d.srt": f"1\n00:00:00,000 --> 00:00:01,000\nAgent: {big}\n",
        "e.vtt": f"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Agent>{big}\n",
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")

    result = load_inputs([tmp_path])

    assert problems(result) == []
    assert {conversation_id: len(turns[0]) for conversation_id, turns in texts(result).items()} == dict.fromkeys(
        ["a", "b", "c", "d", "e"], len(big)
    )


# --- CSV ------------------------------------------------------------------------------------------------


def test_csv_quote_left_open_swallows_nothing_the_lines_after_are_read_again(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "conversation_id,speaker,text\n"
        "c-1,agent,hi\n"
        'c-2,agent,"oops, never closed\n'
        "c-3,agent,hello\n"
        'c-3,customer,"a ""quoted"" word, and a comma"\n'
        "c-2,customer,late reply\n",
        encoding="utf-8",
    )

    result = load_file(path)

    assert texts(result) == {"c-1": ["hi"], "c-3": ["hello", 'a "quoted" word, and a comma']}
    assert [problem.line for problem in result.problems] == [3]
    assert result.problems[0].reason.startswith("a quoted field opened on this line does not close where it should")
    assert "(conversation c-2 skipped)" in result.problems[0].reason


def test_csv_nul_bytes_are_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"conversation_id,speaker,text\nc-1,agent,he\x00llo\nc-1,customer,\x00\n")

    assert texts(load_file(path)) == {"c-1": ["he\x00llo", "\x00"]}


def test_csv_header_name_that_is_not_utf8_only_loses_its_column(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"conversation_id,speaker,text,not\xff_utf8,channel\nc-1,agent,hello,x,phone\n")

    result = load_file(path)

    assert texts(result) == {"c-1": ["hello"]}
    assert result.conversations[0].turns[0].extra == {"channel": "phone"}
    assert problems(result) == [
        f"{path}:1: column 4 name: not UTF-8 text (byte 0xff at character 4); the column is ignored"
    ]


def test_problem_messages_stay_short_whatever_the_bad_value(tmp_path: Path) -> None:
    huge_id = "9" * 5_000
    path = tmp_path / "export.csv"
    path.write_text(f"conversation_id,speaker,text,start\n{huge_id},agent,hi,{'x' * 1_000_000}\n", encoding="utf-8")

    result = load_file(path)

    assert result.conversations == []
    assert len(result.problems[0].reason) < 300
    assert result.problems[0].reason.startswith("start: must be a number of seconds, got 'xxxx")


# --- subtitles and plain text ---------------------------------------------------------------------------


def test_subtitles_with_only_empty_cues_are_a_problem_not_an_empty_conversation(tmp_path: Path) -> None:
    path = tmp_path / "empty.vtt"
    path.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n\n00:00:03.000 --> 00:00:04.000\n\n", encoding="utf-8")

    result = load_file(path)

    assert result.conversations == []
    assert len(result.problems) == 1


@pytest.mark.parametrize(
    ("name", "junk"),
    [
        (
            "a.vtt",
            "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nAgent: hi\n\n" + "9" * 5000 + ":00:00.000 --> 00:00:01.000\n",
        ),
        ("b.srt", "1\n00:00:00,000 --> 00:00:01,000\nAgent: hi\n\n2\n" + "9" * 5000 + ":00:00,000 --> x\n"),
        ("c.srt", "1\n00:00:00,000 --> 00:00:01,000\nAgent: hi\n\n-->\n\n\x00\n"),
    ],
)
def test_subtitle_junk_that_is_no_cue_is_ignored_and_the_good_cue_loads(tmp_path: Path, name: str, junk: str) -> None:
    path = tmp_path / name
    path.write_text(junk, encoding="utf-8")

    result = load_file(path)

    assert (texts(result), problems(result)) == ({name[0]: ["hi"]}, [])


def test_plain_text_ten_megabyte_line_without_a_colon_continues_the_turn(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("Agent: hello\n" + "x" + " " * 10_000_000 + "y\n", encoding="utf-8")

    (conversation,) = load_file(path).conversations

    assert conversation.turns[0].text.startswith("hello\nx") and conversation.turns[0].text.endswith("y")
