"""Suggested examples: phrasings of high-scoring agents the SOP lacks, redacted, clustered, never applied silently."""

from __future__ import annotations

import pytest
import yaml

from auditor.insights.suggestion_files import apply_accepted, read_accepted, suggestions_yaml
from auditor.insights.suggestions import SuggestionOptions, mine_suggestions, sentences
from tests.insights.factories import RETURNS_SOP as SOP
from tests.insights.factories import TOP_APOLOGY, suggestion_results


@pytest.fixture(scope="module")
def results():
    return suggestion_results()


@pytest.fixture(scope="module")
def suggestions(results, hashing_embedder):
    unhappy = [1.0 if r.metadata["dissatisfied"] else 0.0 for r in results]
    return mine_suggestions(results, {"returns": SOP}, hashing_embedder, unhappy=unhappy, options=SuggestionOptions())


def test_top_agents_wording_is_proposed_with_its_support(suggestions):
    apology = [s for s in suggestions if s.step_id == "apologize"]
    assert len(apology) == 1, suggestions
    assert apology[0].text in (TOP_APOLOGY, TOP_APOLOGY.replace("entirely", "totally"))
    assert (apology[0].conversations, apology[0].agents) == (8, 2)  # the two variants form one cluster
    assert apology[0].nearest_example == "I'm sorry for the trouble with your order."
    assert apology[0].sop_version == "3"


def test_the_sentence_of_the_step_is_cut_out_of_a_longer_turn(suggestions):
    assert all(not s.text.startswith("Hello there") for s in suggestions)
    assert sentences("Hello there. I do apologise! 好的。谢谢") == ["Hello there.", "I do apologise!", "好的。", "谢谢"]


def test_low_scorers_dissatisfied_calls_and_existing_examples_are_not_proposed(suggestions):
    texts = " ".join(s.text for s in suggestions)
    assert "whatever" not in texts and "voucher" not in texts
    assert "I'll email you a prepaid return label." not in [s.text for s in suggestions]


def test_personal_data_in_proposals_is_redacted(suggestions):
    label = [s for s in suggestions if s.step_id == "label"]
    assert label and label[0].text == "Label sent to [EMAIL] now."
    assert "@" not in yaml.safe_dump([s.text for s in suggestions] + [v for s in suggestions for v in s.variants])


def test_nothing_changes_until_a_person_accepts_and_accepting_writes_a_new_version(suggestions, tmp_path):
    path = tmp_path / "suggestions.yaml"
    path.write_text(suggestions_yaml(suggestions, conversations=31, path=str(path)), encoding="utf-8")
    assert read_accepted(path) == []  # every suggestion starts as accept: false
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["suggestions"][0]["accept"] = True
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    accepted = read_accepted(path)
    revision = apply_accepted(SOP, accepted)
    step = revision.sop.step(accepted[0].step_id)
    assert accepted[0].example in step.examples and len(step.examples) == 2
    assert revision.sop.version == 4 and SOP.version == 3
    again = apply_accepted(revision.sop, accepted)
    assert again.added == [] and len(again.already_there) == 1
