"""`auditor audit` as a QA lead runs it: files written, tables printed, bad inputs named, exit codes per DESIGN.md."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from tests.conftest import REPO

runner = CliRunner()
CORPUS = REPO / "corpora" / "en" / "general-inbound-call.jsonl"


def audit(*args: str):
    return runner.invoke(app, ["audit", *args, "--embedder", "hashing"])


def test_audit_writes_the_four_files_and_prints_both_tables(tmp_path):
    result = audit(str(CORPUS), "--sop", "general-inbound-call", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} >= {
        "results.jsonl",
        "agents.csv",
        "steps.csv",
        "agent_steps.csv",
        "report.html",
    }
    assert "Compliance per agent" in result.output and "Compliance per step" in result.output
    lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == sum(1 for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip())
    first = json.loads(lines[0])
    assert {
        "conversation_id",
        "agent_id",
        "sop_id",
        "sop_version",
        "score",
        "passed",
        "steps",
        "flags",
        "models",
    } <= set(first)
    assert first["metadata"]["scenario"], "unknown input fields pass through to metadata"
    with (tmp_path / "steps.csv").open(encoding="utf-8") as handle:
        steps = [row["step_id"] for row in csv.DictReader(handle)]
    assert steps[0] == "greet_with_name" and "verify_identity" in steps
    with (tmp_path / "agents.csv").open(encoding="utf-8") as handle:
        agents = {row["agent_id"] for row in csv.DictReader(handle)}
    assert {"a-lena", "a-marco"} <= agents


def test_bad_input_is_named_and_the_good_ones_are_still_audited(tmp_path):
    bad = tmp_path / "bad.jsonl"
    good_line = CORPUS.read_text(encoding="utf-8").splitlines()[0]
    bad.write_text(good_line + "\n{not json\n", encoding="utf-8")
    result = audit(str(bad), "--sop", "general-inbound-call", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert f"{bad}:2" in result.output
    assert len((tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()) == 1


def test_missing_input_path_is_an_input_problem(tmp_path):
    result = audit(str(tmp_path / "nope.jsonl"), "--sop", "general-inbound-call", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "nope.jsonl" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--sop", "no-such-sop"],
        [],  # --sop is required
    ],
)
def test_usage_errors_exit_2(tmp_path, args):
    result = audit(str(CORPUS), *args, "--out", str(tmp_path))
    assert result.exit_code == 2


def test_invalid_sop_file_is_a_usage_error_listing_its_problems(tmp_path):
    sop = tmp_path / "sop.yaml"
    sop.write_text("id: x\nname: X\nsteps:\n  - {id: a, name: A, before: [zz]}\n", encoding="utf-8")
    result = audit(str(CORPUS), "--sop", str(sop), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "step 'a'" in result.output and "'before'" in result.output


def test_sops_lists_the_built_in_sops():
    result = runner.invoke(app, ["sops"])
    assert result.exit_code == 0
    assert "complaint-handling" in result.output and "general-inbound-call" in result.output


def test_check_sop_reports_each_bad_file(tmp_path):
    good = REPO / "auditor" / "rules" / "complaint-handling.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: X\nsteps:\n  - {id: a, name: A, colour: red}\n", encoding="utf-8")
    result = runner.invoke(app, ["check-sop", str(good), str(bad)])
    assert result.exit_code == 1
    assert "ok" in result.output and "colour" in result.output


def test_report_html_shows_failing_conversations_with_their_transcript(tmp_path):
    audit(str(CORPUS), "--sop", "general-inbound-call", "--out", str(tmp_path))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Compliance per agent" in html and "en-gi-001" in html
    assert "Thank you for calling Northwind Telecom" in html


def test_every_result_carries_an_anomaly_score_with_reasons_when_flagged(tmp_path):
    result = audit(str(CORPUS), "--sop", "general-inbound-call", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(0.0 <= row["anomaly"]["score"] <= 1.0 for row in rows)
    assert all(row["anomaly"]["reasons"] for row in rows if row["anomaly"]["flagged"])
    assert all(("anomalous" in row["flags"]) == row["anomaly"]["flagged"] for row in rows)
    assert "anomaly" in rows[0]["models"]


def test_a_large_audit_is_its_own_anomaly_baseline(tmp_path):
    corpora = REPO / "corpora"
    result = audit(str(corpora), "--sop", "general-inbound-call", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 50
    assert "this audit's" in rows[0]["models"]["anomaly"]
    flagged = sum(row["anomaly"]["flagged"] for row in rows)
    assert 0 < flagged <= len(rows) // 5, "unusual means unusual among these calls: a few, not all"


def test_a_large_audit_never_loads_the_shipped_baseline_and_a_small_one_survives_it_missing(tmp_path, monkeypatch):
    import auditor.anomaly.detector as detector
    from auditor.model_files import ModelFileError

    def unusable(*_args, **_kwargs):
        raise ModelFileError("auditor/models/anomaly: refusing to load untrusted types ['evil.Type']")

    monkeypatch.setattr(detector, "load_default_detector", unusable)
    large = audit(str(REPO / "corpora"), "--sop", "general-inbound-call", "--out", str(tmp_path / "large"))
    assert large.exit_code == 0, large.output
    assert "anomalies not scored" not in large.output, "64 conversations are their own baseline"
    small = audit(str(CORPUS), "--sop", "general-inbound-call", "--out", str(tmp_path / "small"))
    assert small.exit_code == 0, small.output
    assert "anomalies not scored: model unavailable" in " ".join(small.output.split())
    lines = (tmp_path / "small" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows and all(row["anomaly"] is None for row in rows), "results written, without anomaly blocks"


def test_train_anomaly_refits_the_baseline_from_an_audit(tmp_path):
    corpora = REPO / "corpora"
    audited = audit(str(corpora), "--sop", "general-inbound-call", "--out", str(tmp_path / "audit"))
    assert audited.exit_code == 0, audited.output
    result = runner.invoke(
        app,
        [
            "train-anomaly",
            str(tmp_path / "audit" / "results.jsonl"),
            "--transcripts",
            str(corpora),
            "--out",
            str(tmp_path / "anomaly"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "anomaly" / "model_card.md").exists()
    assert "features modelled" in result.output


def test_train_anomaly_with_too_few_conversations_says_why(tmp_path):
    audit(str(CORPUS), "--sop", "general-inbound-call", "--out", str(tmp_path / "audit"))
    result = runner.invoke(
        app,
        [
            "train-anomaly",
            str(tmp_path / "audit" / "results.jsonl"),
            "--transcripts",
            str(CORPUS),
            "--out",
            str(tmp_path / "anomaly"),
        ],
    )
    assert result.exit_code == 1 and "at least 20" in result.output


def test_uncertain_band_widened_sends_conversations_to_review_and_is_recorded(tmp_path):
    common = [str(CORPUS), "--sop", "general-inbound-call", "--uncertain-band"]
    decided = audit(*common, "0.3,0.3", "--out", str(tmp_path / "a"))
    wide = audit(*common, "0,1", "--out", str(tmp_path / "b"))
    assert decided.exit_code == 0 and wide.exit_code == 0, decided.output + wide.output
    read = [
        [json.loads(line) for line in (tmp_path / name / "results.jsonl").read_text(encoding="utf-8").splitlines()]
        for name in ("a", "b")
    ]
    assert all(r["models"]["uncertain_band"] == "0.3-0.3" for r in read[0])
    assert all(r["models"]["uncertain_band"] == "0-1" for r in read[1])
    assert not any(s["status"] == "uncertain" for r in read[0] for s in r["steps"])
    assert not any(r["passed"] for r in read[1]), "with every probability in the band no conversation passes unseen"
    assert any(r["outcome"] == "needs_review" for r in read[1])
    assert "need review" in wide.output


@pytest.mark.parametrize("band", ["0.6,0.2", "high,low", "0.5"])
def test_malformed_uncertain_band_is_a_usage_error_saying_how_to_write_it(tmp_path, band):
    result = audit(str(CORPUS), "--sop", "general-inbound-call", "--out", str(tmp_path), "--uncertain-band", band)
    assert result.exit_code == 2
    assert "--uncertain-band" in result.output
    assert any(hint in result.output for hint in ("LOW,HIGH", "LOW and HIGH", "low <= high"))


def _long_turn_file(tmp_path, characters: int):  # type: ignore[no-untyped-def]
    good = CORPUS.read_text(encoding="utf-8").splitlines()[:2]
    long_call = {
        "id": "long-1",
        "agent_id": "a-2",
        "turns": [
            {"speaker": "agent", "text": "Hello, thanks for calling."},
            {"speaker": "customer", "text": ("My parcel never arrived. " * (characters // 25 + 1))[:characters]},
        ],
    }
    path = tmp_path / "calls.jsonl"
    path.write_text(f"{good[0]}\n{json.dumps(long_call)}\n{good[1]}\n", encoding="utf-8")
    return path


def test_a_turn_over_the_size_limit_is_named_and_the_good_conversations_are_written(tmp_path):
    """Issue 17: a 1.2M-character turn stopped the whole run with spaCy's E088 traceback and no output folder."""
    path = _long_turn_file(tmp_path, 1_200_000)
    result = audit(str(path), "--sop", "general-inbound-call", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "E088" not in result.output
    assert (
        f"{path}:2: turns[1].text: 1,200,000 characters, more than the 1,000,000 a turn may hold (--max-turn-chars); "
        "conversation long-1 not audited"
    ) in " ".join(result.output.split())
    assert len((tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    assert (tmp_path / "out" / "report.html").exists()


def test_a_raised_turn_limit_audits_the_long_turn_whole(tmp_path):
    path = _long_turn_file(tmp_path, 1_200_000)
    out = tmp_path / "out"
    result = audit(str(path), "--sop", "general-inbound-call", "--out", str(out), "--max-turn-chars", "2000000")
    assert result.exit_code == 0, result.output
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["conversation_id"] for line in lines][1] == "long-1"


def test_help_states_the_size_policy():
    text = " ".join(runner.invoke(app, ["audit", "--help"], env={"COLUMNS": "220"}).output.split())
    for option in ("--max-turn-chars", "--max-conversation-chars", "--max-turns"):
        assert option in text
    assert "path:line: reason" in text


def test_workers_that_die_on_everything_stop_the_audit_with_a_message_not_a_traceback(tmp_path, monkeypatch):
    import auditor.batch.runner
    from auditor.batch.engines import WorkersDiedError

    def dying(*args, **kwargs):
        raise WorkersDiedError("worker processes died auditing 3 conversations in a row [red]x[/red]")

    monkeypatch.setattr(auditor.batch.runner, "start_batch", dying)
    result = audit(str(CORPUS), "--sop", "general-inbound-call", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "audit stopped" in result.output and "[red]x[/red]" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_accuracy_mode_is_a_usage_error_naming_the_known_ones(tmp_path):
    result = audit(str(CORPUS), "--sop", "general-inbound-call", "--out", str(tmp_path), "--accuracy", "fastest")
    assert result.exit_code == 2
    assert "fastest" in result.output and "fast, best" in result.output
    assert not (tmp_path / "results.jsonl").exists()
