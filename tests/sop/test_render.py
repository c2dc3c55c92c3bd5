"""Training documents: what a new agent reads, in English and in Chinese, as Markdown and HTML."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

import pytest

from auditor.sop.loading import resolve_sop, sop_from_mapping
from auditor.sop.render import document_languages, render_training

SOP = sop_from_mapping(
    {
        "id": "returns",
        "name": "Returns",
        "version": 2,
        "languages": ["en", "zh"],
        "description": "Take back faulty goods without fuss.",
        "owner": "Li Na <li@example.com>",
        "review_interval_days": 30,
        "last_reviewed": "2025-01-01",
        "notes": ["Never argue about fault."],
        "translations": {
            "zh": {"name": "退货处理", "description": "无障碍地处理故障商品退货。", "notes": ["不要争论责任。"]}
        },
        "steps": [
            {
                "id": "apologize",
                "name": "Apologise",
                "description": "Say sorry for the trouble.",
                "examples": ["I'm sorry about this.", "非常抱歉给您带来不便。"],
                "before": ["label"],
                "translations": {"zh": {"name": "道歉", "description": "为给客户带来的麻烦道歉。"}},
            },
            {
                "id": "label",
                "name": "Send the return label",
                "examples": ["I'll email the label now."],
                "counter_examples": ["I can't send a label for this item."],
                "within_last_turns": 4,
                "critical": True,
                "notes": ["Check the e-mail address first."],
            },
            {"id": "voucher", "name": "Offer a voucher", "required": False, "when": "customer_complaint"},
            {
                "id": "blame",
                "name": "Blame the customer",
                "description": "Say the fault is the customer's.",
                "forbidden": True,
                "critical": True,
                "examples": ["You must have dropped it.", "这是您自己弄坏的。"],
                "counter_examples": ["It's not your fault.", "这不是您的责任。"],
                "translations": {"zh": {"name": "指责客户"}},
            },
        ],
    }
)
TODAY = date(2025, 3, 1)


def test_english_markdown_is_a_checklist_with_purpose_owner_rules_examples_and_notes():
    md = render_training(SOP, "en", "md", today=TODAY)
    assert md.startswith("# Returns\n")
    assert "**Purpose:** Take back faulty goods without fuss." in md
    assert "| Li Na <li@example.com> | 2 | 2025-01-01 | 2025-01-31 (overdue) |" in md
    assert "- [ ] **1. Apologise** (required)" in md
    assert "Do this before: Send the return label" in md and "Do this after: Apologise" in md
    assert "Within the last 4 turns of the conversation" in md
    assert "critical: missing it fails the call" in md
    assert "Only when the customer complains" in md
    assert "“I'm sorry about this.”" in md and "非常抱歉" not in md  # only this language's examples
    assert "Never argue about fault." in md and "Check the e-mail address first." in md
    assert "No example phrasings yet" in md  # the voucher step


def test_chinese_document_uses_translations_chinese_labels_and_chinese_examples():
    md = render_training(SOP, "zh", "md", today=TODAY)
    assert md.startswith("# 退货处理\n") and "**目的：** 无障碍地处理故障商品退货。" in md
    assert "**1. 道歉**（必做）" in md and "为给客户带来的麻烦道歉。" in md
    assert "须在以下步骤之前完成：Send the return label" in md  # untranslated step names stay as written
    assert "“非常抱歉给您带来不便。”" in md and "I'm sorry about this." not in md
    assert "不要争论责任。" in md and "Never argue about fault." not in md
    assert "参考话术（其他语言）" in md  # the label step only has an English example
    assert "仅在客户投诉时适用" in md and "已逾期" in md


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.text.append(data)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_is_self_contained_escaped_and_has_one_checkbox_per_step(lang):
    html = render_training(SOP, lang, "html", today=TODAY)
    parser = _Text()
    parser.feed(html)
    assert parser.tags.count("input") == len(SOP.steps) - 1  # one checkbox per step to do, none to never do
    assert 'id="never-say"' in html and html.index('id="never-say"') > html.index('id="step-3"')
    assert "<li@example.com>" not in html and "&lt;li@example.com&gt;" in html
    assert "http" not in html.replace("https://", "")  # no external assets
    assert f'lang="{"zh-Hans" if lang == "zh" else "en"}"' in html


def test_built_in_sop_renders_in_both_its_languages():
    sop = resolve_sop("complaint-handling")
    assert document_languages(sop) == ["en", "zh"]
    zh = render_training(sop, "zh", "md")
    assert "注意事项" in zh and "不要与客户争论责任归属" in zh and "“请您详细说一下发生了什么。”" in zh


def test_unsupported_language_is_refused():
    with pytest.raises(ValueError, match="supported: en, zh"):
        render_training(SOP, "fr", "md")


def test_forbidden_steps_are_listed_apart_and_counter_examples_under_their_step():
    md = render_training(SOP, "en", "md", today=TODAY)
    steps, never = md.split("## Never say\n")
    assert "Blame the customer" not in steps and "**4." not in steps  # not a checklist item
    assert "- **Blame the customer** (critical: saying it fails the call)" in never
    assert "Saying any of these is a violation" in never and "Say the fault is the customer's." in never
    assert "    - ✗ “You must have dropped it.”" in never and "这是您自己弄坏的" not in never
    assert "  - Not a violation:\n    - “It's not your fault.”" in never
    assert "  - Not this (in another language):" not in steps
    assert "  - Not this:\n    - “I can't send a label for this item.”" in steps
    zh = render_training(SOP, "zh", "md", today=TODAY)
    steps, never = zh.split("## 禁止\n")
    assert "- **指责客户**（关键：一旦说出即判定本次服务不合格）" in never and "✗ “这是您自己弄坏的。”" in never
    assert "  - 不算违规：\n    - “这不是您的责任。”" in never
    assert "  - 不算完成（其他语言）：\n    - “I can't send a label for this item.”" in steps


@pytest.mark.parametrize(
    "lang, heading, not_this, bad",
    [
        ("en", "Never say", "Not this:", "✗ You must have dropped it."),
        ("zh", "禁止", "不算完成（其他语言）：", "✗ 这是您自己弄坏的。"),
    ],
)
def test_html_shows_the_never_say_section_and_not_this_lines(lang, heading, not_this, bad):
    html = render_training(SOP, lang, "html", today=TODAY)
    parser = _Text()
    parser.feed(html)
    text = [part.strip() for part in parser.text if part.strip()]
    assert heading in text and not_this in text and bad in text
    assert text.index(heading) > text.index(not_this)  # the section comes after the checklist
    assert f'<blockquote class="bad">{bad}</blockquote>' in html.replace("&#39;", "'")


def test_a_forbidden_step_named_by_its_description_is_not_said_twice():
    sop = sop_from_mapping(
        {
            "id": "n",
            "name": "N",
            "steps": [
                {"id": "a", "name": "A", "examples": ["Hello."]},
                {
                    "id": "promise",
                    "name": "Never promise refunds",
                    "description": "Never promise refunds",
                    "forbidden": True,
                },
            ],
        }
    )
    assert render_training(sop, "en", "md").count("Never promise refunds") == 1


def test_every_registered_condition_has_a_label_in_every_rendered_language():
    """A condition added to the registry must be said in the rendered SOP, in each language, not crash rendering."""
    from auditor.checklist.conditions import condition_names
    from auditor.sop.render import LABELS

    missing = [(lang, name) for lang, labels in LABELS.items() for name in condition_names() if name not in labels]
    assert condition_names() and missing == []
