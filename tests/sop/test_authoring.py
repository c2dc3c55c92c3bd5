"""Scaffolding an SOP from a pasted checklist (Chinese and English), and writing SOPs back as YAML."""

from __future__ import annotations

from datetime import date

import pytest

from auditor.sop.authoring import ChecklistError, draft_to_sop, parse_checklist, seed_from_library, unique_ids
from auditor.sop.loading import SopError, builtin_sop_paths, load_sop, resolve_sop, sop_from_text
from auditor.sop.writing import sop_to_yaml
from tests.conftest import REPO

ZH_ONE_LINE = "1. 聆听 2. 感谢 3. 确认理解 4. 道歉 5. 解决 6. 补偿（可选） 7. 回访 8. 记录"

ZH_DOCUMENT = """\
# 投诉处理
目的：处理客户投诉，从聆听到登记
负责人：客服质检组 张敏
1. 聆听：让客户完整说明问题
   - "请您详细说一下发生了什么"
   - 您慢慢说，具体是什么情况？
   - 关键词：发生了什么、事情的经过
   - 注意：不要打断客户
2. 补偿（可选）
3. 核实身份（关键）：核对姓名和手机号
注意事项：
- 不得承诺无法兑现的赔偿
- 全程使用“您”
"""

EN_MARKDOWN = """\
## Complaint handling
Owner: QA team
- [ ] Greet the caller: say the company and your name
  - "Thanks for calling Acme, this is Sam"
  - Keywords: thanks for calling, this is
- [ ] Verify the customer's identity (critical)
- [ ] Offer a goodwill credit (optional)
"""


def test_a_one_line_chinese_checklist_becomes_steps_with_ascii_ids():
    draft = parse_checklist(ZH_ONE_LINE)
    assert [s.name for s in draft.steps] == ["聆听", "感谢", "确认理解", "道歉", "解决", "补偿", "回访", "记录"]
    assert [s.required for s in draft.steps].count(False) == 1 and not draft.steps[5].required
    sop = draft_to_sop(draft)
    expected = ["listen", "thank", "confirm_understanding", "apologize", "resolve", "compensate", "follow_up", "record"]
    assert [s.id for s in sop.steps] == expected
    assert sop.languages == ["zh"] and sop.version == 1 and sop.review_interval_days == 90


def test_a_chinese_document_keeps_purpose_owner_examples_keywords_and_notes():
    draft = parse_checklist(ZH_DOCUMENT)
    assert (draft.name, draft.description, draft.owner) == ("投诉处理", "处理客户投诉，从聆听到登记", "客服质检组 张敏")
    listen, compensate, verify = draft.steps
    assert listen.description == "让客户完整说明问题"
    assert listen.examples == ["请您详细说一下发生了什么", "您慢慢说，具体是什么情况？"]
    assert listen.keywords == ["发生了什么", "事情的经过"] and listen.notes == ["不要打断客户"]
    assert not compensate.required and verify.critical and verify.name == "核实身份"
    assert draft.notes == ["不得承诺无法兑现的赔偿", "全程使用“您”"]


def test_an_english_markdown_checklist_with_checkboxes():
    draft = parse_checklist(EN_MARKDOWN)
    sop = draft_to_sop(draft)
    assert sop.name == "Complaint handling" and sop.owner == "QA team" and sop.languages == ["en"]
    assert [s.id for s in sop.steps] == ["greet", "verify_identity", "offer_goodwill_credit"]
    greet = sop.steps[0]
    assert greet.description == "say the company and your name"
    assert greet.examples == ["Thanks for calling Acme, this is Sam"] and greet.keywords == [
        "thanks for calling",
        "this is",
    ]
    assert sop.steps[1].critical and not sop.steps[2].required


@pytest.mark.parametrize(
    "names, ids",
    [
        (["Greet", "Greet"], ["greet", "greet_2"]),
        (["开场", "报价", "签约"], ["greet", "step_2", "step_3"]),
        (["1st contact"], ["step_1st_contact"]),
    ],
)
def test_step_ids_are_unique_and_valid(names, ids):
    assert unique_ids(names) == ids


def test_text_without_items_is_a_clear_error():
    with pytest.raises(ChecklistError, match="no checklist items"):
        parse_checklist("Just some prose about our service.")


def test_steps_are_seeded_with_built_in_examples_in_the_checklists_language_only():
    draft = parse_checklist(ZH_ONE_LINE)
    seeds = seed_from_library(draft, [load_sop(p) for p in builtin_sop_paths().values()])
    assert seeds[0].step_id == "listen" and seeds[0].sop_id == "complaint-handling"
    assert len(seeds) == 8
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e) for s in draft.steps for e in s.examples)


