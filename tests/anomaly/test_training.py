"""Fitting on a deployment's own audit output, and filling the result's anomaly block and flag."""

from __future__ import annotations

import json

import pytest

from auditor.anomaly.attach import ANOMALOUS_FLAG, with_anomalies
from auditor.anomaly.detector import AnomalyDetector
from auditor.anomaly.training import feature_rows, main, train_from_audit
from auditor.model_files import ANOMALY
from auditor.result import Dissatisfaction
from tests.anomaly.factories import make_result
from tests.conftest import make_conversation

BASELINE = 40


def ordinary(index: int):
    turns = [("agent", "Hello, thanks for calling, how can I help?"), ("customer", "My card does not work.")]
    turns += [("agent", f"Let me check that for you, step {index % 3}."), ("customer", "Thank you.")] * (2 + index % 3)
    turns += [("agent", "Anything else? Goodbye.")]
    conversation = make_conversation(turns, conversation_id=f"c-{index}", agent_id=f"a-{index % 4}")
    statuses = {"greet": "done", "verify": "missing" if index % 5 == 0 else "done", "close": "done"}
    result = make_result(statuses, conversation_id=conversation.id, agent_id=conversation.agent_id)
    return conversation, result


def odd():
    conversation = make_conversation([("customer", "Hello? Hello?")] * 6, conversation_id="c-odd", agent_id="a-1")
    statuses = {"greet": "missing", "verify": "missing", "close": "missing"}
    return conversation, make_result(statuses, conversation_id="c-odd", score=0.0)


@pytest.fixture(scope="module")
def audit_output(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit")
    pairs = [ordinary(i) for i in range(BASELINE)]
    transcripts = folder / "calls.jsonl"
    transcripts.write_text(
        "".join(
            json.dumps(
                {"id": c.id, "agent_id": c.agent_id, "turns": [{"speaker": t.speaker, "text": t.text} for t in c.turns]}
            )
            + "\n"
            for c, _ in pairs
        ),
        encoding="utf-8",
    )
    results = folder / "results.jsonl"
    lines = [r.model_dump_json() for _, r in pairs] + [
        make_result({"greet": "done"}, conversation_id="gone").model_dump_json()
    ]
    results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder, transcripts, results


@pytest.fixture(scope="module")
def trained(audit_output):
    folder, transcripts, results = audit_output
    return train_from_audit([results], [transcripts], folder / "model")


def test_train_from_audit_output_saves_a_loadable_model(audit_output, trained):
    folder = audit_output[0]
    detector, unmatched = trained
    assert unmatched == ["gone"]
    assert detector.metadata.n_baseline == BASELINE
    assert (folder / "model" / ANOMALY.model_file).exists() and (folder / "model" / ANOMALY.card_file).exists()
    assert AnomalyDetector.load(folder / "model").feature_names == detector.feature_names


def test_module_entry_point(audit_output, capsys):
    folder, transcripts, results = audit_output
    assert main([str(results), "--transcripts", str(transcripts), "--out", str(folder / "cli-model")]) == 0
    assert "Fitted on 40 conversations" in capsys.readouterr().out
    assert main([str(results), "--transcripts", str(folder / "absent.jsonl"), "--out", str(folder / "x")]) == 1


def test_dissatisfaction_score_is_read_from_the_result():
    conversation, result = ordinary(1)
    result = result.model_copy(update={"dissatisfaction": Dissatisfaction(score=0.7, flagged=True)})
    rows, unmatched = feature_rows([conversation], [result])
    assert rows[0]["dissatisfaction_score"] == 0.7 and not unmatched


def test_with_anomalies_fills_the_block_the_flag_and_the_model_name(trained):
    detector, _ = trained
    pairs = [ordinary(3), odd()]
    annotated = with_anomalies(detector, [c for c, _ in pairs], [r for _, r in pairs])
    normal, strange = annotated
    assert strange.anomaly is not None and strange.anomaly.flagged and strange.anomaly.reasons
    assert ANOMALOUS_FLAG in strange.flags
    assert normal.anomaly is not None and not normal.anomaly.flagged and ANOMALOUS_FLAG not in normal.flags
    assert strange.models["anomaly"].startswith("isolation-forest-anomaly@1")
    assert pairs[1][1].anomaly is None  # the input results are not modified
    with pytest.raises(ValueError, match="not for conversation"):
        with_anomalies(detector, [pairs[0][0]], [pairs[1][1]])
