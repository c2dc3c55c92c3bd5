"""SOP validation: every problem reported at once, each naming file, step and field; built-in SOPs load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.checklist.conditions import builtin_conditions, condition_names
from auditor.detection.registry import DETECTORS, detector_names
from auditor.sop.json_schema import SCHEMA_PATH, sop_json_schema
from auditor.sop.loading import SopError, builtin_sop_paths, load_sop, resolve_sop, sop_from_mapping

BAD_SOP = """\
id: broken
name: Broken SOP
steps:
  - id: greet
    name: Greet
    within_first_turns: 0
    colour: blue
  - id: verify
    name: ""
    before: [greet, nowhere]
  - id: greet
    name: Greet again
    speaker: robot
"""


def write(tmp_path: Path, text: str, name: str = "sop.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_all_problems_are_reported_at_once_with_file_step_and_field(tmp_path):
    path = write(tmp_path, BAD_SOP)
    with pytest.raises(SopError) as caught:
        load_sop(path)
    found = {(p.step_id, p.field, p.code) for p in caught.value.problems}
    assert ("greet", "within_first_turns", "greater_than_equal") in found
    assert ("greet", "colour", "unknown_field") in found
    assert ("verify", "name", "string_too_short") in found
    assert ("verify", "before", "unknown_step") in found
    assert ("greet", "speaker", "literal_error") in found
    assert ("greet", "id", "duplicate_step") in found
    assert all(p.path == str(path) for p in caught.value.problems)
    assert str(path) in str(caught.value) and "step 'verify'" in str(caught.value)


def test_order_cycle_is_reported(tmp_path):
    path = write(
        tmp_path, "id: c\nname: C\nsteps:\n  - {id: a, name: A, before: [b]}\n  - {id: b, name: B, before: [a]}\n"
    )
    with pytest.raises(SopError) as caught:
        load_sop(path)
    assert [p.code for p in caught.value.problems] == ["order_cycle"]
    assert "a -> b -> a" in caught.value.problems[0].message


@pytest.mark.parametrize(
    "text, code",
    [
        ("id: x\nname: [unclosed\n", "invalid_yaml"),
        ("- just\n- a list\n", "not_a_mapping"),
        ("id: x\nname: X\nsteps: []\n", "too_short"),
    ],
)
def test_malformed_files_get_a_clear_code(tmp_path, text, code):
    with pytest.raises(SopError) as caught:
        load_sop(write(tmp_path, text))
    assert caught.value.problems[0].code == code


def test_unknown_sop_id_lists_the_built_in_ones():
    with pytest.raises(SopError) as caught:
        resolve_sop("no-such-sop")
    assert "general-inbound-call" in str(caught.value)


def test_minimal_step_gets_contract_defaults(tmp_path):
    sop = load_sop(write(tmp_path, "id: m\nname: M\nsteps:\n  - {id: greet, name: Greet the caller}\n"))
    step = sop.steps[0]
    assert (step.speaker, step.required, step.critical, step.before, step.when) == ("agent", True, False, [], None)


@pytest.mark.parametrize("sop_id", sorted(builtin_sop_paths()))
def test_built_in_sops_are_valid_and_bilingual(sop_id):
    sop = resolve_sop(sop_id)
    assert sop.id == sop_id
    for step in sop.steps:
        has_zh = any(any("\u4e00" <= ch <= "\u9fff" for ch in example) for example in step.examples)
        has_en = any(example.isascii() for example in step.examples)
        assert has_zh and has_en, f"{sop_id}/{step.id} needs English and Chinese examples"


def test_at_least_four_built_in_sops_ship():
    assert {"complaint-handling", "service-request", "general-inbound-call"} <= set(builtin_sop_paths())
    assert len(builtin_sop_paths()) >= 4


def test_exported_json_schema_is_up_to_date():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == sop_json_schema(), "run: python -m auditor.sop.json_schema"
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert "steps" in schema["required"]


FORBIDDEN_BROKEN = """\
id: cards
name: Cards
steps:
  - id: freeze_card
    name: Freeze the card
    examples: ["I've frozen your card.", "我已经帮您把卡冻结了。"]
    keywords: [freeze your card]
    counter_examples:
      - "I’VE FROZEN YOUR CARD!"
      - 我已經幫您把卡凍結了
      - Freeze your card
      - I can't freeze it by phone.
    before: [promise]
  - id: promise
    name: Never guarantee a refund
    forbidden: true
    examples: ["I guarantee you'll get your money back."]
    within_first_turns: 3
    within_last_turns: 2
    when: customer_complaint
