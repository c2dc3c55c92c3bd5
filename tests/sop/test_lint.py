"""`auditor sops check` findings: each lint rule on a small SOP that breaks it, with file, line, step and field."""

from __future__ import annotations

from datetime import date

import pytest

from auditor.sop.lint import LintOptions, lint_sop
from auditor.sop.loading import builtin_sop_paths, load_sop, sop_from_text

TODAY = date(2025, 6, 1)


def findings(text: str, embedder=None, **options):  # type: ignore[no-untyped-def]
    sop = sop_from_text(text, source="s.yaml")
    return lint_sop(sop, source="s.yaml", text=text, embedder=embedder, options=LintOptions(today=TODAY, **options))


def codes(found) -> set[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return {(f.code, f.step_id) for f in found}


HEAD = "id: t\nname: T\nowner: QA\nreview_interval_days: 90\nlast_reviewed: 2025-05-01\nlanguages: [en]\nsteps:\n"


def test_a_step_with_only_a_name_is_warned_and_one_without_examples_gets_a_hint():
    found = findings(
        HEAD + "  - id: greet\n    name: Greet\n  - id: close\n    name: Close\n    description: Say bye.\n"
    )
    assert ("no_description_or_examples", "greet") in codes(found)
    assert ("no_examples", "close") in codes(found)
    greet = next(f for f in found if f.step_id == "greet")
    assert (greet.severity, greet.line, greet.path) == ("warning", 8, "s.yaml")
    assert str(greet).startswith("s.yaml:8: warning: step 'greet'")


def test_identical_examples_and_keywords_in_two_steps_are_reported_without_an_embedder():
    text = HEAD + (
        "  - id: greet\n    name: Greet\n    examples: ['Hello, how can I help?']\n    keywords: [hello there]\n"
        "  - id: offer\n    name: Offer help\n    examples: ['hello how can I help']\n    keywords: ['Hello there']\n"
    )
    found = codes(findings(text))
    assert ("example_in_two_steps", "offer") in found
    assert ("keyword_in_two_steps", "offer") in found


def test_examples_too_similar_across_steps_are_found_by_meaning(hashing_embedder):
    text = HEAD + (
        "  - id: start_time\n    name: Ask the start time\n    examples: ['What time should the visit begin?']\n"
        "  - id: end_time\n    name: Ask the end time\n    examples: ['What time should the visit begin, roughly?']\n"
        "  - id: pay\n    name: Take payment\n    examples: ['Please read me the card number.']\n"
    )
    found = findings(text, embedder=hashing_embedder, example_similarity=0.7)
    similar = [f for f in found if f.code == "examples_too_similar"]
    assert [(f.step_id, f.field) for f in similar] == [("end_time", "examples")]
    assert "start_time" in similar[0].message
    assert not [
        f
        for f in findings(text, embedder=hashing_embedder, example_similarity=0.99)
        if f.code == "examples_too_similar"
    ]


def test_order_rules_that_contradict_the_list_or_the_position_rules():
    text = HEAD + (
        "  - id: greet\n    name: Greet\n    description: d\n    within_first_turns: 2\n"
        "  - id: close\n    name: Close\n    description: d\n    before: [greet]\n    within_last_turns: 2\n"
    )
    found = codes(findings(text))
    assert ("order_against_list", "close") in found
    assert ("order_contradicts_position", "close") in found


def test_unreachable_order_and_critical_but_optional_steps():
    text = HEAD + (
        "  - id: ask\n    name: Ask\n    description: d\n    before: [state]\n    critical: true\n    required: false\n"
        "  - id: state\n    name: Customer states the need\n    description: d\n    speaker: customer\n"
        "    within_first_turns: 1\n"
    )
    found = codes(findings(text))
    assert ("unreachable_order", "ask") in found
    assert ("critical_but_optional", "ask") in found


def test_conditions_on_customer_steps_and_in_unsupported_languages():
    text = HEAD.replace("languages: [en]", "languages: [en, ja]") + (
        "  - id: vent\n    name: Customer vents\n    description: d\n    speaker: customer\n"
        "    when: customer_complaint\n"
    )
    found = codes(findings(text))
    assert ("condition_on_customer_step", "vent") in found
    assert ("condition_language", "vent") in found


def test_generic_keywords_and_missing_language_examples():
    text = HEAD.replace("languages: [en]", "languages: [en, zh]") + (
        "  - id: thank\n    name: Thank\n    description: d\n    examples: ['Thanks for calling']\n"
        "    keywords: [thanks, 好, thanks for calling us]\n"
    )
    found = findings(text)
    generic = [f.message for f in found if f.code == "generic_keyword"]
    assert len(generic) == 2 and any("'好'" in m for m in generic)
    assert ("no_examples_in_language", "thank") in codes(found)


@pytest.mark.parametrize(
    "review, code",
    [
        ("review_interval_days: 30\nlast_reviewed: 2025-01-01\n", "review_overdue"),
        ("review_interval_days: 30\n", "review_overdue"),
        ("", "no_review_interval"),
    ],
)
def test_review_metadata(review, code):
    text = "id: t\nname: T\nowner: QA\n" + review + "steps:\n  - {id: a, name: A, description: d}\n"
    found = findings(text)
    assert code in {f.code for f in found}
    if code == "review_overdue" and "last_reviewed" in review:
        overdue = next(f for f in found if f.code == "review_overdue")
        assert "2025-01-31" in overdue.message and overdue.line == 5


def test_a_fresh_review_and_an_owner_give_no_metadata_findings():
    found = findings(HEAD + "  - {id: a, name: A, description: d, examples: [Hello there friend]}\n")
    assert not {f.code for f in found} & {"review_overdue", "no_owner", "no_review_interval"}


@pytest.mark.parametrize("sop_id", sorted(builtin_sop_paths()))
def test_built_in_sops_have_no_warnings(sop_id, hashing_embedder):
    path = builtin_sop_paths()[sop_id]
    sop = load_sop(path)
    found = lint_sop(sop, source=str(path), text=path.read_text(encoding="utf-8"), embedder=hashing_embedder)
    assert [str(f) for f in found if f.severity == "warning" and f.code != "review_overdue"] == []


def test_a_counter_example_that_paraphrases_an_example_of_its_own_step_is_warned(hashing_embedder):
    text = HEAD + (
        "  - id: freeze\n    name: Freeze the card\n    description: d\n"
        '    examples: ["I\'ve frozen your card for you just now."]\n'
        "    counter_examples:\n"
        '      - "I can\'t freeze cards over the phone, please use the app."\n'
        '      - "I have frozen your card for you just now."\n'
    )
    found = findings(text, embedder=hashing_embedder)
    cancels = [f for f in found if f.code == "counter_example_cancels_example"]
    assert [(f.step_id, f.field, f.line, f.severity) for f in cancels] == [
        ("freeze", "counter_examples", 12, "warning")
    ]
    assert "'I have frozen your card for you just now.'" in cancels[0].message
    assert "near duplicate of the step's example" in cancels[0].message and "similarity 0.90" in cancels[0].message
    assert not [f for f in findings(text) if f.code == "counter_example_cancels_example"]  # needs an embedder
    stricter = findings(text, embedder=hashing_embedder, counter_example_similarity=0.95)
    assert "counter_example_cancels_example" not in {f.code for f in stricter}


def test_counter_examples_holding_a_keyword_or_listed_twice(hashing_embedder):
    text = HEAD + (
        '  - id: freeze\n    name: Freeze the card\n    description: d\n    examples: ["Your card is frozen now."]\n'
        "    keywords: [freeze your card, 冻结]\n"
        '    counter_examples: ["Sorry, I can\'t FREEZE your card by phone.", "挂失凍結需要您本人到網點辦理",'
        ' "Sorry, I can\'t freeze your card by phone", "We could unfreeze your cardholder account"]\n'
    )
    found = findings(text)
    keyword = [f for f in found if f.code == "counter_example_has_keyword"]
    assert len(keyword) == 3 and {f.field for f in keyword} == {"keywords"}  # not "unfreeze your cardholder"
    assert any("'冻结'" in f.message and "挂失凍結" in f.message for f in keyword)  # traditional text matches too
    assert ("duplicate_counter_example", "freeze") in codes(found)


def test_forbidden_steps_without_examples_said_by_customers_or_not_scored():
    text = HEAD + (
        "  - id: promise\n    name: Never guarantee a refund\n    description: The agent guarantees a refund.\n"
        "    forbidden: true\n    required: false\n    critical: false\n"
        "  - id: swear\n    name: Swear at the agent\n    description: d\n    speaker: customer\n    forbidden: true\n"
        "    keywords: [damn you]\n    required: false\n    critical: true\n"
    )
    found = findings(text)
    warning = next(f for f in found if f.code == "forbidden_without_examples")
    assert (warning.step_id, warning.severity, warning.field) == ("promise", "warning", "examples")
    assert "zero-shot from its description" in warning.message
    assert not {"no_examples", "no_description_or_examples"} & {f.code for f in found if f.step_id == "promise"}
    assert ("forbidden_customer_step", "swear") in codes(found)
    assert ("forbidden_not_scored", "promise") in codes(found)
    assert ("forbidden_not_scored", "swear") not in codes(found)  # critical: a violation fails the call
    assert ("critical_but_optional", "swear") not in codes(found)  # "missing it fails" does not apply


def test_a_prohibition_in_the_notes_with_no_forbidden_step_gets_a_hint():
    text = HEAD.replace("steps:\n", 'notes: ["Never promise a refund.", "Be kind."]\nsteps:\n') + (
        "  - {id: a, name: A, description: d, examples: [Hello there friend]}\n"
    )
    hints = [f for f in findings(text) if f.code == "prohibition_not_audited"]
    assert len(hints) == 1 and hints[0].severity == "info" and "Never promise a refund." in hints[0].message
    with_step = text + "  - {id: promise, name: Promise, forbidden: true, examples: [I guarantee it]}\n"
    assert "prohibition_not_audited" not in {f.code for f in findings(with_step)}
