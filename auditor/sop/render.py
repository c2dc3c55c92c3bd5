"""Publish an SOP as a training document for agents (Markdown and HTML), one per language.

The document says what the agent must do, in order, with phrasings to use: title, purpose, owner, review
dates, the steps as a checklist (with example phrasings in the document's language, and the phrasings that
sound like a step but do not count: "Not this"), order and position rules in words, the notes, and what the
agent must never say (forbidden steps, in their own section). Labels are translated; the SOP's own text comes
from ``translations`` when the owner wrote it for that language, else as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape

from auditor.sop.review_due import review_status
from auditor.sop_format import Sop, Step
from auditor.text.normalise import detect_lang

TEMPLATES = Path(__file__).parent / "templates"
Format = Literal["md", "html"]
SUPPORTED_LANGUAGES = ("en", "zh")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "purpose": "Purpose",
        "owner": "Owner",
        "version": "Version",
        "last_reviewed": "Last reviewed",
        "next_review": "Next review",
        "overdue": "overdue",
        "steps": "Steps",
        "say_it": "Say it like this",
        "other_language": "in another language",
        "keep_in_mind": "Keep in mind",
        "required": "required",
        "optional": "optional",
        "critical": "critical: missing it fails the call",
        "before": "Do this before: {steps}",
        "after": "Do this after: {steps}",
        "within_first_turns": "Within the first {n} turns of the conversation",
        "within_first_seconds": "Within the first {n} seconds",
        "within_last_turns": "Within the last {n} turns of the conversation",
        "customer_complaint": "Only when the customer complains",
        "customer_identity_needed": "Only when the request concerns the customer's own account",
        "customer_step": "Said by the customer, not by you",
        "no_examples": "No example phrasings yet: say it in your own words.",
        "not_set": "not set",
        "generated": "Generated from SOP {id} v{version} on {date}.",
        "checklist": "Checklist",
        "not_this": "Not this",
        "never_say": "Never say",
        "never_say_intro": "Saying any of these is a violation of the SOP.",
        "for_example": "For example",
        "not_a_violation": "Not a violation",
        "forbidden_critical": "critical: saying it fails the call",
        "colon": ": ",
        "open": " (",
        "close": ")",
    },
    "zh": {
        "purpose": "目的",
        "owner": "责任人",
        "version": "版本",
        "last_reviewed": "上次评审",
        "next_review": "下次评审",
        "overdue": "已逾期",
        "steps": "步骤",
        "say_it": "参考话术",
        "other_language": "其他语言",
        "keep_in_mind": "注意事项",
        "required": "必做",
        "optional": "可选",
        "critical": "关键：遗漏即判定本次服务不合格",
        "before": "须在以下步骤之前完成：{steps}",
        "after": "须在以下步骤之后完成：{steps}",
        "within_first_turns": "须在对话的前 {n} 轮内完成",
        "within_first_seconds": "须在开始后 {n} 秒内完成",
        "within_last_turns": "须在对话的最后 {n} 轮内完成",
        "customer_complaint": "仅在客户投诉时适用",
        "customer_identity_needed": "仅在涉及客户本人账户的请求时适用",
        "customer_step": "由客户说出，而非客服",
        "no_examples": "暂无参考话术，请用自己的话表达。",
        "not_set": "未设置",
        "generated": "根据 SOP {id} v{version} 于 {date} 生成。",
        "checklist": "检查清单",
        "not_this": "不算完成",
        "never_say": "禁止",
        "never_say_intro": "以下内容一经说出，即视为违反本 SOP。",
        "for_example": "例如",
        "not_a_violation": "不算违规",
        "forbidden_critical": "关键：一旦说出即判定本次服务不合格",
        "colon": "：",
        "open": "（",
        "close": "）",
    },
}


@dataclass(frozen=True)
class StepView:
    """One step as the training document shows it, already in the document's language."""

    number: int
    name: str
    description: str
    required: bool
    critical: bool
    examples: list[str]
    examples_in_other_language: bool
    rules: list[str]
    notes: list[str]
    counter_examples: list[str] = field(default_factory=list)
    counter_examples_in_other_language: bool = False
    forbidden: bool = False


@dataclass(frozen=True)
class DocumentView:
    lang: str
    title: str
    purpose: str
    owner: str
    version: str
    last_reviewed: str
    next_review: str
    overdue: bool
    notes: list[str]
    steps: list[StepView]
    labels: Mapping[str, str]
    forbidden: list[StepView]
    footer: str
    extra: dict[str, str] = field(default_factory=dict)


