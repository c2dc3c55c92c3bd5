"""Property tests: no transcript file crashes a loader, and bad lines, rows or items never cost the good ones."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.transcripts.loaders import LoadResult, load_bytes
from tests.fuzz.strategies import (
    FORMATS,
    chinese_sentences,
    contract_violations,
    fuzz_settings,
    good_records,
    render,
    stress_files,
    transcript_files,
    wild_records,
)

FUZZ = fuzz_settings(60)


def texts(result: LoadResult) -> dict[str, list[str]]:
    """What a user reads of each loaded conversation: its id and its turns' text."""
    return {conversation.id: [turn.text for turn in conversation.turns] for conversation in result.conversations}


def expected_texts(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {record["id"]: [turn["text"] for turn in record["turns"]] for record in records}


def numbered(records: list[dict[str, Any]], prefix: str = "good") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{index}"} | record for index, record in enumerate(records)]  # id first in JSON


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_generated_file_crashes_a_loader_and_every_problem_names_the_file(fmt: str) -> None:
    @FUZZ
    @given(transcript_files(fmt))
    def check(raw: bytes) -> None:
        result = load_bytes(raw, f"fuzz.{fmt}")
        assert contract_violations(result, raw, f"fuzz.{fmt}") == []

    check()


bad_jsonl_lines = st.one_of(
    wild_records().map(lambda record: json.dumps(record, ensure_ascii=False)),
    st.text(max_size=40),
    st.integers(min_value=1, max_value=5000).map(lambda depth: "[" * depth),
    st.sampled_from(['{"id": "x", "turns": [', "9" * 5000, '{"id": "\\ud800", "turns": []}', "\x00\x00", "null"]),
).filter(lambda line: "\n" not in line and "good-" not in line)


@FUZZ
@given(
    records=st.lists(good_records(), min_size=1, max_size=5).map(numbered),
    bad=st.lists(st.tuples(st.integers(min_value=0, max_value=5), bad_jsonl_lines), max_size=4),
)
def test_jsonl_good_lines_load_whatever_bad_lines_sit_between_them(
    records: list[dict[str, Any]], bad: list[tuple[int, str]]
) -> None:
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    for position, line in sorted(bad, reverse=True):
        lines.insert(min(position, len(lines)), line)
    bad_numbers = {number for number, line in enumerate(lines, start=1) if "good-" not in line and line.strip()}

    result = load_bytes(("\n".join(lines) + "\n").encode(), "calls.jsonl")

    assert {key: value for key, value in texts(result).items() if key.startswith("good-")} == expected_texts(records)
    assert {problem.line for problem in result.problems} <= bad_numbers


@FUZZ
@given(records=st.lists(good_records(), min_size=1, max_size=5).map(numbered), cut=st.integers(min_value=0))
def test_truncated_jsonl_keeps_every_complete_line(records: list[dict[str, Any]], cut: int) -> None:
    raw = render("jsonl", records).encode()
    cut %= len(raw) + 1
    complete = raw[:cut].count(b"\n")

    result = load_bytes(raw[:cut], "cut.jsonl")

    assert list(texts(result).items())[:complete] == list(expected_texts(records).items())[:complete]
    assert {(problem.line, problem.line or problem.reason) for problem in result.problems} <= {
        (complete + 1, complete + 1),
        (None, "no conversations found"),
    }


@FUZZ
@given(records=st.lists(good_records(), min_size=1, max_size=5).map(numbered), cut=st.integers(min_value=0))
def test_truncated_json_list_keeps_every_item_before_the_cut(records: list[dict[str, Any]], cut: int) -> None:
    raw = json.dumps(records, ensure_ascii=False).encode()
    cut %= len(raw) + 1
    item_ends = [
        len(json.dumps(records[: index + 1], ensure_ascii=False).encode()) - 1 for index in range(len(records))
    ]
    complete = sum(1 for end in item_ends if end <= cut)

    result = load_bytes(raw[:cut], "cut.json")

    assert list(texts(result).items()) == list(expected_texts(records).items())[: len(result.conversations)]
    assert len(result.conversations) >= complete
    if cut < len(raw):
        assert len(result.problems) == 1


@FUZZ
@given(
    records=st.lists(good_records(), min_size=2, max_size=5).map(numbered),
    bad_record=wild_records().filter(lambda record: "good-" not in json.dumps(record)),
    position=st.integers(min_value=0, max_value=5),
)
def test_json_list_bad_item_costs_only_itself(records: list[dict[str, Any]], bad_record: Any, position: int) -> None:
    items: list[Any] = list(records)
    items.insert(min(position, len(items)), bad_record)

    result = load_bytes(json.dumps(items, ensure_ascii=False).encode(), "batch.json")

    good = {key: value for key, value in texts(result).items() if key.startswith("good-")}
    assert good == expected_texts(records)


CSV_BAD_ROWS = [
    ('bad,agent,"this quote never closes', "quoted field"),
    ("bad,agent,hello,surplus,cells", "fields but the header has"),
    ("bad,,hello", "speaker: empty"),
    ("bad,agent,hi,soon", "start: must be a number of seconds"),
    ("bad,agent,caf\udce9", "not UTF-8 text (byte 0xe9"),
    (",agent,no conversation", "conversation_id: empty"),
]


@FUZZ
@given(
    records=st.lists(good_records(), min_size=1, max_size=4).map(numbered),
    bad=st.sampled_from(CSV_BAD_ROWS),
    position=st.integers(min_value=1),
)
def test_csv_bad_row_costs_only_its_conversation_and_names_its_line(
    records: list[dict[str, Any]], bad: tuple[str, str], position: int
) -> None:
    header = "conversation_id,speaker,text,start\r\n"
    rows = [
        csv_line([record["id"], turn["speaker"], turn["text"], turn["start"]])
        for record in records
        for turn in record["turns"]
    ]
    position = 1 + position % len(rows)  # before a good row: a quote left open on the last line swallows nothing
    row, reason = bad
    rows.insert(position - 1, row + "\r\n")
    raw = (header + "".join(rows)).encode("utf-8", "surrogateescape")

    result = load_bytes(raw, "export.csv")

    assert texts(result) == expected_texts(records)
    assert [problem.line for problem in result.problems] == [position + 1]
    assert reason in result.problems[0].reason


def csv_line(cells: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


@FUZZ
@given(
    records=st.lists(good_records(chinese_sentences()), min_size=1, max_size=3).map(numbered),
    fmt=st.sampled_from(FORMATS),
    encoding=st.sampled_from(["gb18030", "cp950", "big5hkscs"]),
)
def test_chinese_in_gbk_or_big5_is_decoded_exactly_or_refused_never_garbled(
    records: list[dict[str, Any]], fmt: str, encoding: str
) -> None:
    text = render(fmt, records)
    in_encoding = text.encode(encoding, errors="replace")
    expected = texts(load_bytes(in_encoding.decode(encoding).encode(), f"c.{fmt}"))

    result = load_bytes(in_encoding, f"c.{fmt}")

    assert texts(result) == expected or (result.problems and not result.conversations)


@FUZZ
@given(
    records=st.lists(good_records(), min_size=1, max_size=3).map(numbered),
    fmt=st.sampled_from(FORMATS),
    encoding=st.sampled_from(["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]),
)
def test_unicode_encodings_with_or_without_bom_load_like_utf8(
    records: list[dict[str, Any]], fmt: str, encoding: str
) -> None:
    text = render(fmt, records)

    assert texts(load_bytes(text.encode(encoding), f"c.{fmt}")) == texts(load_bytes(text.encode(), f"c.{fmt}"))


@FUZZ
@given(ids=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=8))
def test_duplicate_ids_keep_the_first_and_name_where_it_was(ids: list[str]) -> None:
    records = [{"id": key, "turns": [{"speaker": "agent", "text": f"line {n}"}]} for n, key in enumerate(ids, 1)]

    result = load_bytes(render("jsonl", records).encode(), "calls.jsonl")

    first_lines = {key: ids.index(key) + 1 for key in ids}
    assert texts(result) == {key: [f"line {line}"] for key, line in first_lines.items()}
    assert [(problem.line, problem.reason) for problem in result.problems] == [
        (n, f"duplicate conversation id {key}, first seen at calls.jsonl:{first_lines[key]}")
        for n, key in enumerate(ids, 1)
        if n != first_lines[key]
    ]


@pytest.mark.parametrize("case", stress_files(lines=20_000), ids=lambda case: case.name)
def test_stress_files_load_what_a_user_expects(case: Any) -> None:
    result = load_bytes(case.raw, case.source)

    assert case.expected(result), ([str(problem)[:200] for problem in result.problems[:3]], len(result.conversations))
    assert contract_violations(result, case.raw, case.source) == []


@FUZZ
@given(
    records=st.lists(good_records(), min_size=2, max_size=5).map(numbered),
    damaged=st.integers(min_value=0),
    damage=st.binary(min_size=1, max_size=20).filter(lambda junk: b"\n" not in junk),
    where=st.integers(min_value=0),
)
def test_bytes_damaged_inside_one_jsonl_line_cost_only_that_line(
    records: list[dict[str, Any]], damaged: int, damage: bytes, where: int
) -> None:
    lines = [json.dumps(record, ensure_ascii=False).encode() for record in records]
    damaged %= len(lines)
    start = lines[damaged].index(b'"turns"')  # damage the turns, not the id, so ids stay unique
    at = start + where % (len(lines[damaged]) - start + 1)
    lines[damaged] = lines[damaged][:at] + damage + lines[damaged][at:]

    result = load_bytes(b"\n".join(lines) + b"\n", "calls.jsonl")

    others = [record for index, record in enumerate(records) if index != damaged]
    assert {key: value for key, value in texts(result).items() if key != f"good-{damaged}"} == expected_texts(others)
    assert {problem.line for problem in result.problems} <= {damaged + 1}
