"""`auditor insights` as an SOP owner runs it on audit results: tables with intervals, files, bad lines named."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from auditor.cli import app
from auditor.sop.loading import load_sop
from auditor.sop.writing import sop_to_yaml
from tests.insights.factories import RETURNS_SOP, constructed_results, suggestion_results, write_results

runner = CliRunner()


def write_transcripts(path, conversations) -> None:  # type: ignore[no-untyped-def]
    lines = []
    for c in conversations.values():
        turns = [{"speaker": t.speaker, "text": t.text, "start": t.start, "end": t.end} for t in c.turns]
        lines.append(json.dumps({"id": c.id, "agent_id": c.agent_id, "turns": turns}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_insights_prints_associations_with_intervals_completion_aht_and_fcr(tmp_path):
    results, conversations = constructed_results()
    write_results(tmp_path / "results.jsonl", results)
    write_transcripts(tmp_path / "calls.jsonl", conversations)
    result = runner.invoke(
        app,
        [
            "insights",
            str(tmp_path),
            "--transcripts",
            str(tmp_path / "calls.jsonl"),
            "--out",
            str(tmp_path / "ins"),
            "--no-suggestions",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Steps and dissatisfied: when done vs when missing" in out
    assert "Steps and CSAT" in out and "Steps and task success" in out
    table = out[out.index("Steps and dissatisfied") :]
    table = table[: table.index("significant after Benjamini-Hochberg")]
    apologize = next(line for line in table.splitlines() if line.startswith("│ apologize"))
    assert "-27" in apologize and "agent" in apologize  # 27 points fewer dissatisfied, compared within agents
    assert "* 1 " in out[out.index("Steps and dissatisfied") :]  # one step significant: apologize
    assert "Almost always skipped" in out and "survey" in out
    assert "Often done late or out of order" in out and "verify" in out
    assert "Handle time (seconds) by all" in out
    assert "Repeat contacts within 7 days" in out and "first-contact resolution" in out
    payload = json.loads((tmp_path / "ins" / "insights.json").read_text(encoding="utf-8"))
    assert payload["repeat_contacts"]["fcr"] > 0 and payload["associations"]


def test_bad_lines_are_named_and_the_rest_is_analysed(tmp_path):
    results, _ = constructed_results()
    path = tmp_path / "results.jsonl"
    write_results(path, results[:200])
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n" + json.dumps({"conversation_id": "x"}) + "\n")
    result = runner.invoke(app, ["insights", str(path), "--no-suggestions"], terminal_width=160)
    assert result.exit_code == 1
    assert f"{path}:201: invalid JSON" in result.output
    assert f"{path}:202: not an audit result" in result.output
    assert "Step completion" in result.output
    assert runner.invoke(app, ["insights", str(tmp_path / "none")]).exit_code == 1


def test_suggestions_file_is_written_for_review_and_accepting_it_writes_a_new_sop_version(tmp_path):
    write_results(tmp_path / "results.jsonl", suggestion_results())
    sop_file = tmp_path / "returns.yaml"
    sop_file.write_text(sop_to_yaml(RETURNS_SOP), encoding="utf-8")
    result = runner.invoke(
        app,
        ["insights", str(tmp_path), "--sop", str(sop_file), "--embedder", "hashing", "--out", str(tmp_path / "i")],
    )
    assert result.exit_code == 0, result.output
    assert "Suggested new examples" in result.output and "apologise" in result.output
    suggestions = tmp_path / "i" / "suggestions.yaml"
    raw = yaml.safe_load(suggestions.read_text(encoding="utf-8"))
    assert raw["suggestions"] and all(entry["accept"] is False for entry in raw["suggestions"])
    assert not {entry["example"] for entry in raw["suggestions"]} & {e for s in RETURNS_SOP.steps for e in s.examples}
    assert "@" not in suggestions.read_text(encoding="utf-8")  # the e-mail address was redacted
    apology = next(entry for entry in raw["suggestions"] if entry["step"] == "apologize")
    apology["accept"] = True
    suggestions.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    accepted = runner.invoke(app, ["sops", "accept", str(suggestions), "--sop", str(sop_file)])
    assert accepted.exit_code == 0, accepted.output
    revised = load_sop(tmp_path / "returns.v4.yaml")
    assert apology["example"] in revised.step("apologize").examples and revised.version == 4
    assert load_sop(sop_file).version == 3  # the reviewed file is untouched
