"""The streaming reader of `auditor audit` reads what load_inputs reads: other encodings, hostile lines."""

from __future__ import annotations

import json

import pytest

from auditor.batch.inputs import InputStream
from auditor.conversation import Conversation

CALL = {
    "id": "c1",
    "turns": [
        {"speaker": "客服", "text": "您好，请问有什么可以帮您？"},
        {"speaker": "客户", "text": "我的订单还没到。"},
    ],
}


@pytest.mark.parametrize("encoding", ["utf-16", "gb18030", "utf-8-sig"])
def test_a_jsonl_file_in_another_encoding_is_read_like_load_inputs(tmp_path, encoding):
    path = tmp_path / "calls.jsonl"
    path.write_bytes((json.dumps(CALL, ensure_ascii=False) + "\n").encode(encoding))
    items = list(InputStream([path]))
    assert [type(item) for item in items] == [Conversation]
    assert items[0].turns[1].text == "我的订单还没到。"


def test_a_deeply_nested_line_is_one_problem_and_the_next_line_is_read(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text('{"id": "x", "turns": ' + "[" * 100_000 + "]" * 100_000 + "}\n" + json.dumps(CALL) + "\n")
    problem, conversation = list(InputStream([path]))
    assert str(problem).startswith(f"{path}:1: invalid JSON: nested")
    assert conversation.id == "c1"
