"""Scaffold an SOP from a pasted checklist ("1. 聆听 2. 感谢 3. 确认理解", "1. Greet 2. Verify identity").

The checklist may be one line or a Markdown / plain-text document:

```
# 投诉处理                         <- the SOP's name
目的：处理客户投诉，从聆听到登记        <- purpose (description); also "Purpose:", "Owner:"/"负责人："
1. 聆听：让客户完整说明问题            <- a step: name, then after "：" / ": " its description
   - "请您详细说一下发生了什么"          <- a quoted or unlabelled sub-item: an example phrasing
   - 关键词：发生了什么、事情的经过       <- keywords; "注意：" / "Note:" a note for agents
   - 反例：这个我没法帮您查            <- a counter-example (also "不算：", "Not this:"): sounds like it, is not it
2. 补偿（可选）                       <- "(optional)" / "（可选）", "(critical)" / "（关键）"
3. 不得承诺保证退款（关键）             <- "Never" / "Do not" / "不得" / "禁止" / "严禁": a forbidden step
注意事项：                            <- SOP notes: the bullets that follow
- 不得承诺无法兑现的赔偿
```

A forbidden step (``forbidden: true``) is something the agent must not say; its sub-items are examples of the
forbidden thing, and the line's text is its description (a ``name: description`` line keeps both).

Step ids are ASCII (the format requires ``lower_snake_case``): English names are slugged, Chinese names are
translated word by word with a small glossary of service-step words (确认理解 -> confirm_understanding),
else ``step_N``. Steps without examples can be seeded from the built-in step with the same id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.sop.loading import sop_from_mapping
from auditor.sop_format import Sop, Step, phrase_key
from auditor.text.normalise import detect_lang, has_han, has_latin, normalise_text

ZH_STEP_WORDS: dict[str, str] = {
    "聆听": "listen",
    "倾听": "listen",
    "感谢": "thank",
    "致谢": "thank",
    "道谢": "thank",
    "确认": "confirm",
    "理解": "understanding",
    "复述": "restate",
    "道歉": "apologize",
    "致歉": "apologize",
    "解决": "resolve",
    "处理": "handle",
    "办理": "handle",
    "业务": "request",
    "补偿": "compensate",
    "赔偿": "compensate",
    "回访": "follow_up",
    "跟进": "follow_up",
    "记录": "record",
    "登记": "record",
    "问候": "greet",
    "问好": "greet",
    "开场": "greet",
    "开场白": "greet",
    "自我介绍": "introduce",
    "介绍": "introduce",
    "核实": "verify",
    "验证": "verify",
    "核对": "verify",
    "身份": "identity",
    "需求": "need",
    "询问": "ask",
    "了解": "understand",
    "结束": "close",
    "结束语": "close",
    "告别": "goodbye",
    "道别": "goodbye",
    "再见": "goodbye",
    "提供": "offer",
    "方案": "solution",
    "解决方案": "solution",
    "告知": "inform",
    "说明": "explain",
    "解释": "explain",
    "工单": "ticket",
    "编号": "reference",
    "单号": "reference",
    "安抚": "reassure",
    "情绪": "emotion",
    "总结": "summarize",
    "满意度": "satisfaction",
    "调查": "survey",
    "评价": "rating",
    "转接": "transfer",
    "升级": "escalate",
    "等待": "hold",
    "保持": "hold",
    "提醒": "remind",
    "承诺": "promise",
    "时间": "time",
    "姓名": "name",
    "名字": "name",
    "问题": "problem",
    "受理": "accept",
    "预约": "book",
    "退款": "refund",
    "投诉": "complaint",
    "服务": "service",
    "其他": "other",
    "其它": "other",
    "帮助": "help",
    "风险": "risk",
    "提示": "notice",
    "安全": "security",
    "账户": "account",
    "账号": "account",
    "信息": "details",
    "订单": "order",
    "地址": "address",
    "电话": "phone",
    "号码": "number",
    "流程": "process",
    "进度": "progress",
    "客户": "customer",
}
"""Chinese step words -> English id words, for ASCII step ids from Chinese checklists."""

_EN_STOP = frozenset("a an the to of and or for with their his her your our its s customer caller client".split())
_ITEM = re.compile(
    r"^(?P<indent>\s*)(?:(?P<number>\d{1,2}|[一二三四五六七八九十]{1,3})\s*[.)、．:：）]|(?P<circled>[\u2460-\u2473])"
    r"|[（(](?P<paren>\d{1,2})[)）]|(?P<bullet>[-*+•·])(?:\s*\[[ xX]\])?)\s*(?P<text>.*)$"
)
_INLINE_NUMBER = re.compile(r"(?:^|(?<=\s)|(?<=[。；;，,]))(?:\d{1,2}[.、．)]|[\u2460-\u2473])\s*")
_QUOTED = re.compile(r"^[\"'“‘「『](?P<text>.+?)[\"'”’」』]$")
_FLAGS = re.compile(r"\s*[（(](?P<flag>可选|选做|optional|关键|必须|critical|key)[)）]\s*", re.IGNORECASE)
_NAME_SPLIT = re.compile(r"\s*(?:[:：]|\s[-—–]\s)\s*")
_LIST_SPLIT = re.compile(r"\s*[,，、;；/]\s*")
_HEADING = re.compile(r"^\s*#{1,6}\s*(?P<text>.+?)\s*#*\s*$")
PROHIBITION = re.compile(
    r"^\s*[*_`]*\s*(?:(?:never|do\s+not|don['’]t|must\s+not|must\s+never)\b|不得|禁止|严禁|嚴禁|切勿|不准|不準)",
    re.IGNORECASE,
)
"""A checklist line that says what the agent must not do ("Never promise...", "不得承诺...") is a forbidden step."""

LABEL_FIELDS = {
    "例如": "example",
    "例子": "example",
    "示例": "example",
    "例句": "example",
    "话术": "example",
    "例": "example",
    "e.g.": "example",
    "eg": "example",
    "example": "example",
    "examples": "example",
    "say": "example",
    "关键词": "keywords",
    "keyword": "keywords",
    "keywords": "keywords",
    "反例": "counter_example",
    "不算": "counter_example",
    "不算完成": "counter_example",
    "不算违规": "counter_example",
    "not this": "counter_example",
    "not a violation": "counter_example",
    "counter-example": "counter_example",
    "counter-examples": "counter_example",
    "counter example": "counter_example",
    "counter examples": "counter_example",
    "注意": "notes",
    "注意事项": "notes",
    "note": "notes",
    "notes": "notes",
    "说明": "description",
    "描述": "description",
    "description": "description",
    "目的": "description",
    "purpose": "description",
    "负责人": "owner",
    "责任人": "owner",
    "owner": "owner",
    "标题": "name",
    "title": "name",
    "name": "name",
    "语言": "languages",
    "language": "languages",
    "languages": "languages",
}


_LABELLED = re.compile(
    r"^(?P<label>"
    + "|".join(re.escape(label) for label in sorted(LABEL_FIELDS, key=len, reverse=True))
    + r")\s*[:：]\s*(?P<value>.*)$",
    re.IGNORECASE,
)


class ChecklistError(ValueError):
    """The text holds no checklist item; the message says what was expected."""


@dataclass
class DraftStep:
    """A step as read from a checklist, before it gets an id and becomes a ``Step``."""

    name: str
    description: str = ""
    examples: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counter_examples: list[str] = field(default_factory=list)
    forbidden: bool = False
    required: bool = True
    critical: bool = False
    line: int = 0


@dataclass
class Draft:
    """An SOP as read from a checklist: what the owner wrote, nothing invented."""

    name: str = ""
    description: str = ""
    owner: str | None = None
    notes: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    steps: list[DraftStep] = field(default_factory=list)


def parse_checklist(text: str) -> Draft:
    """Read a Markdown / plain-text checklist (one line or many) into a draft SOP."""
    draft = Draft()
    section = "intro"
    top_indent: int | None = None
    for number, raw_line in enumerate(text.splitlines(), start=1):
        if not raw_line.strip():
            continue
        if heading := _HEADING.match(raw_line):
            if not draft.name:
                draft.name = heading["text"]
            heading_field = _label_field(heading["text"].rstrip(":：") + "：")
            section = "notes" if heading_field == "notes" else ("steps" if draft.steps else section)
            continue
        for line in _split_inline_items(raw_line):
            item = _ITEM.match(line)
            indent = len(item["indent"].expandtabs(4)) if item else len(line) - len(line.lstrip())
            content = (item["text"] if item else line).strip()
            numbered = bool(item and not item["bullet"])
            is_top = item is not None and (top_indent is None or indent <= top_indent)
            if numbered and is_top and section != "notes_bullets" or (numbered and section == "notes" and is_top):
                top_indent = indent if top_indent is None else top_indent
                draft.steps.append(_draft_step(content, number))
                section = "steps"
                continue
            label, value = _labelled(content)
            if label == "notes" and (not draft.steps or indent <= (top_indent or 0)) and not (item and not is_top):
                section = "notes"
                if value:
                    draft.notes.append(value)
                continue
            if section == "notes" and item is not None:
                draft.notes.append(content)
                continue
            if draft.steps and section == "steps" and (item is None or not is_top or item["bullet"]):
                if item is not None and item["bullet"] and is_top and not draft.steps[-1].name:
                    continue
                _add_to_step(draft.steps[-1], content)
                continue
            if item is not None and item["bullet"] and not draft.steps and section == "intro":
                draft.steps.append(_draft_step(content, number))
                section = "bullet_steps"
                top_indent = indent
                continue
            if section == "bullet_steps" and item is not None and item["bullet"] and indent <= (top_indent or 0):
                draft.steps.append(_draft_step(content, number))
                continue
            if section == "bullet_steps" and draft.steps:
                _add_to_step(draft.steps[-1], content)
                continue
            _add_to_sop(draft, label, value, content)
    if not draft.steps:
        raise ChecklistError(
            "no checklist items found: write one step per numbered line ('1. Greet the caller') or in one line "
            "('1. 聆听 2. 感谢 3. 确认理解')"
        )
    draft.languages = detected_languages(draft)
    return draft


def _split_inline_items(line: str) -> list[str]:
    """'1. 聆听 2. 感谢 3. 确认理解' -> three lines; a line with one number stays as it is."""
    markers = list(_INLINE_NUMBER.finditer(line))
    if len(markers) < 2:
        return [line]
    starts = [marker.start() for marker in markers]
    head = line[: starts[0]]
    if head.strip():
        return [line]
    return [line[start:end].strip() for start, end in zip(starts, starts[1:] + [len(line)], strict=True)]


def _labelled(content: str) -> tuple[str | None, str]:
    match = _LABELLED.match(content)
    if not match:
        return None, content
    return LABEL_FIELDS[match["label"].lower()], match["value"].strip()


def _label_field(content: str) -> str | None:
    return _labelled(content)[0]


def _draft_step(content: str, line: int) -> DraftStep:
    required, critical = True, False
    for flag in _FLAGS.finditer(content):
        word = flag["flag"].lower()
        if word in ("可选", "选做", "optional"):
            required = False
        else:
            critical = True
    content = _FLAGS.sub(" ", content).strip()
    parts = _NAME_SPLIT.split(content, maxsplit=1)
    name = parts[0].strip().strip("*_`").strip()
    description = parts[1].strip() if len(parts) > 1 else ""
    forbidden = bool(PROHIBITION.match(content))
    if forbidden and not description:
        description = name or content  # what must not be said, for zero-shot detection and the training text
    return DraftStep(
        name=name or content,
        description=description,
        forbidden=forbidden,
        required=required,
        critical=critical,
        line=line,
    )


def _add_to_step(step: DraftStep, content: str) -> None:
    label, value = _labelled(content)
    quoted = _QUOTED.match(content)
    if quoted:
        step.examples.append(quoted["text"].strip())
    elif label == "example":
        step.examples += [_unquote(value)] if value else []
    elif label == "keywords":
        step.keywords += [word for word in (_unquote(w) for w in _LIST_SPLIT.split(value)) if word]
    elif label == "counter_example":
        step.counter_examples += [_unquote(value)] if value else []
    elif label == "notes":
        step.notes += [value] if value else []
    elif label == "description":
        step.description = f"{step.description} {value}".strip()
    else:
        step.examples.append(_unquote(content))


def _unquote(text: str) -> str:
    match = _QUOTED.match(text.strip())
    return match["text"].strip() if match else text.strip()


def _add_to_sop(draft: Draft, label: str | None, value: str, content: str) -> None:
    if label == "owner":
        draft.owner = value or draft.owner
    elif label == "name":
        draft.name = value or draft.name
    elif label == "notes":
        draft.notes += [value] if value else []
    elif label == "languages":
        draft.languages = [code for code in _LIST_SPLIT.split(value) if code]
    elif label == "description":
        draft.description = f"{draft.description} {value}".strip()
    elif not draft.name:
        draft.name = content
    else:
        draft.description = f"{draft.description} {content}".strip()


def detected_languages(draft: Draft) -> list[str]:
    if draft.languages:
        return draft.languages
    texts = [draft.name, draft.description] + [
        text for step in draft.steps for text in (step.name, step.description, *step.examples, *step.counter_examples)
    ]
    found = {detect_lang(text) for text in texts if text.strip() and (has_han(text) or has_latin(text))}
    return [lang for lang in ("en", "zh") if lang in found] or ["en"]


def slug_words(text: str) -> list[str]:
    """ASCII id words for a step or SOP name: English words, or Chinese words through the glossary."""
    if has_han(text):
        import jieba

        jieba.setLogLevel(60)
        words: list[str] = []
        for token in jieba.lcut(normalise_text(text)):
            mapped = ZH_STEP_WORDS.get(token)
            if mapped is None and len(token) > 2:  # an unknown compound: try its known parts
                mapped = "_".join(ZH_STEP_WORDS[part] for part in jieba.lcut_for_search(token) if part in ZH_STEP_WORDS)
            if mapped and mapped not in words:
                words.append(mapped)
        return words[:3]
    tokens = re.findall(r"[a-z0-9]+", normalise_text(text).casefold().replace("'s", ""))
    return ([token for token in tokens if token not in _EN_STOP] or tokens)[:4]


def unique_ids(names: Sequence[str]) -> list[str]:
    """One lower_snake_case id per step name; ``step_N`` when a name gives no ASCII words; duplicates get _2."""
    ids: list[str] = []
    for position, name in enumerate(names, start=1):
        words = slug_words(PROHIBITION.sub("", name)) or slug_words(name)  # "Never blame the customer" -> blame
        base = "_".join(words) if words else f"step_{position}"
        if not base[0].isalpha():
            base = f"step_{base}"
        candidate, suffix = base, 2
        while candidate in ids:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        ids.append(candidate)
    return ids


def sop_id_for(name: str) -> str:
    words = slug_words(name)
    return "-".join(words) if words else "new-sop"


@dataclass(frozen=True)
class Seed:
    """Where a scaffolded step's examples came from: a built-in SOP's step whose id matches."""

    sop_id: str
    step_id: str


def seed_from_library(draft: Draft, library: Iterable[Sop]) -> dict[int, Seed]:
    """Give steps without examples those of the built-in step with the same id words (聆听 -> listen).

    Ids are compared, not meanings: a checklist item of one or two words carries too little text to be
    matched by embeddings reliably, while the glossary id (确认理解 -> confirm_understanding) is exact. A
    built-in step matches when it has every word of the draft step's id (``greet`` -> ``greet_with_name``);
    the one with the fewest extra words wins, and only a step of the same kind (forbidden or not: examples of
    a thing to do must not become examples of a thing never to say). Only examples (and counter-examples) in
    the draft's languages are copied; a step that has examples is left alone. Returns the seeds by the
    position of the step in the draft.
    """
    candidates = [(sop, step) for sop in library for step in sop.steps if step.examples]
    languages = {code.split("-")[0] for code in draft.languages}
    ids = unique_ids([step.name for step in draft.steps])
    seeds: dict[int, Seed] = {}
    for position, (step_id, draft_step) in enumerate(zip(ids, draft.steps, strict=True)):
        if draft_step.examples or step_id.startswith("step_"):
            continue
        words = set(step_id.split("_"))
        matches = [
            (len(set(step.id.split("_")) - words), order, sop, step)
            for order, (sop, step) in enumerate(candidates)
            if words <= set(step.id.split("_")) and step.forbidden == draft_step.forbidden
        ]
        for _, _, sop, step in sorted(matches, key=lambda match: match[:2]):
            examples = [example for example in step.examples if detect_lang(example) in languages]
            if not examples:
                continue
            draft_step.examples = examples
            if not draft_step.counter_examples:
                own = {phrase_key(text) for text in (*examples, *draft_step.keywords)}
                draft_step.counter_examples = [
                    text
                    for text in step.counter_examples
                    if detect_lang(text) in languages and phrase_key(text) not in own
                ]
            if not draft_step.description and _same_language(step.description, languages):
                draft_step.description = step.description
            seeds[position] = Seed(sop.id, step.id)
            break
    return seeds


def _same_language(text: str, languages: set[str]) -> bool:
    return bool(text.strip()) and detect_lang(text) in languages


def draft_to_sop(
    draft: Draft,
    *,
    sop_id: str | None = None,
    owner: str | None = None,
    review_interval_days: int | None = 90,
    today: date | None = None,
) -> Sop:
    """The draft as a valid SOP (version 1, reviewed today); raises SopError naming what is wrong."""
    ids = unique_ids([step.name for step in draft.steps])
    raw: dict[str, Any] = {
        "id": sop_id or (sop_id_for(draft.name) if draft.name else "new-sop"),
        "name": draft.name or "New SOP",
        "version": 1,
        "languages": draft.languages or ["en"],
        "description": draft.description,
        "owner": owner or draft.owner,
        "notes": draft.notes,
        "review_interval_days": review_interval_days,
        "last_reviewed": today or date.today(),
        "steps": [_step_mapping(step_id, step) for step_id, step in zip(ids, draft.steps, strict=True)],
    }
    return sop_from_mapping(raw, source="<checklist>")


def _step_mapping(step_id: str, step: DraftStep) -> Mapping[str, Any]:
    return {
        "id": step_id,
        "name": step.name,
        "description": step.description,
        "examples": list(dict.fromkeys(step.examples)),
        "keywords": list(dict.fromkeys(step.keywords)),
        "counter_examples": list(dict.fromkeys(step.counter_examples)),
        "forbidden": step.forbidden,
        "notes": step.notes,
        "required": step.required,
        "critical": step.critical,
    }


def step_comments(sop: Sop, seeds: Mapping[int, Seed]) -> dict[str, str]:
    """YAML comments for seeded steps, so the owner knows which examples to check."""
    comments: dict[str, str] = {}
    for position, seed in seeds.items():
        step: Step = sop.steps[position]
        comments[step.id] = (
            f"examples copied from built-in {seed.sop_id}/{seed.step_id}: check they are how your agents speak"
        )
    return comments
