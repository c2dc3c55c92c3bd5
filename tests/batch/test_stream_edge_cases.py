"""The streaming reader of `auditor audit` reads what the whole-file loader reads (issue 17, item 14)."""

from __future__ import annotations

import json
import os
import random

from auditor.batch.inputs import InputStream
from auditor.transcripts.loaders import load_inputs
from auditor.transcripts.problems import LoadProblem


def line(conversation_id: str, text: str) -> str:
    turns = [{"speaker": "agent", "text": text}, {"speaker": "customer", "text": "ok"}]
    return json.dumps({"id": conversation_id, "turns": turns}, ensure_ascii=False)


def streamed(path):  # type: ignore[no-untyped-def]
    items = list(InputStream([path]))
    return [i for i in items if not isinstance(i, LoadProblem)], [str(i) for i in items if isinstance(i, LoadProblem)]


def test_utf16_jsonl_without_a_bom_is_read_like_the_whole_file_loader(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes("".join(line(f"c{i}", "Hello, thanks for calling") + "\n" for i in range(3)).encode("utf-16-le"))
    conversations, problems = streamed(path)
    assert problems == []
    assert [c.id for c in conversations] == ["c0", "c1", "c2"] == [c.id for c in load_inputs([path]).conversations]
    assert conversations[0].turns[0].text == "Hello, thanks for calling"


def test_gbk_lines_after_the_first_64_kib_of_ascii_are_read_as_gbk(tmp_path):
    path = tmp_path / "calls.jsonl"
    english = [line(f"en-{i}", "Hello, thanks for calling, how can I help you today? " * 3) for i in range(600)]
    chinese = [line(f"zh-{i}", "您好，请问有什么可以帮您？我们会尽快处理您的问题。") for i in range(5)]
    path.write_bytes(("\n".join(english + chinese) + "\n").encode("gbk"))
    assert path.stat().st_size > 65_536 + 5_000, "the Chinese lines start after the sniffed head"
    conversations, problems = streamed(path)
    assert problems == []
    assert len(conversations) == 605
    assert conversations[-1].turns[0].text == "您好，请问有什么可以帮您？我们会尽快处理您的问题。"
    assert conversations[-1].line == 605


def test_a_gbk_line_in_a_utf8_file_is_still_one_bad_line(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        (line("a", "您好，欢迎致电，请问有什么可以帮您？" * 3) + "\n").encode("utf-8")
        + (line("b", "您好，请问有什么可以帮您") + "\n").encode("gbk")
        + (line("c", "谢谢您的来电，祝您生活愉快，再见。" * 3) + "\n").encode("utf-8")
    )
    conversations, problems = streamed(path)
    assert [c.id for c in conversations] == ["a", "c"]
    assert len(problems) == 1 and problems[0].startswith(f"{path}:2: not UTF-8 text")


def test_a_binary_file_named_jsonl_is_one_problem_not_one_per_line(tmp_path):
    path = tmp_path / "junk.jsonl"
    rng = random.Random(7)
    path.write_bytes(bytes(rng.randrange(256) for _ in range(20_000)) + b"\n\0" * 70)
    conversations, problems = streamed(path)
    assert conversations == []
    assert len(problems) == 1 and "binary data, not a text file" in problems[0], problems[:3]


def test_a_large_binary_file_is_refused_from_its_head(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(os.urandom(200_000).replace(b"\n", b"\0") + b"\n" * 3)
    _, problems = streamed(path)
    assert len(problems) == 1


def test_a_junk_first_line_that_starts_like_a_utf16_bom_costs_only_itself(tmp_path):
    """Found by the fuzzer: a broken first line starting with FF FE made both readers take the file for UTF-16 and
    lose every good conversation after it."""
    path = tmp_path / "calls.jsonl"
    good = "".join(line(f"c{i}", "Hello, thanks for calling") + "\n" for i in range(3))
    path.write_bytes(b"\xff\xfe\x15\xe0\n" + good.encode("utf-8") + b"\x00\x00\n")
    conversations, problems = streamed(path)
    assert [c.id for c in conversations] == ["c0", "c1", "c2"]
    assert [c.id for c in load_inputs([path]).conversations] == ["c0", "c1", "c2"]
    assert problems[0].startswith(f"{path}:1: not UTF-8 text (byte 0xff")


def test_a_real_utf16_file_with_a_bom_is_still_read(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes("".join(line(f"c{i}", "您好上午") + "\n" for i in range(3)).encode("utf-16"))
    conversations, problems = streamed(path)
    assert problems == [] and [c.turns[0].text for c in conversations] == ["您好上午"] * 3
