"""Streaming the inputs gives what loading them all gives: same conversations, same order, same problems."""

from __future__ import annotations

import json

from auditor.batch.inputs import InputStream
from auditor.transcripts.loaders import load_inputs
from auditor.transcripts.problems import LoadProblem
from tests.batch.helpers import CORPORA

GOOD = (CORPORA / "en" / "complaint-handling.jsonl").read_text(encoding="utf-8").splitlines()


def _split(stream: InputStream) -> tuple[list[str], list[str]]:
    items = list(stream)
    ids = [item.id for item in items if not isinstance(item, LoadProblem)]
    problems = [str(item) for item in items if isinstance(item, LoadProblem)]
    return ids, problems


def test_mixed_inputs_stream_like_load_inputs(tmp_path):
    folder = tmp_path / "calls"
    folder.mkdir()
    (folder / "a.jsonl").write_text(GOOD[0] + "\n\n{not json\n[1, 2]\n" + GOOD[1] + "\n", encoding="utf-8")
    (folder / "b.jsonl").write_text(GOOD[1] + "\n" + GOOD[2] + "\n", encoding="utf-8")  # GOOD[1] again: duplicate
    record = json.loads(GOOD[3])
    (folder / "c.json").write_text(json.dumps([record, {"id": "x"}, json.loads(GOOD[0])]), encoding="utf-8")
    (folder / "empty.jsonl").write_text("\n", encoding="utf-8")
    (folder / "notes.txt").write_text("Agent: Hello, thanks for calling.\nCustomer: Hi.\n", encoding="utf-8")
    inputs = [folder, tmp_path / "missing.jsonl"]

    loaded = load_inputs(inputs)
    ids, problems = _split(InputStream(inputs))
    assert ids == [c.id for c in loaded.conversations]
    assert problems == [str(p) for p in loaded.problems]
    assert any("duplicate conversation id" in p and "a.jsonl:5" in p for p in problems), problems


def test_a_line_that_is_not_utf8_is_one_bad_line_and_the_rest_are_audited(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes(GOOD[0].encode() + b"\n" + b'{"id": "\xff"}\n' + GOOD[1].encode() + b"\n")
    ids, problems = _split(InputStream([path]))
    assert ids == [json.loads(GOOD[0])["id"], json.loads(GOOD[1])["id"]]
    assert problems == [f"{path}:2: not UTF-8 text (byte 0xff at offset {len(GOOD[0]) + 1 + 8})"]


def test_the_estimate_counts_lines_then_follows_the_other_files(tmp_path):
    (tmp_path / "a.jsonl").write_text("\n".join(GOOD[:4]) + "\n\n", encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps([json.loads(line) for line in GOOD[4:6]]), encoding="utf-8")
    stream = InputStream([tmp_path])
    assert stream.estimated_total == 4 + 1
    assert len(list(stream)) == 6 and stream.estimated_total == 6


def test_seen_ids_remember_every_place_across_frozen_blocks(monkeypatch):
    from auditor.batch.inputs import SeenIds

    monkeypatch.setattr(SeenIds, "FREEZE_AT", 100)
    seen = SeenIds()
    for number in range(1, 1001):
        seen.add(f"call-{number}", (3 << 32) | number)
        if number % 250 == 0:
            seen.add(f"from-a-json-file-{number}", f"calls.json:item {number}")
    assert 1 <= len(seen._blocks) <= SeenIds.MAX_BLOCKS and len(seen) == 1004, "ids placed by lines moved into blocks"
    assert all(seen.get(f"call-{number}") == (3 << 32) | number for number in range(1, 1001))
    assert seen.get("from-a-json-file-500") == "calls.json:item 500"
    assert seen.get("call-1001") is None and seen.get("never") is None
    assert seen.get("cäll-\ud800") is None  # ids are any text, lone surrogates included


def test_a_duplicate_id_is_named_after_its_first_place_was_frozen(tmp_path, monkeypatch):
    from auditor.batch.inputs import InputStream, SeenIds

    monkeypatch.setattr(SeenIds, "FREEZE_AT", 8)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    turns = [{"speaker": "agent", "text": "Hello."}, {"speaker": "customer", "text": "Hi."}]
    first.write_text("".join(json.dumps({"id": f"c{n}", "turns": turns}) + "\n" for n in range(30)), encoding="utf-8")
    second.write_text(json.dumps({"id": "c3", "turns": turns}) + "\n", encoding="utf-8")
    items = list(InputStream([first, second]))
    problems = [item for item in items if isinstance(item, LoadProblem)]
    assert len(items) == 31 and len(problems) == 1
    assert f"duplicate conversation id c3, first seen at {first}:4" in problems[0].reason
