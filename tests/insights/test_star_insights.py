"""`auditor insights` on real STAR audit results: associations with dissatisfied and task success, with
intervals, and suggested examples that are real agent wordings the SOPs do not list.

STAR (MIT, RasaHQ) lives in ../shared/data/external and is never copied into the repository; two small tasks
are audited with the default multilingual embedder, then insights are run on the results as a user would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from auditor.cli import app
from auditor.insights.suggestions import comparable, sentences
from auditor.privacy.redaction import redact
from auditor.sop.loading import load_sop
from tests.conftest import EXTERNAL, REPO

pytestmark = pytest.mark.slow

STAR = EXTERNAL / "star_dev.jsonl"
TASKS = ("bank_balance", "hotel_service_request")
SOPS = {task: REPO / "bench" / "star_sops" / f"{task}.yaml" for task in TASKS}

if not STAR.exists():
    pytest.skip(f"STAR data not found at {STAR} (see ../shared/data/external/README.md)", allow_module_level=True)

runner = CliRunner()


@pytest.fixture(scope="module")
def star_records() -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {task: [] for task in TASKS}
    with STAR.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            tasks = record.get("tasks") or []
            if len(tasks) == 1 and tasks[0] in found and record.get("turns"):
                found[tasks[0]].append(record)
    return found


@pytest.fixture(scope="module")
def insights_out(star_records, tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("star-insights")
    for task, records in star_records.items():
        source = root / f"{task}.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        audited = runner.invoke(
            app, ["audit", str(source), "--sop", str(SOPS[task]), "--out", str(root / "audit" / task)]
        )
        assert audited.exit_code == 0, audited.output
    args = ["insights", str(root / "audit"), "--out", str(root / "insights")]
    for path in SOPS.values():
        args += ["--sop", str(path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    print(result.output)  # noqa: T201  (the figures quoted in docs/sop-owners.md)
    return root / "insights", result.output


def test_associations_with_dissatisfied_and_task_success_are_printed_with_intervals(insights_out):
    folder, output = insights_out
    assert "Steps and dissatisfied: when done vs when missing" in output
    assert "Steps and task success: when done vs when missing" in output
    assert "95%" in output
    payload = json.loads((folder / "insights.json").read_text(encoding="utf-8"))
    by_outcome = {}
    for association in payload["associations"]:
        by_outcome.setdefault(association["outcome"], []).append(association)
        estimate = association["estimate"]
        assert estimate["low"] <= estimate["difference"] <= estimate["high"]
        assert 0 <= estimate["p_value"] <= 1
    assert len(by_outcome["dissatisfied"]) >= 5 and len(by_outcome["task success"]) >= 3
    assert any("agent" in a["adjusted_for"] for a in by_outcome["dissatisfied"])


def test_suggestions_are_real_agent_wordings_that_are_not_already_examples(insights_out, star_records):
    folder, output = insights_out
    suggestions = yaml.safe_load((folder / "suggestions.yaml").read_text(encoding="utf-8"))["suggestions"]
    # only steps decided done (above the uncertain band) give suggestions: 4 measured with the band, 5+ without
    assert len(suggestions) >= 3 and "Suggested new examples" in output
    agent_sentences = {
        comparable(sentence)
        for records in star_records.values()
        for record in records
        for turn in record["turns"]
        if turn["speaker"] == "agent"
        for sentence in sentences(redact(turn["text"]))
    }
    examples = {
        comparable(example) for path in SOPS.values() for step in load_sop(path).steps for example in step.examples
    }
    for suggestion in suggestions:
        key = comparable(suggestion["example"])
        assert key in agent_sentences, suggestion["example"]
        assert key not in examples, suggestion["example"]
        assert suggestion["accept"] is False and suggestion["conversations"] >= 3
