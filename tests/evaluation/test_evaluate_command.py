"""`auditor evaluate`: per-step precision/recall/F1 and skipped-step detection against gold labels."""

from __future__ import annotations

import dataclasses
import json

from typer.testing import CliRunner

from auditor.auditor import Auditor
from auditor.cli import app
from auditor.detection.calibration import SemanticCalibration
from auditor.evaluation.gold_labels import with_gold_from_field
from auditor.evaluation.skipped_steps import measure_skipped_steps, without_turns
from auditor.evaluation.step_metrics import score_results
from auditor.sop.loading import sop_from_mapping
from tests.conftest import REPO, make_conversation

runner = CliRunner()
NO_SEMANTIC = SemanticCalibration("off", 0.0, 1.0, 0.0, 0.0, threshold=1.01, done_threshold=0.9)
SOP = sop_from_mapping(
    {
        "id": "kw",
        "name": "KW",
        "steps": [
            {"id": "greet", "name": "Greet", "keywords": ["hello"]},
            {"id": "verify", "name": "Verify", "keywords": ["date of birth"]},
            {"id": "close", "name": "Close", "keywords": ["goodbye"]},
        ],
    }
)


def labelled(turns, labels):
    """A conversation whose turns carry ``label`` fields, turned into gold steps the way STAR data is."""
    conversation = make_conversation(turns)
    with_labels = [
        dataclasses.replace(t, extra={"label": label}) for t, label in zip(conversation.turns, labels, strict=True)
    ]
    return with_gold_from_field(dataclasses.replace(conversation, turns=with_labels), "label")


def test_turn_and_conversation_metrics_count_hits_misses_and_false_alarms(hashing_embedder, pipelines):
    conversation = labelled(
        [("agent", "hello there"), ("customer", "hi"), ("agent", "your date of birth?"), ("agent", "hello again, bye")],
        ["greet", None, "verify", "close"],
    )
    auditor = Auditor(SOP, hashing_embedder, pipelines=pipelines, scorer=NO_SEMANTIC)
    metrics = score_results([(conversation, auditor.audit(conversation))])
    assert (metrics.turn["greet"].tp, metrics.turn["greet"].fp) == (1, 1)  # turn 3 says hello but is labelled close
    assert metrics.turn["verify"].f1 == 1.0
    assert metrics.turn["close"].fn == 1 and metrics.conversation["close"].recall == 0.0


def test_removing_a_steps_turns_is_caught_as_missing(hashing_embedder, pipelines):
    conversation = labelled(
        [
            ("agent", "hello"),
            ("customer", "hi"),
            ("agent", "date of birth?"),
            ("customer", "1 May"),
            ("agent", "goodbye"),
        ],
        ["greet", None, "verify", None, "close"],
    )
    reduced = without_turns(conversation, {2}, "#x")
    assert [t.index for t in reduced.turns] == [0, 1, 2, 3] and reduced.turns[2].text == "1 May"
    auditor = Auditor(SOP, hashing_embedder, pipelines=pipelines, scorer=NO_SEMANTIC)
    skips = measure_skipped_steps(auditor, [conversation])
    overall = skips.overall()
    assert overall.removed == 3 and overall.recall == 1.0 and overall.false_missing_rate == 0.0


def test_evaluate_command_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "eval.json"
    corpus = REPO / "corpora" / "en" / "bank-phone-service.jsonl"
    result = runner.invoke(
        app, ["evaluate", str(corpus), "--sop", "bank-phone-service", "--embedder", "hashing", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "verify_identity" in result.output and "skip" in result.output
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["conversations"] == 6
    assert set(payload["overall"]) >= {"turn", "conversation", "skipped", "verdict_accuracy"}
    assert 0.0 <= payload["steps"]["greet"]["turn"]["f1"] <= 1.0


def test_evaluate_with_a_label_field_and_map(tmp_path):
    data = tmp_path / "star.jsonl"
    data.write_text(
        json.dumps(
            {
                "id": "s1",
                "turns": [
                    {"speaker": "customer", "text": "hi"},
                    {"speaker": "wizard", "text": "hello, how can I help?", "action_label": "hello"},
                    {"speaker": "action", "text": "query"},
                    {"speaker": "wizard", "text": "goodbye now", "action_label": "goodbye_1"},
                ],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    label_map = tmp_path / "map.yaml"
    label_map.write_text("hello: greet\ngoodbye_1: close\n", encoding="utf-8")
    sop = tmp_path / "sop.yaml"
    sop.write_text(
        "id: t\nname: T\nsteps:\n  - {id: greet, name: Greet, keywords: [hello]}\n"
        "  - {id: close, name: Close, keywords: [goodbye]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "eval.json"
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(data),
            "--sop",
            str(sop),
            "--label-field",
            "action_label",
            "--label-map",
            str(label_map),
            "--embedder",
            "hashing",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    steps = json.loads(out.read_text(encoding="utf-8"))["steps"]
    assert steps["greet"]["turn"]["tp"] == 1 and steps["close"]["turn"]["tp"] == 1


def test_evaluate_without_gold_labels_says_so(tmp_path):
    data = tmp_path / "plain.jsonl"
    data.write_text(json.dumps({"id": "p", "turns": [{"speaker": "agent", "text": "hello"}]}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["evaluate", str(data), "--sop", "general-inbound-call", "--embedder", "hashing"])
    assert result.exit_code == 1 and "gold labels" in result.output
