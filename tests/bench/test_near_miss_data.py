"""The near-miss benchmark's data and its call building (no model: the audits themselves run in the benchmark)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from opencc import OpenCC

from auditor.conversation import Conversation, Role
from auditor.sop.loading import load_sop
from auditor.text.normalise import has_han
from bench.near_miss import (
    ACTS,
    LANGS,
    SOPS,
    Outcome,
    Run,
    build_call,
    choose_template,
    language_table,
    load_cases,
    load_templates,
    problems,
    report,
    sop_by_id,
    sop_in_language,
    variants,
)
from bench.report import replace_section
from tests.conftest import make_conversation

CASES = load_cases()
TEMPLATES = load_templates()


def _texts(lang: str) -> list[str]:
    return [variant.text for case in CASES if case.lang == lang for variant in variants(case)]


def test_enough_agent_turns_in_every_script() -> None:
    per_lang = {lang: len(_texts(lang)) for lang in LANGS}
    assert sum(per_lang.values()) >= 300
    assert all(count >= 100 for count in per_lang.values()), per_lang


def test_no_data_problems() -> None:
    # every case's SOP and step exist, >= 2 performs and >= 2 near misses, known acts, a template with the step
    assert problems(CASES, TEMPLATES) == []


def test_every_case_has_two_performances_and_two_near_misses_with_known_acts() -> None:
    for case in CASES:
        assert len(case.performs) >= 2 and len(case.near_misses) >= 2, case.key
        assert {act for act, _ in case.near_misses} <= set(ACTS), case.key
        assert len(set(case.performs) | {text for _, text in case.near_misses}) == len(variants(case)), case.key


def test_every_step_exists_and_every_act_is_used() -> None:
    for case in CASES:
        assert case.step in {step.id for step in sop_by_id(case.sop).steps}, case.key
    used = Counter(act for case in CASES for act, _ in case.near_misses)
    assert set(used) == set(ACTS), set(ACTS) - set(used)


def test_texts_are_in_their_script() -> None:
    assert not any(has_han(text) for text in _texts("en"))
    assert all(has_han(text) for lang in ("zh-Hans", "zh-Hant") for text in _texts(lang))


def test_same_steps_in_every_language() -> None:
    steps = {lang: {(case.sop, case.step) for case in CASES if case.lang == lang} for lang in LANGS}
    assert steps["en"] == steps["zh-Hans"] == steps["zh-Hant"]


def test_traditional_texts_are_not_just_converted_simplified() -> None:
    t2s = OpenCC("t2s")
    traditional = _texts("zh-Hant")
    simplified = set(_texts("zh-Hans"))
    unchanged = [text for text in traditional if t2s.convert(text) == text]
    copied = [text for text in traditional if t2s.convert(text) in simplified]
    assert len(unchanged) <= len(traditional) // 10, unchanged
    assert copied == []


def test_every_case_has_a_template_with_the_step() -> None:
    for case in CASES:
        template = choose_template(TEMPLATES.get((case.sop, case.lang), []), case.step)
        assert template is not None, case.key
        assert any(case.step in (turn.gold_steps or ()) for turn in template.turns if turn.role is Role.AGENT)


def test_own_sops_load_with_translations_and_examples_in_both_scripts() -> None:
    paths = sorted(SOPS.glob("*.yaml"))
    assert len(paths) >= 2
    for path in paths:
        sop = load_sop(path)
        assert sop.id == path.stem
        for step in sop.steps:
            assert step.translations["zh"].name and step.translations["zh"].description, (sop.id, step.id)
            assert any(has_han(e) for e in step.examples) and any(not has_han(e) for e in step.examples), step.id
        assert any(step.critical for step in sop.steps) or sop.id != "card-services"
        for lang in LANGS:
            assert TEMPLATES.get((sop.id, lang)), (sop.id, lang)


def test_sop_language_variants_keep_one_script() -> None:
    sop = sop_by_id("card-services")
    english, chinese = sop_in_language(sop, "en"), sop_in_language(sop, "zh")
    for en_step, zh_step, step in zip(english.steps, chinese.steps, sop.steps, strict=True):
        assert en_step.examples and not any(has_han(e) for e in en_step.examples + en_step.keywords)
        assert zh_step.examples and all(has_han(e) for e in zh_step.examples + zh_step.keywords)
        assert en_step.name == step.name
        assert zh_step.name == step.translations["zh"].name and has_han(zh_step.description)
        assert (en_step.critical, en_step.within_first_turns) == (step.critical, step.within_first_turns)
    assert chinese.languages == ["zh"] and has_han(chinese.name)
    # a step without a translation keeps its English name in the Chinese variant; one with it takes the Chinese
    bank = sop_by_id("bank-phone-service")
    untranslated = bank.model_copy(update={"steps": [bank.steps[0].model_copy(update={"translations": {}})]})
    assert sop_in_language(untranslated, "zh").steps[0].name == bank.steps[0].name
    assert sop_in_language(bank, "zh").steps[0].name == bank.steps[0].translations["zh"].name


def _labelled(conversation: Conversation, gold: list[tuple[str, ...] | None]) -> Conversation:
    turns = [dataclasses.replace(turn, gold_steps=steps) for turn, steps in zip(conversation.turns, gold, strict=True)]
    return dataclasses.replace(conversation, turns=turns)


def _tiny_call() -> Conversation:
    call = make_conversation(
        [
            ("agent", "Hello, Acme Bank, Sam speaking."),
            ("customer", "My card is gone."),
            ("agent", "I've frozen it."),
            ("customer", "Thanks."),
            ("agent", "It stays frozen, and I've ordered a new one."),
            ("agent", "Yes, it's frozen."),
            ("agent", "Goodbye."),
        ],
        conversation_id="tiny",
    )
    return _labelled(
        call, [("greet",), None, ("freeze_card",), None, ("freeze_card", "reissue"), ("freeze_card",), ("close",)]
    )


def test_build_call_replaces_the_first_turn_and_fills_later_ones() -> None:
    template = _tiny_call()
    built = build_call(
        template, "freeze_card", "I can't freeze it by phone.", filler="OK.", call_id="v1", performs=False
    )
    assert built.id == "v1"
    assert [turn.text for turn in built.turns] == [
        "Hello, Acme Bank, Sam speaking.",
        "My card is gone.",
        "I can't freeze it by phone.",
        "Thanks.",
        "It stays frozen, and I've ordered a new one.",  # labelled with another step too: kept
        "OK.",  # labelled with the step only: neutral filler
        "Goodbye.",
    ]
    assert built.turns[2].gold_steps == () and built.turns[5].gold_steps == ()
    assert [turn.index for turn in built.turns] == list(range(7))
    assert template.turns[2].text == "I've frozen it."  # the template is not changed
    performed = build_call(template, "freeze_card", "Your card is frozen.", filler="OK.", call_id="v2", performs=True)
    assert performed.turns[2].gold_steps == ("freeze_card",)


def test_build_call_needs_the_step() -> None:
    with pytest.raises(ValueError):
        build_call(_tiny_call(), "offer_sms_alerts", "x", filler="OK.", call_id="v", performs=True)


def test_choose_template_prefers_calls_where_the_step_is_alone() -> None:
    mixed = _tiny_call()
    clean = make_conversation(
        [("agent", "Hi."), ("agent", "Frozen now."), ("agent", "Still frozen.")], conversation_id="z"
    )
    clean = _labelled(clean, [("greet",), ("freeze_card",), ("freeze_card",)])
    assert choose_template([mixed, clean], "freeze_card") is clean  # mixed keeps the step in a later turn
    assert choose_template([mixed, clean], "close") is mixed
    assert choose_template([mixed, clean], "offer_sms_alerts") is None


def test_tables_count_uncertain_apart_from_credited(tmp_path) -> None:
    case = CASES[0]
    performs = [v for v in variants(case) if v.kind == "perform"][:2]
    misses = [v for v in variants(case) if v.kind == "near_miss"][:2]
    outcomes = [
        Outcome(performs[0], "en", "done", False, True, "passed", True),
        Outcome(performs[1], "en", "late", False, True, "passed", True),
        Outcome(misses[0], "en", "uncertain", False, False, "needs_review", True),
        Outcome(misses[1], "en", "missing", False, False, "failed", False),
    ]
    row = next(line for line in language_table(outcomes).splitlines() if line.startswith(f"| {case.lang} | en |"))
    # 2 near misses: none credited, half uncertain; 2 performances: both credited (late counts)
    assert [cell.strip(" |") for cell in row.split(" | ")[2:8]] == ["2", "0.00", "0.50", "2", "1.00", "0.00"]
    run = Run(noise=False, outcomes=outcomes, template_checks=[(case, "en", True)], seconds=1.0)
    text = report([run], [case])
    assert "false-done rate" in text and "credited" in text and "uncertain" in text.lower()
    docs = tmp_path / "benchmarks.md"
    replace_section("near-miss", "python -m bench.near_miss --write", text, path=docs)
    assert "<!-- begin near-miss -->" in docs.read_text(encoding="utf-8")
