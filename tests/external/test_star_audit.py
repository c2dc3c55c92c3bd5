"""Audit real STAR dialogues (bank_balance) end to end: CLI files, turn indices, and a detection-accuracy floor.

STAR agents pick most turns from the task flowchart, and those turns carry ``action_label``, the SOP step
they perform; ``bench/star_sops/bank_balance.yaml`` uses those labels as step ids with paraphrased
examples. The data lives outside the repository (``../shared/data/external``) and is never copied in.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auditor.auditor import Auditor
from auditor.cli import app
from auditor.embeddings.provider import make_embedder
from auditor.privacy.policy import RedactionPolicy
from auditor.sop.loading import load_sop
from auditor.transcripts.loaders import load_file

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXTERNAL = REPO.parent / "shared" / "data" / "external"
STAR = EXTERNAL / "star_dev.jsonl"
SOP_PATH = REPO / "bench" / "star_sops" / "bank_balance.yaml"
TASK = "bank_balance"
LIMIT = 40
DETECTED = {"done", "late", "out_of_order"}
FLOOR = 0.7

if not STAR.exists():
    pytest.skip(f"STAR data not found at {STAR} (see ../shared/data/external/README.md)", allow_module_level=True)


@pytest.fixture(scope="module")
def star_conversations() -> list[dict[str, Any]]:
    """The first single-task bank_balance conversations of the STAR dev file, as raw records."""
    found: list[dict[str, Any]] = []
    with STAR.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("tasks") == [TASK] and record.get("turns"):
                found.append(record)
                if len(found) == LIMIT:
                    break
    assert len(found) == LIMIT, f"expected {LIMIT} {TASK} conversations in {STAR}, found {len(found)}"
    return found


@pytest.fixture(scope="module")
def star_file(star_conversations, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("star") / f"star_{TASK}.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in star_conversations), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cli_out(star_file, tmp_path_factory) -> Path:
    """Run `auditor audit` in-process with the default (multilingual) embedder; return the output folder."""
    out = tmp_path_factory.mktemp("star-out") / "out"
    result = CliRunner().invoke(app, ["audit", str(star_file), "--sop", str(SOP_PATH), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def cli_results(cli_out) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (cli_out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def test_cli_audits_every_star_conversation_and_writes_all_reports(cli_out, cli_results, star_conversations):
    assert len(cli_results) == len(star_conversations)
    assert [r["conversation_id"] for r in cli_results] == [c["id"] for c in star_conversations]
    assert {r["sop_id"] for r in cli_results} == {"star-bank-balance"}
    for name in ("agents.csv", "steps.csv", "report.html"):
        assert (cli_out / name).is_file() and (cli_out / name).stat().st_size > 0, name


def test_evidence_turn_index_points_at_the_agent_turn_it_quotes(cli_results, star_conversations):
    """Indices count every input turn, `action` events included; events are never evidence."""
    by_id = {c["id"]: c for c in star_conversations}
    checked = 0
    for result in cli_results:
        turns = by_id[result["conversation_id"]]["turns"]
        for step in result["steps"]:
            for evidence in step["evidence"]:
                index = evidence["turn_index"]
                assert 0 <= index < len(turns), (result["conversation_id"], step["step_id"], index)
                turn = turns[index]
                where = f"{result['conversation_id']} step {step['step_id']} turn {index}"
                assert turn["speaker"] == "agent", where
                shown = RedactionPolicy.recorded_in(result["models"]).redact(turn["text"])  # evidence is redacted
                assert shown == evidence["text"], where
                checked += 1
    assert checked > len(cli_results), "expected evidence in most conversations"
    assert any(t["speaker"] == "action" for c in star_conversations for t in c["turns"]), "no event turns tested"


def test_detection_precision_and_recall_against_star_action_labels(star_file, star_conversations, cli_results):
    """Conversation-level: gold = some agent turn is labelled with the step; predicted = done/late/out_of_order."""
    sop = load_sop(SOP_PATH)
    loaded = load_file(star_file)
    assert not loaded.problems, loaded.problems
    results = Auditor(sop, make_embedder("use-m")).audit_many(loaded.conversations)
    assert [[s.status for s in r.steps] for r in results] == [[s["status"] for s in r["steps"]] for r in cli_results]

    by_id = {c["id"]: c for c in star_conversations}
    counts: dict[str, Counter[str]] = {step.id: Counter() for step in sop.steps}
    for result in results:
        labels = {t.get("action_label") for t in by_id[result.conversation_id]["turns"] if t["speaker"] == "agent"}
        for step in result.steps:
            gold, predicted = step.step_id in labels, step.status in DETECTED
            counts[step.step_id]["tp" if gold and predicted else "fp" if predicted else "fn" if gold else "tn"] += 1

    total = sum(counts.values(), Counter())
    precision = total["tp"] / max(total["tp"] + total["fp"], 1)
    recall = total["tp"] / max(total["tp"] + total["fn"], 1)
    rows = [f"{'step':<34} {'gold':>4} {'pred':>4} {'tp':>4} {'P':>5} {'R':>5}"]
    for step_id, c in counts.items():
        gold, pred = c["tp"] + c["fn"], c["tp"] + c["fp"]
        p = f"{c['tp'] / pred:.2f}" if pred else "-"
        r = f"{c['tp'] / gold:.2f}" if gold else "-"
        rows.append(f"{step_id:<34} {gold:>4} {pred:>4} {c['tp']:>4} {p:>5} {r:>5}")
    rows.append(f"{'all steps (micro)':<34} {'':>4} {'':>4} {total['tp']:>4} {precision:>5.2f} {recall:>5.2f}")
    print(f"\nSTAR {TASK}, {len(results)} conversations, conversation-level step detection:\n" + "\n".join(rows))  # noqa: T201

    assert recall >= FLOOR, f"step recall {recall:.2f} < {FLOOR} on STAR {TASK}"
    assert precision >= FLOOR, f"step precision {precision:.2f} < {FLOOR} on STAR {TASK}"
