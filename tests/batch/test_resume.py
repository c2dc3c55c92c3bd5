"""Crash-safe, resumable audits: a killed `auditor audit` resumes with nothing lost and nothing audited twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.batch.resume import ResultsLog, ResumeError
from auditor.cli import app
from bench.throughput import resample_corpora
from tests.batch.helpers import CORPORA, batch_audit, read_lines
from tests.conftest import REPO

SOP = "general-inbound-call"
runner = CliRunner()


def _ids(path) -> list[str]:  # type: ignore[no-untyped-def]
    return [json.loads(line)["conversation_id"] for line in read_lines(path)]


def _children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc; zombies do not count)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.process
@pytest.mark.parametrize("workers", [["--workers", "1"], ["--workers", "2"]], ids=["one-process", "two-workers"])
def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_results(tmp_path, workers):
    corpus = resample_corpora(tmp_path / "calls.jsonl", 400)
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "auditor.cli", "audit", str(corpus), "--sop", SOP, "--out", str(out)]
    command += ["--embedder", "hashing", "--batch-size", "8", *workers]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if results.exists() and results.stat().st_size > 0 and len(read_lines(results)) >= 40:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the audit finished before it could be killed; generate a bigger corpus"
        children = _children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    if workers != ["--workers", "1"]:
        assert children, "the worker processes were running"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in children), "worker processes outlived the killed audit"
    written_before = len(read_lines(results))
    assert 40 <= written_before < 400, "killed mid-run"

    resumed = runner.invoke(
        app, ["audit", str(corpus), "--sop", SOP, "--out", str(out), "--embedder", "hashing", "--resume"]
    )
    assert resumed.exit_code == 0, resumed.output
    assert "already in results.jsonl" in resumed.output

    batch_audit([corpus], SOP, tmp_path / "whole")
    ids = _ids(results)
    assert len(ids) == len(set(ids)) == 400, "every conversation exactly once"
    assert read_lines(results) == read_lines(tmp_path / "whole" / "results.jsonl"), "same results as no crash"
    for name in ("agents.csv", "steps.csv", "agent_steps.csv"):
        assert (out / name).read_text() == (tmp_path / "whole" / name).read_text()


def test_a_torn_last_line_is_cut_and_its_conversations_audited_again(tmp_path):
    out = tmp_path / "out"
    inputs = [CORPORA / "en"]
    batch_audit(inputs, SOP, out)
    complete = read_lines(out / "results.jsonl")
    # a crash in the middle of a batch write: two whole lines kept, the third cut halfway
    torn = "\n".join(complete[:2]) + "\n" + complete[2][: len(complete[2]) // 2]
    (out / "results.jsonl").write_text(torn, encoding="utf-8")
    outcome = batch_audit(inputs, SOP, out, resume=True)
    assert (outcome.resumed, outcome.audited) == (2, len(complete) - 2)
    assert read_lines(out / "results.jsonl") == complete


def test_resume_skips_conversations_already_audited(tmp_path):
    out = tmp_path / "out"
    batch_audit([CORPORA / "en"], SOP, out)
    outcome = batch_audit([CORPORA / "en", CORPORA / "zh-Hans"], SOP, out, resume=True)
    english, chinese = 24, 20
    assert (outcome.resumed, outcome.audited) == (english, chinese)
    ids = _ids(out / "results.jsonl")
    assert len(ids) == len(set(ids)) == english + chinese


def test_without_resume_an_earlier_results_file_is_replaced(tmp_path):
    out = tmp_path / "out"
    batch_audit([CORPORA / "en"], SOP, out)
    outcome = batch_audit([CORPORA / "zh-Hans"], SOP, out)
    assert outcome.resumed == 0
    assert all(i.startswith("zhs-") for i in _ids(out / "results.jsonl"))


def test_resume_against_another_sop_is_a_usage_error_naming_both(tmp_path):
    out = tmp_path / "out"
    batch_audit([CORPORA / "en"], SOP, out)
    before = (out / "results.jsonl").read_bytes()
    result = runner.invoke(
        app,
        [
            "audit",
            str(CORPORA / "en"),
            "--sop",
            "complaint-handling",
            "--out",
            str(out),
            "--embedder",
            "hashing",
            "--resume",
        ],
    )
    assert result.exit_code == 2
    assert "general-inbound-call" in result.output and "complaint-handling" in result.output
    assert (out / "results.jsonl").read_bytes() == before, "nothing written"


def test_resume_with_other_redaction_is_refused_so_a_file_never_mixes_redacted_and_clear_results(tmp_path):
    out = tmp_path / "out"
    batch_audit([CORPORA / "en"], SOP, out)
    before = (out / "results.jsonl").read_bytes()
    options = ["--sop", SOP, "--out", str(out), "--embedder", "hashing", "--resume", "--no-redact"]
    result = runner.invoke(app, ["audit", str(CORPORA / "en"), *options])
    assert result.exit_code == 2, result.output
    held, this_run = " ".join(result.output.split()).split("this run")
    assert "redaction email,iban" in held and "redaction none" in this_run
    assert (out / "results.jsonl").read_bytes() == before, "nothing written"


def test_a_corrupt_line_in_the_middle_stops_the_resume(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"conversation_id": "a"}\nnot json\n{"conversation_id": "b"}\n', encoding="utf-8")
    with pytest.raises(ResumeError, match=":2: not a result line"):
        ResultsLog(path, resume=True)


def test_the_same_id_from_another_source_is_named_not_audited_twice(tmp_path):
    out = tmp_path / "out"
    original = CORPORA / "en" / "complaint-handling.jsonl"
    batch_audit([original], SOP, out)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(original.read_bytes())
    outcome = batch_audit([copy], SOP, out, resume=True)
    assert outcome.audited == 0 and outcome.resumed == 0
    assert len(outcome.problems) == 6 and "already holds it" in str(outcome.problems[0])
    assert len(read_lines(out / "results.jsonl")) == 6


def test_resuming_a_finished_audit_audits_nothing_and_keeps_the_results(tmp_path):
    out = tmp_path / "out"
    batch_audit([CORPORA], SOP, out)
    finished = read_lines(out / "results.jsonl")
    outcome = batch_audit([CORPORA], SOP, out, resume=True)
    assert (outcome.audited, outcome.resumed) == (0, len(finished))
    assert read_lines(out / "results.jsonl") == finished, "anomalies rescored to the same values"


def test_resume_does_not_audit_again_a_conversation_whose_id_was_stored_redacted(tmp_path):
    """An id holding a phone number is written as [PHONE]~digest; resuming must still find it, not audit it twice."""
    calls = tmp_path / "calls.jsonl"
    lines = (CORPORA / "en" / f"{SOP}.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    records = [json.loads(line) for line in lines]
    records[0]["id"] = "13812345678"
    calls.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")
    out = tmp_path / "out"
    command = ["audit", str(calls), "--sop", SOP, "--out", str(out), "--embedder", "hashing"]
    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    stored = _ids(out / "results.jsonl")
    assert "13812345678" not in stored and any(found.startswith("[PHONE]~") for found in stored)
    again = runner.invoke(app, [*command, "--resume"])
    assert again.exit_code == 0, again.output
    assert sorted(_ids(out / "results.jsonl")) == sorted(stored)
    assert "13812345678" not in (out / "results.jsonl").read_text(encoding="utf-8")
