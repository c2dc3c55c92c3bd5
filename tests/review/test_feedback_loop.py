"""Coach verdicts teach the step scorer: after `auditor train --from-reviews`, the next audit of a conversation
the coach corrected gives the coach's verdict; `auditor review import` and `auditor agreement` on the way."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from auditor.auditor import Auditor
from auditor.cli import app
from auditor.detection.scorers import choose_scorer
from auditor.embeddings.hashing import HashingEmbedder
from auditor.result import ConversationResult
from auditor.review.coach_verdicts import StepVerdict, record_verdicts
from auditor.sop.loading import sop_from_text
from auditor.store.database import open_store
from auditor.store.tables import AuditRow
from auditor.transcripts.records import conversation_from_mapping
from tests.conftest import REPO

SOP = """
id: card-security
name: Card security check
steps:
  - id: greet
    name: Greet
    examples: ["Hello, thank you for calling Acme bank", "Good morning, welcome to Acme"]
  - id: verify
    name: Verify identity
    examples: ["Can you confirm your date of birth?", "Please tell me your date of birth for security"]
    critical: true
  - id: resolve
    name: Resolve
    examples: ["Your card balance is forty pounds", "I have unblocked your card"]
  - id: close
    name: Close
    examples: ["Is there anything else I can help with? Goodbye", "Thanks for calling, have a nice day"]
"""
SECURITY_QUESTIONS = [  # how this team verifies: not the date of birth the SOP's examples expect
    "Before we go on, which town were you born in?",
    "First, what was the name of your first pet?",
    "To keep things safe, what's the name of your primary school?",
]


def call(number: int, question: str) -> dict:
    return {
        "id": f"sec-{number}",
        "agent_id": "a-1",
        "turns": [
            {"speaker": "agent", "text": "Hello, thank you for calling Acme bank."},
            {"speaker": "customer", "text": "Hi, I need to check my card."},
            {"speaker": "agent", "text": question},
            {"speaker": "customer", "text": "Sure, that's fine."},
            {"speaker": "agent", "text": "Thanks. Your card balance is forty pounds."},
            {"speaker": "agent", "text": "Is there anything else I can help with? Goodbye."},
        ],
    }


def audit(calls: list[dict], step_model: Path | None = None) -> list[ConversationResult]:
    embedder = HashingEmbedder()
    scorer = choose_scorer(embedder.name, str(step_model) if step_model else "linear")
    conversations = [conversation_from_mapping(c, source="", default_id=c["id"]) for c in calls]
    return Auditor(sop_from_text(SOP), embedder, scorer=scorer).audit_many(conversations)


def test_retraining_from_verdicts_changes_the_next_audit(tmp_path: Path) -> None:
    runner = CliRunner()
    sops = tmp_path / "sops"
    sops.mkdir()
    (sops / "card-security.yaml").write_text(SOP, encoding="utf-8")
    manifest = tmp_path / "training.yaml"
    corpus = REPO / "corpora" / "en"
    manifest.write_text(
        f"embedder: hashing\nvariants: [examples]\nsets:\n  - name: corpora\n    transcripts: [{corpus}]\n"
        "    sop_field: sop_id\n",
        encoding="utf-8",
    )
    base = tmp_path / "base-model"
    trained = runner.invoke(app, ["train", "--manifest", str(manifest), "--out", str(base)])
    assert trained.exit_code == 0, trained.output

    calls = [call(n, q) for n, q in enumerate(SECURITY_QUESTIONS)]
    before = audit(calls, base)
    assert [r.step("verify").status for r in before] == ["missing"] * 3
    results = tmp_path / "results.jsonl"
    transcripts = tmp_path / "calls.jsonl"
    results.write_text("".join(r.model_dump_json() + "\n" for r in before), encoding="utf-8")
    transcripts.write_text("".join(json.dumps(c) + "\n" for c in calls), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'audits.db'}"
    custom = str(sops / "card-security.yaml")
    imported = runner.invoke(
        app, ["review", "import", str(results), "--transcripts", str(transcripts), "--sop", custom, "--db", db]
    )
    assert imported.exit_code == 0, imported.output
    assert "3 new" in imported.output and "3 with their transcript" in imported.output
    with open_store(db).session() as session:  # the custom SOP's rules score the reviewed verdicts below
        assert all(row.scoring and row.scoring["pass_score"] == 0.8 for row in session.query(AuditRow))

    store = open_store(db)
    with store.session() as session:
        for audit_row in session.query(AuditRow).order_by(AuditRow.id):
            record_verdicts(
                session,
                audit_row.id,
                "Mei",
                [StepVerdict(step_id="verify", verdict="overturn", status="done", turn_index=2)]
                + [StepVerdict(step_id=s, verdict="confirm") for s in ("greet", "resolve", "close")],
            )
    store.close()
    agreement = runner.invoke(app, ["agreement", "--db", db, "--json"])
    verify = next(row for row in json.loads(agreement.output)["auditor"] if row["step_id"] == "verify")
    assert (verify["n"], verify["accuracy"]) == (3, 0.0)

    retrained = tmp_path / "retrained"
    refit = runner.invoke(
        app,
        ["train", "--manifest", str(manifest), "--out", str(retrained), "--from-reviews", "--db", db]
        + ["--sop-dir", str(sops)],
    )
    assert refit.exit_code == 0, refit.output
    assert "Coach verdicts: 12 step decisions" in refit.output
    after = audit(calls, retrained)
    assert [r.step("verify").status for r in after] == ["done"] * 3
    assert [r.step("verify").evidence[0].turn_index for r in after] == [2, 2, 2]
    assert all(r.passed for r in after)


def test_import_names_bad_lines(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    good = audit([call(0, SECURITY_QUESTIONS[0])])[0].model_dump_json()
    results.write_text(good + "\n{not json\n" + json.dumps({"conversation_id": "x"}) + "\n", encoding="utf-8")
    outcome = CliRunner().invoke(app, ["review", "import", str(results), "--db", f"sqlite:///{tmp_path / 'a.db'}"])
    assert outcome.exit_code == 1
    assert f"{results}:2: invalid JSON" in outcome.output
    assert f"{results}:3: not an audit result: agent_id: Field required" in outcome.output
    assert "Stored 1 audit(s)" in outcome.output


def test_import_names_a_result_the_store_cannot_hold_and_keeps_the_rest(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    good, other = audit([call(0, SECURITY_QUESTIONS[0]), call(1, SECURITY_QUESTIONS[1])])
    twice = other.model_dump(mode="json")
    twice["steps"].append(dict(twice["steps"][0]))  # the same step id twice: one row per step in the store
    results.write_text(good.model_dump_json() + "\n" + json.dumps(twice) + "\n", encoding="utf-8")
    outcome = CliRunner().invoke(app, ["review", "import", str(results), "--db", f"sqlite:///{tmp_path / 'a.db'}"])
    assert outcome.exit_code == 1, outcome.output
    assert f"{results}:2: cannot be stored:" in outcome.output and "steps" in outcome.output
    assert "Stored 1 audit(s)" in outcome.output
