"""Ids for WebVTT, SRT and text calls: from the file, a sidecar, the file name or the run, in that order."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from auditor.cli import app
from auditor.conversation import Conversation
from auditor.transcripts.file_ids import IdPattern
from auditor.transcripts.loaders import LoadResult, find_input_files, load_bytes, load_file, load_inputs
from auditor.transcripts.options import ReadOptions

VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Agent>Hello, thanks for calling.\n\n" + (
    "00:00:03.000 --> 00:00:04.000\n<v Customer>My internet is down.\n"
)
SRT = "1\n00:00:01,000 --> 00:00:02,000\nAgent: Hello, thanks for calling.\n\n" + (
    "2\n00:00:03,000 --> 00:00:04,000\nCustomer: My internet is down.\n"
)
TXT = "Agent: Hello, thanks for calling.\nCustomer: My internet is down.\n"
BODIES = {".vtt": VTT, ".srt": SRT, ".txt": TXT}


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def only(result: LoadResult) -> Conversation:
    assert result.problems == [], [str(problem) for problem in result.problems]
    assert len(result.conversations) == 1
    return result.conversations[0]


def sidecar(path: Path, **fields: object) -> Path:
    return write(path.with_name(path.stem + ".meta.json"), json.dumps(fields, ensure_ascii=False))


# --- from the file ----------------------------------------------------------------------------------------------


def test_vtt_note_lines_before_the_first_cue_give_the_ids(tmp_path: Path) -> None:
    text = VTT.replace(
        "WEBVTT\n\n",
        "WEBVTT\n\nNOTE agent_id: A-17\n\nNOTE\nconversation_id: C-900\nlang: zh-CN\nexported by the recorder\n\n",
    )
    conversation = only(load_file(write(tmp_path / "call.vtt", text)))

    assert (conversation.id, conversation.agent_id, conversation.lang) == ("C-900", "A-17", "zh")
    assert len(conversation.turns) == 2


def test_a_vtt_note_that_is_prose_gives_no_ids(tmp_path: Path) -> None:
    text = VTT.replace("WEBVTT\n\n", "WEBVTT\n\nNOTE exported from the call recorder\n\n")
    conversation = only(load_file(write(tmp_path / "call-3.vtt", text)))

    assert (conversation.id, conversation.agent_id) == ("call-3", None)


def test_a_bad_vtt_note_id_names_its_line(tmp_path: Path) -> None:
    text = VTT.replace("WEBVTT\n\n", "WEBVTT\n\nNOTE lang: klingon\n\n")
    result = load_file(write(tmp_path / "call.vtt", text))

    assert result.conversations == []
    assert (result.problems[0].line, result.problems[0].reason.startswith("NOTE lang: unsupported")) == (3, True)


def test_txt_header_takes_conversation_id_too(tmp_path: Path) -> None:
    path = write(tmp_path / "call.txt", "# conversation_id: C-5\n# agent_id: A-5\n" + TXT)

    conversation = only(load_file(path))

    assert (conversation.id, conversation.agent_id, conversation.metadata) == ("C-5", "A-5", {})


# --- from a sidecar ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".vtt", ".srt", ".txt"])
def test_a_sidecar_gives_ids_and_metadata_and_is_not_a_transcript(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / "calls" / f"call-17{suffix}", BODIES[suffix])
    fields = {"conversation_id": "C-17", "agent_id": "A-17", "started_at": "2026-01-05T10:00:00Z", "lang": "en"}
    sidecar(path, **fields, metadata={"queue": "billing"}, channel="phone")

    files, problems = find_input_files([tmp_path / "calls", tmp_path / "calls" / "call-17.meta.json"])
    result = load_inputs([tmp_path / "calls"])

    assert (files, problems) == ([path], [])
    conversation = only(result)
    assert (conversation.id, conversation.agent_id, conversation.started_at, conversation.lang) == (
        "C-17",
        "A-17",
        "2026-01-05T10:00:00Z",
        "en",
    )
    assert conversation.metadata == {"queue": "billing", "channel": "phone"}


def test_a_meta_json_without_a_call_beside_it_is_still_a_transcript(tmp_path: Path) -> None:
    path = write(tmp_path / "c.meta.json", "{}")

    assert find_input_files([tmp_path]) == ([path], [])


def test_a_bad_sidecar_skips_its_call_naming_the_sidecar(tmp_path: Path) -> None:
    path = write(tmp_path / "call.srt", SRT)
    sidecar(path, agent_id=["A-1"])

    result = load_file(path)

    assert result.conversations == []
    assert "sidecar call.meta.json: agent_id: must be a string, got array" in result.problems[0].reason
    write(path.with_name("call.meta.json"), "{not json")
    assert "sidecar call.meta.json: not valid JSON" in load_file(path).problems[0].reason


# --- from the file name, and the run ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".vtt", ".srt", ".txt"])
def test_a_file_name_pattern_gives_ids(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"A-9_call_4{suffix}", BODIES[suffix])
    options = ReadOptions(id_pattern=IdPattern("{agent_id}_{conversation_id}"))

    conversation = only(load_file(path, options=options))

    assert (conversation.id, conversation.agent_id) == ("call_4", "A-9")


def test_a_pattern_can_fill_metadata_and_ignore_parts() -> None:
    ids = IdPattern("{queue}-{_}-{agent_id}").ids("vip-20260105-A-1")

    assert ids is not None and (ids.agent_id, dict(ids.metadata)) == ("A-1", {"queue": "vip"})
    assert IdPattern("{agent_id}_{conversation_id}").ids("no-underscore") is None


@pytest.mark.parametrize("pattern", ["call", "{agent_id}-{agent_id}"])
def test_a_pattern_without_fields_or_with_a_field_twice_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="id pattern"):
        IdPattern(pattern)


def test_the_run_agent_fills_in_only_conversations_without_one(tmp_path: Path) -> None:
    plain = write(tmp_path / "a.srt", SRT)
    named = write(tmp_path / "b.txt", "# agent_id: A-2\n" + TXT)
    rows = write(tmp_path / "c.jsonl", json.dumps({"id": "c-1", "turns": [{"speaker": "agent", "text": "Hi"}]}))

    result = load_inputs([plain, named, rows], options=ReadOptions(agent_id="A-0"))

    assert [(c.id, c.agent_id) for c in result.conversations] == [("a", "A-0"), ("b", "A-2"), ("c-1", "A-0")]


def test_ids_apply_to_uploaded_bytes_without_a_sidecar() -> None:
    options = ReadOptions(id_pattern=IdPattern("{agent_id}_{conversation_id}"), agent_id="A-0")

    conversation = only(load_bytes(TXT.encode(), "A-3_c-9.txt", options=options))

    assert (conversation.id, conversation.agent_id) == ("c-9", "A-3")


# --- precedence ---------------------------------------------------------------------------------------------------


def test_the_file_wins_over_the_sidecar_which_wins_over_the_name_and_the_run(tmp_path: Path) -> None:
    options = ReadOptions(id_pattern=IdPattern("{agent_id}_{conversation_id}"), agent_id="A-run")
    in_file = write(tmp_path / "one" / "A-name_c-name.txt", "# agent_id: A-file\n" + TXT)
    sidecar(in_file, agent_id="A-side", conversation_id="c-side")
    in_sidecar = write(tmp_path / "two" / "A-name_c-name.vtt", VTT)
    sidecar(in_sidecar, agent_id="A-side")
    in_name = write(tmp_path / "three" / "A-name_c-name.srt", SRT)
    in_run = write(tmp_path / "four" / "plain.srt", SRT)

    got = [only(load_file(path, options=options)) for path in (in_file, in_sidecar, in_name, in_run)]

    assert [(c.id, c.agent_id) for c in got] == [
        ("c-side", "A-file"),
        ("c-name", "A-side"),
        ("c-name", "A-name"),
        ("plain", "A-run"),
    ]


# --- the command line ---------------------------------------------------------------------------------------------


def audit(*args: str) -> Result:
    return CliRunner().invoke(app, ["audit", *args, "--sop", "service-request", "--embedder", "hashing"])


def test_audit_options_give_subtitle_and_csv_calls_their_agents(tmp_path: Path) -> None:
    write(tmp_path / "in" / "A-9_call-1.vtt", VTT)
    write(tmp_path / "in" / "call-2.srt", SRT)
    write(tmp_path / "in" / "calls.csv", "编号,坐席工号,角色,话术\nc-3,A-3,坐席,您好\nc-3,A-3,客户,网断了\n")
    out = tmp_path / "out"

    options = ["--id-pattern", "{agent_id}_{conversation_id}", "--agent-id", "A-run"]
    options += ["--csv-columns", "conversation_id=编号, text=话术"]
    result = audit(str(tmp_path / "in"), "--out", str(out), *options)

    assert result.exit_code == 0, result.output
    with (out / "agents.csv").open(encoding="utf-8") as handle:
        agents = {row["agent_id"] for row in csv.DictReader(handle)}
    assert agents == {"A-9", "A-run", "A-3"}
    ids = {json.loads(line)["conversation_id"] for line in (out / "results.jsonl").read_text().splitlines()}
    assert ids == {"call-1", "call-2", "c-3"}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--csv-columns", "who=角色", "unknown column"), ("--id-pattern", "call", "has no {field}")],
)
def test_bad_reading_options_are_usage_errors(tmp_path: Path, option: str, value: str, message: str) -> None:
    path = write(tmp_path / "call.txt", TXT)
    result = audit(str(path), "--out", str(tmp_path / "o"), option, value)

    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