def document_languages(sop: Sop) -> list[str]:
    """The languages a training document can be rendered in for this SOP (its own, where supported)."""
    languages = [code.split("-")[0] for code in sop.languages]
    return [lang for lang in dict.fromkeys(languages) if lang in SUPPORTED_LANGUAGES] or ["en"]


def document_view(sop: Sop, lang: str, today: date | None = None) -> DocumentView:
    """What the document shows for ``lang`` (en or zh), before any formatting."""
    if lang not in LABELS:
        raise ValueError(f"no training-document labels for language {lang!r} (supported: {', '.join(LABELS)})")
    labels = LABELS[lang]
    translated = sop.translations.get(lang)
    names = {step.id: _step_name(step, lang) for step in sop.steps}
    status = review_status(sop, today)
    today = today or date.today()
    steps = [
        _step_view(number, step, sop, lang, names)
        for number, step in enumerate((step for step in sop.steps if not step.forbidden), start=1)
    ]
    forbidden = [
        _step_view(number, step, sop, lang, names)
        for number, step in enumerate((step for step in sop.steps if step.forbidden), start=1)
    ]
    return DocumentView(
        lang=lang,
        title=(translated.name if translated and translated.name else sop.name),
        purpose=(translated.description if translated and translated.description else sop.description),
        owner=sop.owner or labels["not_set"],
        version=str(sop.version),
        last_reviewed=sop.last_reviewed.isoformat() if sop.last_reviewed else labels["not_set"],
        next_review=status.due.isoformat() if status.due else labels["not_set"],
        overdue=status.overdue,
        notes=(translated.notes if translated and translated.notes else sop.notes),
        steps=steps,
        forbidden=forbidden,
        labels=labels,
        footer=labels["generated"].format(id=sop.id, version=sop.version, date=today.isoformat()),
    )


def _step_name(step: Step, lang: str) -> str:
    translated = step.translations.get(lang)
    return translated.name if translated and translated.name else step.name


def _step_view(number: int, step: Step, sop: Sop, lang: str, names: Mapping[str, str]) -> StepView:
    labels = LABELS[lang]
    translated = step.translations.get(lang)
    examples, other = _in_language(step.examples, lang)
    counter_examples, other_counter = _in_language(step.counter_examples, lang)
    rules: list[str] = []
    if step.speaker == "customer":
        rules.append(labels["customer_step"])
    if step.before:
        rules.append(labels["before"].format(steps=_joined(lang, [names[s] for s in step.before if s in names])))
    after = [names[other_step.id] for other_step in sop.steps if step.id in other_step.before]
    if after:
        rules.append(labels["after"].format(steps=_joined(lang, after)))
    for rule in ("within_first_turns", "within_first_seconds", "within_last_turns"):
        value = getattr(step, rule)
        if value:
            rules.append(labels[rule].format(n=f"{value:g}" if isinstance(value, float) else value))
    if step.when:
        rules.append(labels[step.when])
    description = translated.description if translated and translated.description else step.description
    return StepView(
        number=number,
        name=names[step.id],
        description="" if description.strip() == names[step.id].strip() else description,  # "Never ...": said once
        required=step.required,
        critical=step.critical,
        examples=examples,
        examples_in_other_language=other,
        rules=rules,
        notes=(translated.notes if translated and translated.notes else step.notes),
        counter_examples=counter_examples,
        counter_examples_in_other_language=other_counter,
        forbidden=step.forbidden,
    )


def _in_language(phrases: list[str], lang: str) -> tuple[list[str], bool]:
    """The phrases in ``lang``; when there are none, all of them, flagged as in another language."""
    mine = [phrase for phrase in phrases if detect_lang(phrase) == lang]
    if mine or not phrases:
        return mine, False
    return list(phrases), True


def _joined(lang: str, items: list[str]) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def _environment(html: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html.j2"]) if html else False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_training(sop: Sop, lang: str, fmt: Format, today: date | None = None) -> str:
    """The training document of ``sop`` in ``lang`` as Markdown (``md``) or self-contained HTML (``html``)."""
    view = document_view(sop, lang, today)
    template = _environment(fmt == "html").get_template(f"training.{fmt}.j2")
    return template.render(doc=view)