def test_a_step_that_has_examples_is_not_seeded():
    draft = parse_checklist('1. 聆听\n   - "我在听，您说"\n2. 感谢')
    seeds = seed_from_library(draft, [resolve_sop("complaint-handling")])
    assert list(seeds) == [1] and draft.steps[0].examples == ["我在听，您说"]


@pytest.mark.parametrize(
    "path", sorted(builtin_sop_paths().values()) + sorted((REPO / "bench" / "star_sops").glob("*.yaml"))
)
def test_written_yaml_loads_back_to_the_same_sop(path):
    sop = load_sop(path)
    assert sop_from_text(sop_to_yaml(sop, header="a\nb", step_comments={sop.steps[0].id: "seeded"})) == sop


def test_scaffolded_sop_round_trips_with_its_review_date():
    sop = draft_to_sop(parse_checklist(ZH_DOCUMENT), today=date(2025, 1, 2))
    text = sop_to_yaml(sop)
    assert "last_reviewed: 2025-01-02" in text and "负责人" not in text
    assert sop_from_text(text) == sop


PROHIBITIONS = """\
# 挂失服务
1. 核实身份（关键）：核对姓名和手机号
   - "请提供您的姓名和预留手机号"
   - 反例：身份验证就免了吧
   - Not this: "I can't check who you are by phone"
2. 不得承诺保证退款（关键）
   - "我保证这笔钱一定能退回来"
   - 不算违规：结果我没办法向您承诺
3. 禁止推诿：不得说“这不归我管”
4. 严禁向客户索要密码
5. Never blame the customer
6. Do not promise a guaranteed outcome
注意事项：
- 不得承诺无法兑现的赔偿
"""


def test_never_and_bu_de_lines_become_forbidden_steps_with_their_text_as_description():
    draft = parse_checklist(PROHIBITIONS)
    verify, promise, shirk, password, blame, outcome = draft.steps
    assert not verify.forbidden and verify.counter_examples == [
        "身份验证就免了吧",
        "I can't check who you are by phone",
    ]
    assert all(step.forbidden for step in (promise, shirk, password, blame, outcome))
    assert (promise.name, promise.description, promise.critical) == ("不得承诺保证退款", "不得承诺保证退款", True)
    assert promise.examples == ["我保证这笔钱一定能退回来"] and promise.counter_examples == ["结果我没办法向您承诺"]
    assert (shirk.name, shirk.description) == ("禁止推诿", "不得说“这不归我管”")  # "name: description" keeps both
    assert blame.description == "Never blame the customer"
    assert draft.notes == ["不得承诺无法兑现的赔偿"]  # a note stays a note
    sop = draft_to_sop(draft, today=date(2025, 1, 2))
    assert [s.id for s in sop.steps][4:] == ["blame", "promise_guaranteed_outcome"]  # "Never"/"Do not" left out
    text = sop_to_yaml(sop)
    assert text.count("forbidden: true") == 5 and "forbidden: false" not in text
    assert text.count("counter_examples:") == 2 and "counter_examples: []" not in text
    assert sop_from_text(text) == sop


def test_a_checklist_whose_counter_example_repeats_an_example_is_refused_with_the_step_named():
    draft = parse_checklist('1. Greet\n   - "Hello, Acme here"\n   - Not this: hello, ACME here!\n')
    with pytest.raises(SopError) as caught:
        draft_to_sop(draft)
    assert [(p.step_id, p.field, p.code) for p in caught.value.problems] == [
        ("greet", "counter_examples", "counter_example_is_example")
    ]


def test_seeding_copies_from_a_built_in_step_of_the_same_kind_only():
    library = [load_sop(p) for p in builtin_sop_paths().values()]
    draft = parse_checklist("1. Never guarantee\n2. Verify identity\n3. Do not greet")
    seeds = seed_from_library(draft, library)
    guarantee, verify, greet = draft.steps
    assert (seeds[0].sop_id, seeds[0].step_id) == ("bank-phone-service", "promise_guarantee")
    assert guarantee.examples and all(e.isascii() for e in guarantee.examples + guarantee.counter_examples)
    assert "I can't guarantee the outcome, but I'll raise the dispute for you today." in guarantee.counter_examples
    assert 1 in seeds and verify.counter_examples  # a step to do gets its counter-examples too
    assert 2 not in seeds and greet.examples == []  # "greet" examples are not examples of a forbidden thing