"""


def test_counter_examples_equal_to_the_steps_own_phrases_and_rules_on_forbidden_steps_are_errors(tmp_path):
    path = write(tmp_path, FORBIDDEN_BROKEN)
    with pytest.raises(SopError) as caught:
        load_sop(path)
    problems = caught.value.problems
    found = {(p.step_id, p.field, p.code) for p in problems}
    assert found == {
        ("freeze_card", "counter_examples", "counter_example_is_example"),
        ("promise", "within_first_turns", "forbidden_step_rule"),
        ("promise", "within_last_turns", "forbidden_step_rule"),
        ("promise", "when", "forbidden_step_rule"),
        ("freeze_card", "before", "before_forbidden_step"),
    }
    counter = next(p for p in problems if p.code == "counter_example_is_example")
    # case, punctuation, full-width and traditional characters do not make a different phrasing
    for shown in ("'I’VE FROZEN YOUR CARD!'", "'我已經幫您把卡凍結了'", "keyword 'freeze your card'"):
        assert shown in counter.message
    assert "I can't freeze it by phone" not in counter.message  # a real counter-example is fine
    rule = next(p for p in problems if p.field == "when")
    assert "a forbidden step cannot have when" in rule.message and "when a step is done" in rule.message
    assert (rule.path, rule.line) == (str(path), 20)
    ordered = next(p for p in problems if p.code == "before_forbidden_step")
    assert "'promise', a forbidden step" in ordered.message and ordered.line == 13
    assert f"{path}:13: step 'freeze_card': field 'before'" in str(caught.value)


def test_a_forbidden_step_with_a_before_rule_is_refused_and_required_is_allowed(tmp_path):
    text = (
        "id: f\nname: F\nsteps:\n  - {id: a, name: A}\n"
        "  - {id: blame, name: Blame the customer, forbidden: yes, required: false, critical: true, before: [a]}\n"
    )
    with pytest.raises(SopError) as caught:
        load_sop(write(tmp_path, text))
    assert [(p.step_id, p.field, p.code) for p in caught.value.problems] == [("blame", "before", "forbidden_step_rule")]


def test_forbidden_steps_and_counter_examples_load_and_default_to_off(tmp_path):
    text = (
        "id: f\nname: F\nsteps:\n  - {id: greet, name: Greet, before: [], when: null}\n"
        "  - id: blame\n    name: Blame the customer\n    forbidden: true\n    before: []\n    when: null\n"
        '    examples: ["That\'s your own fault."]\n    counter_examples: ["It\'s not your fault."]\n'
    )
    sop = load_sop(write(tmp_path, text))
    greet, blame = sop.steps
    assert (greet.forbidden, greet.counter_examples) == (False, [])
    assert blame.forbidden and blame.counter_examples == ["It's not your fault."] and blame.required


def test_json_schema_knows_the_new_step_fields_and_the_forbidden_rule():
    step = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["$defs"]["Step"]
    assert step["properties"]["counter_examples"]["type"] == "array"
    assert step["properties"]["forbidden"] == step["properties"]["forbidden"] | {"type": "boolean", "default": False}
    assert step["if"]["properties"]["forbidden"] == {"const": True}
    assert set(step["then"]["properties"]) == {
        "before",
        "within_first_turns",
        "within_first_seconds",
        "within_last_turns",
        "when",
    }


UNKNOWN_NAMES = """\
id: names
name: Names
steps:
  - id: greet
    name: Greet
  - id: verify
    name: Verify
    detector: telepathy
    when: customer_is_sad
"""


def test_a_step_naming_no_registered_detector_or_condition_gets_both_problems_with_step_and_field(tmp_path):
    path = write(tmp_path, UNKNOWN_NAMES)
    with pytest.raises(SopError) as caught:
        load_sop(path)
    problems = caught.value.problems
    assert [(p.code, p.step_id, p.field, p.line) for p in problems] == [
        ("unknown_detector", "verify", "detector", 8),
        ("unknown_condition", "verify", "when", 9),
    ]
    assert problems[0].message == f"no built-in detector 'telepathy' (known: {', '.join(detector_names())})"
    assert problems[1].message == f"no built-in condition 'customer_is_sad' (known: {', '.join(condition_names())})"
    assert f"{path}:9: step 'verify': field 'when': no built-in condition 'customer_is_sad'" in str(caught.value)


def test_unknown_names_show_beside_field_errors():
    raw = {"id": "n", "name": "N", "steps": [{"name": "No id", "when": "nope"}, {"id": "b", "name": "B", "x": 1}]}
    with pytest.raises(SopError) as caught:
        sop_from_mapping(raw)
    found = {(p.code, p.step_id, p.field) for p in caught.value.problems}
    assert {("missing", "#1", "id"), ("unknown_field", "b", "x"), ("unknown_condition", "#1", "when")} <= found


@pytest.mark.parametrize("condition", condition_names())
@pytest.mark.parametrize("detector", detector_names())
def test_every_registered_detector_and_condition_is_accepted(detector, condition):
    raw = {"id": "n", "name": "N", "steps": [{"id": "a", "name": "A", "detector": detector, "when": condition}]}
    step = sop_from_mapping(raw).steps[0]
    assert (step.detector, step.when) == (detector, condition)


def test_the_registries_are_the_lists_of_names_and_the_schema_offers_them_to_editors():
    assert detector_names() == list(DETECTORS) and detector_names()
    assert condition_names() == list(builtin_conditions()) and condition_names()
    step = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["$defs"]["Step"]["properties"]
    assert step["when"]["anyOf"][0] == {"enum": condition_names(), "type": "string"}
    assert step["detector"]["anyOf"][0] == {"enum": detector_names(), "type": "string"}
