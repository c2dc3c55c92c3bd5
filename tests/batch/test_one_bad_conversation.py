"""One conversation that cannot be audited (too large, or its audit raises) costs only itself (issue 17, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.batch.engines import LocalEngine, audit_batch, build_auditor
from auditor.sop.loading import resolve_sop
from auditor.transcripts.limits import SizeLimits
from auditor.transcripts.records import conversation_from_mapping
from tests.batch.helpers import HASHING, batch_audit, read_lines

SOP = "general-inbound-call"


def call(conversation_id: str, customer: str = "My parcel never arrived.") -> dict:
    return {
        "id": conversation_id,
        "agent_id": "a-1",
        "turns": [
            {"speaker": "agent", "text": "Thank you for calling, this is Sam. How can I help?"},
            {"speaker": "customer", "text": customer},
            {"speaker": "agent", "text": "I am sorry. Is there anything else? Goodbye."},
        ],
    }


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


@pytest.fixture
def raising_for(monkeypatch):
    """Make the auditor raise for the conversations with these ids (as a spaCy E088 or a bug would)."""

    def install(*bad_ids: str) -> None:
        original = LocalEngine.start.__func__

        def start(cls, sop, spec):  # type: ignore[no-untyped-def]
            engine, notes = original(cls, sop, spec)
            audit_many = engine.auditor.audit_many

            def failing(conversations):  # type: ignore[no-untyped-def]
                if any(conversation.id in bad_ids for conversation in conversations):
                    raise ValueError("[E088] Text of length 1160308 exceeds maximum of 1000000")
                return audit_many(conversations)

            engine.auditor.audit_many = failing
            return engine, notes

        monkeypatch.setattr(LocalEngine, "start", classmethod(start))

    return install


def test_a_conversation_whose_audit_raises_is_named_and_the_rest_of_its_batch_is_written(tmp_path, raising_for):
    raising_for("boom")
    inputs = write_jsonl(tmp_path / "calls.jsonl", [call("good-1"), call("boom"), call("good-2")])
    outcome = batch_audit([inputs], SOP, tmp_path / "out", batch_size=32)
    ids = [json.loads(line)["conversation_id"] for line in read_lines(tmp_path / "out" / "results.jsonl")]
    assert ids == ["good-1", "good-2"]
    assert outcome.audited == 2
    [problem] = outcome.problems
    assert str(problem).startswith(f"{inputs}:2: conversation boom could not be audited (ValueError: [E088]")
    assert (tmp_path / "out" / "report.html").exists()


def test_audit_batch_isolates_the_failing_conversation():
    auditor, _ = build_auditor(resolve_sop(SOP), HASHING)
    conversations = [conversation_from_mapping(call(i), source="x.jsonl", default_id=i) for i in ("a", "b", "c")]
    original = auditor.audit_many

    def failing(batch):  # type: ignore[no-untyped-def]
        if any(conversation.id == "b" for conversation in batch):
            raise RuntimeError("worker bug")
        return original(batch)

    auditor.audit_many = failing  # type: ignore[method-assign]
    audited = audit_batch(auditor, conversations)
    assert [record.problem is None for record in audited] == [True, False, True]
    assert audited[1].problem == "conversation b could not be audited (RuntimeError: worker bug); the others were"
    assert json.loads(audited[2].line)["conversation_id"] == "c"


def test_a_conversation_over_the_size_limits_is_refused_with_its_line_and_the_option(tmp_path):
    records = [call("good-1"), call("too-long", "x " * 600), call("good-2")]
    inputs = write_jsonl(tmp_path / "calls.jsonl", records)
    limits = SizeLimits(max_turn_chars=1_000)
    outcome = batch_audit([inputs], SOP, tmp_path / "out", limits=limits)
    ids = [json.loads(line)["conversation_id"] for line in read_lines(tmp_path / "out" / "results.jsonl")]
    assert ids == ["good-1", "good-2"]
    assert [str(problem) for problem in outcome.problems] == [
        f"{inputs}:2: turns[1].text: 1,200 characters, more than the 1,000 a turn may hold (--max-turn-chars); "
        "conversation too-long not audited"
    ]


def test_turn_and_conversation_limits_name_the_field():
    long_call = conversation_from_mapping(call("c", "y" * 50), source="x", default_id="c")
    assert SizeLimits(max_turns=2).problem(long_call) == (
        "turns: 3 turns, more than the 2 allowed (--max-turns); conversation c not audited"
    )
    assert "more than the 100 a conversation may hold (--max-conversation-chars)" in str(
        SizeLimits(max_conversation_chars=100).problem(long_call)
    )
    assert SizeLimits().problem(long_call) is None


def test_resume_refuses_the_over_long_conversation_again_and_keeps_the_audited_ones(tmp_path):
    inputs = write_jsonl(tmp_path / "calls.jsonl", [call("good-1"), call("too-long", "x " * 600), call("good-2")])
    limits = SizeLimits(max_turn_chars=1_000)
    batch_audit([inputs], SOP, tmp_path / "out", limits=limits)
    again = batch_audit([inputs], SOP, tmp_path / "out", limits=limits, resume=True)
    assert (again.audited, again.resumed) == (0, 2)
    assert [problem.line for problem in again.problems] == [2]
    assert len(read_lines(tmp_path / "out" / "results.jsonl")) == 2


def test_a_very_long_turn_is_audited_whole_with_a_raised_limit(tmp_path):
    """Over spaCy's own 1,000,000 characters (its E088 stopped the batch): audited, evidence the whole turn."""
    filler = "The parcel was due on Monday and it is still not here. " * 9_000
    text = f"{filler}Could you confirm your date of birth for me? {filler}"
    records = [call("good-1"), call("long", text)]
    records[1]["turns"][1]["speaker"] = "agent"
    inputs = write_jsonl(tmp_path / "calls.jsonl", records)
    outcome = batch_audit([inputs], SOP, tmp_path / "out", limits=SizeLimits(max_turn_chars=2_000_000))
    assert outcome.problems == [] and outcome.audited == 2
    result = json.loads(read_lines(tmp_path / "out" / "results.jsonl")[1])
    evidence = {
        step["step_id"]: item for step in result["steps"] for item in step["evidence"] if item["turn_index"] == 1
    }
    assert "verify_identity" in evidence, "the keyword half a million characters in is matched"
    assert all(len(item["text"]) == len(text) for item in evidence.values()), "evidence is the whole turn, never cut"


