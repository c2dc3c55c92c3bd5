"""Example phrasings proposed from confirmed evidence, and accepting them as a new SOP version (issue 21, item 5)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app
from auditor.embeddings.hashing import HashingEmbedder
from auditor.review.coach_verdicts import StepVerdict, record_verdicts
from auditor.review.examples import review_examples
from auditor.review.proposals import (
    ConfirmedEvidence,
    ProposalOptions,
    accept_examples,
    evidence_from_reviews,
    propose_examples,
)
from auditor.sop.loading import load_sop, sop_from_text
from auditor.sop.writing import sop_to_yaml
from auditor.store.audits import save_results
from auditor.store.database import open_store
from tests.review.factories import CARD_SOP, audited, card_sop

runner = CliRunner()


def said(step: str, text: str, conversation: str = "c1", turn: int = 1) -> ConfirmedEvidence:
    return ConfirmedEvidence("card-check", step, conversation, turn, text)


def test_a_confirmed_turn_proposes_its_sentence_for_the_step():
    found = propose_examples(card_sop(), [said("verify", "Sure. Could you confirm your postcode for me?")])
    assert [(p.number, p.step_id, p.text) for p in found.proposals] == [
        (1, "verify", "Could you confirm your postcode for me?")
    ]


def test_the_same_phrasing_twice_is_one_proposal_counting_both_conversations():
    evidence = [
        said("verify", "Could you confirm your postcode for me?", "c1"),
        said("verify", "could you confirm your postcode for me", "c2"),
    ]
    found = propose_examples(card_sop(), evidence)
    assert len(found.proposals) == 1 and found.proposals[0].conversations == ("c1", "c2")


def test_near_misses_propose_nothing():
    evidence = [
        said("discuss", "I can't tell you your balance over the phone."),  # refused
        said("verify", "Could you confirm [PHONE] is still your number?"),  # redacted personal data
        said("verify", "Please call me back on 07700 900123 to confirm."),  # personal data, not yet redacted
        said("discuss", "Your card balance"),  # already a keyword of the step
        said("close", "Bye."),  # too short
        said("verify", " ".join(["word"] * 40)),  # too long
        said("nonexistent", "Anything else I can do for you today?"),  # not a step of the SOP
        ConfirmedEvidence("other-sop", "verify", "c1", 1, "Could you confirm your postcode for me?"),
    ]
    found = propose_examples(card_sop(), evidence)
    assert found.proposals == []
    assert found.skipped["personal data"] == 2 and found.skipped["refuses, negates or only mentions the step"] == 1


def test_a_near_duplicate_of_an_existing_example_is_dropped_with_an_embedder():
    sop = accept_examples(card_sop(), [("verify", "Could you confirm your postcode for me?")]).sop
    evidence = [said("verify", "Could you confirm your postcode for me, please?")]
    assert propose_examples(sop, evidence, HashingEmbedder(), ProposalOptions(novelty=0.9)).proposals == []
    assert propose_examples(sop, evidence, HashingEmbedder(), ProposalOptions(novelty=0.99)).proposals  # not equal


def test_accepting_adds_the_example_with_a_version_bump_and_the_sop_still_loads():
    revision = accept_examples(card_sop(), [("verify", "Could you confirm your postcode for me?")])
    assert revision.sop.version == 2 and [a.example for a in revision.added] == [
        "Could you confirm your postcode for me?"
    ]
    loaded = sop_from_text(sop_to_yaml(revision.sop), source="card-check.v2.yaml")
    assert loaded.step("verify").examples == ["Could you confirm your postcode for me?"]
    again = accept_examples(loaded, [("verify", "could you confirm your postcode for me")])
    assert not again.added and len(again.already_there) == 1


def _reviewed_store(tmp_path: Path) -> str:
    """The review store with the card-check audits and two coach verdicts."""
    url = f"sqlite:///{tmp_path / 'audits.db'}"
    results, conversations = audited()
    store = open_store(url)
    with store.session() as session:
        ids = {item.conversation_id: item.audit_id for item in save_results(session, results, conversations)}
        record_verdicts(  # the auditor's verify evidence was a question about the town: the coach says done there
            session,
            ids["en-no-verify"],
            "coach-1",
            [StepVerdict(step_id="verify", verdict="overturn", status="done", turn_index=2)],
        )
        record_verdicts(  # missing: no turn, so no proposal
            session, ids["en-good"], "coach-1", [StepVerdict(step_id="close", verdict="overturn", status="missing")]
        )
    store.close()
    return url


def test_proposals_come_from_the_review_store(tmp_path):
    url = _reviewed_store(tmp_path)
    store = open_store(url)
    with store.session() as session:
        evidence = evidence_from_reviews(review_examples(session, "card-check"))
    store.close()
    assert [(e.step_id, e.turn_index) for e in evidence] == [("verify", 2)]
    found = propose_examples(card_sop(), evidence)
    assert [p.text for p in found.proposals] == ["Which town were you born in, for security?"]


def test_cli_lists_proposals_and_accepting_one_edits_the_sop_with_a_version_bump(tmp_path):
    url = _reviewed_store(tmp_path)
    sop_file = tmp_path / "card-check.yaml"
    sop_file.write_text(CARD_SOP, encoding="utf-8")
    listed = runner.invoke(app, ["sops", "proposals", str(sop_file), "--db", url, "--embedder", "none"])
    assert listed.exit_code == 0, listed.output
    assert "Which town were you born in" in listed.output and "verify" in listed.output
    accepted = runner.invoke(
        app,
        ["sops", "accept", "--sop", str(sop_file), "--proposal", "1", "--db", url, "--embedder", "none", "--in-place"],
    )
    assert accepted.exit_code == 0, accepted.output
    sop = load_sop(sop_file)
    assert sop.version == 2 and sop.step("verify").examples == ["Which town were you born in, for security?"]
    relisted = runner.invoke(app, ["sops", "proposals", str(sop_file), "--db", url, "--embedder", "none"])
    assert "Which town were you born in" not in relisted.output  # now an example: not proposed again


def test_cli_accepts_an_owners_own_example_as_a_new_version_file(tmp_path):
    sop_file = tmp_path / "card-check.yaml"
    sop_file.write_text(CARD_SOP, encoding="utf-8")
    result = runner.invoke(
        app, ["sops", "accept", "--sop", str(sop_file), "--step", "close", "--example", "Thanks for calling, bye now."]
    )
    assert result.exit_code == 0, result.output
    new = load_sop(tmp_path / "card-check.v2.yaml")
    assert new.version == 2 and new.step("close").examples == ["Thanks for calling, bye now."]
    assert load_sop(sop_file).version == 1
    unknown = runner.invoke(app, ["sops", "accept", "--sop", str(sop_file), "--proposal", "9", "--db", "sqlite://"])
    assert unknown.exit_code != 0
    neither = runner.invoke(app, ["sops", "accept", "--sop", str(sop_file)])
    assert neither.exit_code != 0