def test_a_batch_ends_early_once_it_holds_enough_text(tmp_path, monkeypatch):
    """Memory per batch is bounded by text, not only by --batch-size: long conversations go in smaller batches."""
    from auditor.batch import runner

    monkeypatch.setattr(runner, "BATCH_CHARS", 300)
    sizes: list[int] = []
    original = LocalEngine.audit

    def audit(self, batches):  # type: ignore[no-untyped-def]
        for batch, audited in original(self, batches):
            sizes.append(len(batch))
            yield batch, audited

    monkeypatch.setattr(LocalEngine, "audit", audit)
    records = [call(f"short-{i}") for i in range(3)] + [call("long", "x " * 200)] + [call("after")]
    inputs = write_jsonl(tmp_path / "calls.jsonl", records)
    outcome = batch_audit([inputs], SOP, tmp_path / "out", batch_size=32)
    assert outcome.audited == 5
    assert sizes == [3, 1, 1]
    ids = [json.loads(line)["conversation_id"] for line in read_lines(tmp_path / "out" / "results.jsonl")]
    assert ids == ["short-0", "short-1", "short-2", "long", "after"]


def test_the_report_shows_a_very_long_turn_cut_with_a_note_and_the_audit_goes_on(tmp_path):
    speech = "I have been waiting for my parcel for three weeks and nobody calls me back. " * 1_300  # ~100,000 chars
    source = write_jsonl(tmp_path / "calls.jsonl", [call("long", customer=speech), call("short")])
    out = tmp_path / "out"
    outcome = batch_audit([source], SOP, out)
    assert outcome.audited == 2 and not outcome.problems
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "more characters not shown in this report" in report
    assert speech not in report and len(report) < len(speech) + 200_000
    written = sorted(json.loads(line)["conversation_id"] for line in read_lines(out / "results.jsonl"))
    assert written == ["long", "short"]
