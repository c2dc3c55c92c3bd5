"""The auditor's own sentences (step reasons, act notes, order windows, condition outcomes, queue and anomaly reasons)
in the reader's language.

Results keep these sentences in English: results.jsonl is a contract other programs read, and its bytes do not
change with the reader. Pages and reports show them through ``ReasonText``: English as written, Chinese by matching
each sentence against the patterns below (one per sentence the auditor writes) and filling the Chinese template.
Quoted transcript text and numbers are kept as written; step ids become the steps' names. A sentence no pattern
knows is shown as written, in English, rather than dropped (``unknown`` lists them, and a test fails on any that
the auditor itself writes).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from auditor.anomaly.features import FEATURES
from auditor.text.interface import to_traditional

ACTS_ZH = {
    "performed": "已执行",
    "asked": "询问",
    "offered": "提议",
    "promised": "承诺稍后办理",
    "refused": "拒绝",
    "cannot": "表示无法办理",
    "skipped": "有意跳过",
    "not available": "表示不提供",
    "negated": "否认",
    "mentioned": "仅提及",
    "counter example": "与反例相近",
    "other outcome": "另一结果",
}
"""The acts of ``auditor.result.Act`` as a coach reads them (underscores as spaces, as the English sentences write
them)."""

METHODS_ZH = {"semantic": "语义", "phrase": "短语", "account_details": "账户信息"}
"""Detector methods of evidence (``phrase+semantic``: both fired)."""

SIGNALS_ZH = {
    "negative": "负面",
    "complaint": "投诉",
    "escalation": "升级",
    "churn": "流失风险",
    "frustration": "沮丧",
    "repetition": "重复",
    "interruption": "打断",
    "long_silence": "长时间静默",
    "hold": "等待",
    "anger": "愤怒",
}
"""Dissatisfaction signals (``auditor.dissatisfaction.signals.SIGNALS``)."""

QUOTED_SIGNALS = frozenset({"complaint", "escalation", "churn", "frustration", "hold"})
"""Signals whose evidence is the words that fired them (a phrase list's match, a hold event's text)."""

ROLES_ZH = {"agent": "坐席", "customer": "客户", "system": "系统"}
"""Speaker roles, for transcripts whose speakers are named by role."""

CONDITIONS_ZH = {
    "customer_complaint": "“客户投诉”",
    "customer_identity_needed": "“需要核实客户身份”",
}
"""The built-in conditions' names (``auditor.checklist.conditions``); others show as written."""

FEATURE_PHRASES_ZH = {
    "compliance score {}": "合规得分 {}",
    "{} steps not performed": "{} 个步骤未执行",
    "{} required steps missing": "缺少 {} 个必需步骤",
    "{} of required steps not performed": "{} 的必需步骤未执行",
    "{} steps out of order": "{} 个步骤顺序错误",
    "{} steps late": "{} 个步骤超时",
    "{} of required steps missed, misplaced or late": "{} 的必需步骤缺失、错位或超时",
    "{} critical steps missing": "缺少 {} 个关键步骤",
    "{} spoken turns": "{} 个发言轮",
    "{} events (holds, transfers, actions)": "{} 个事件（保持、转接、系统操作）",
    "agent talk share {}": "坐席发言占比 {}",
    "agent turns average {} words": "坐席每轮平均 {} 个词",
    "customer turns average {} words": "客户每轮平均 {} 个词",
    "{} customer questions": "客户提问 {} 次",
    "customer repeats themself in {} of turns": "客户在 {} 的发言中重复自己",
    "agent repeats themself in {} of turns": "坐席在 {} 的发言中重复自己",
    "ends on a customer turn (no agent closing)": "以客户发言结束（坐席没有结束语）",
    "ends on an agent turn": "以坐席发言结束",
    "has timestamps": "有时间戳",
    "duration {}": "时长 {}",
    "longest silence {}": "最长静默 {}",
    "silence {} of the call": "静默占通话 {}",
    "has a dissatisfaction score": "有不满评分",
    "dissatisfaction {}": "不满度 {}",
}
"""Every anomaly feature's phrase (``FeatureSpec.template`` / ``template_off``) in Chinese."""

_Q = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
"""A Python repr of a string (how the sentences quote transcript text and step ids)."""
_NUM = r"[\d.]+"

Fill = Callable[[dict[str, object]], str]


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    zh: str | Fill


def _p(regex: str, zh: str | Fill) -> Pattern:
    return Pattern(re.compile(regex + r"\Z", re.S), zh)


def _parts(text: str) -> list[str]:
    """``text`` cut at "; " outside quotes and brackets."""
    parts, start, quote, depth = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            if char == quote and text[i - 1] != "\\":
                quote = ""
        elif char in "'\"" and (i == 0 or not text[i - 1].isalnum()):
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif depth == 0 and text.startswith("; ", i):
            parts.append(text[start:i])
            start = i + 2
    parts.append(text[start:])
    return parts


@dataclass
class ReasonText:
    """Show the auditor's English sentences in ``lang`` (``en``, ``zh-Hans`` or ``zh``, ``zh-Hant``), with step ids
    as the names in ``step_names``."""

    lang: str = "en"
    step_names: Mapping[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    """Sentences (or parts of them) no pattern knew, shown in English."""

    @property
    def english(self) -> bool:
        return self.lang == "en"

    def __call__(self, text: str | None) -> str:
        """``text`` in the reader's language ("" for None)."""
        if not text:
            return ""
        if self.english:
            return text
        return self._sentence(text)

    def act_note(self, act: str | None, reason: str | None) -> str | None:
        """What an evidence turn did toward its step, in the reader's language; None when it performed the step."""
        from auditor.outcome import act_note

        note = act_note(act, reason)
        if note is None or self.english:
            return note
        label = act.replace("_", " ") if act else ""
        if reason and (reason.startswith(f"{label}: ") or reason.startswith("closer to the counter-example")):
            return self._sentence(reason)
        said = self._zh(ACTS_ZH.get(label, label))
        return f"{said}：{self._quote(reason)}" if reason else said

    def name(self, step_id: str, name: str) -> str:
        """A step's name in the reader's language (``name``, the result's English name, when none is known)."""
        return name if self.english else self.step_names.get(step_id, name)

    def method(self, method: str) -> str:
        """An evidence method ("phrase+semantic") in the reader's language."""
        if self.english:
            return method
        return "+".join(self._zh(METHODS_ZH.get(part, part)) for part in method.split("+"))

    def signals(self, names: list[str] | tuple[str, ...]) -> str:
        """Dissatisfaction signal names, joined."""
        if self.english:
            return ", ".join(names)
        return "、".join(self._zh(SIGNALS_ZH.get(name, name)) for name in names)

    def speaker(self, speaker: str) -> str:
        """A speaker named by their role ("agent") in the reader's language; other names as written."""
        if self.english:
            return speaker
        return self._zh(ROLES_ZH.get(speaker.strip().lower(), speaker))

    def signal_evidence(self, evidence: Mapping[str, str] | None) -> str:
        """What fired each signal of a turn ("churn: 'close every account'; negative: negativity 0.83")."""
        if not evidence:
            return ""
        parts = []
        for name, said in evidence.items():
            if name in QUOTED_SIGNALS:
                shown = f"'{said}'" if self.english else self._quote(said)
            else:
                shown = self(said)
            label = name if self.english else self._zh(SIGNALS_ZH.get(name, name))
            parts.append(f"{label}: {shown}" if self.english else f"{label}：{shown}")
        return ("; " if self.english else "；").join(parts)

    def join(self, texts: list[str] | tuple[str, ...]) -> str:
        return ("; " if self.english else "；").join(self(text) for text in texts)

    def step(self, step_id: str) -> str:
        step_id = step_id.strip()
        if len(step_id) >= 2 and step_id[0] == step_id[-1] and step_id[0] in "'\"":
            step_id = step_id[1:-1]
        return f"「{self.step_names.get(step_id, step_id)}」"

    def steps(self, listed: str) -> str:
        return "、".join(self.step(step_id) for step_id in listed.split(","))

    # -- internals --------------------------------------------------------------------------------------------

    def _zh(self, text: str) -> str:
        return to_traditional(text) if self.lang == "zh-Hant" else text

    def _quote(self, text: str) -> str:
        return f"“{text}”"

    def _sentence(self, text: str) -> str:
        whole = self._match(text)
        if whole is not None:
            return whole
        parts = _parts(text)
        if len(parts) > 1:
            return "；".join(self._sentence(part) for part in parts)
        self.unknown.append(text)
        return text

    def _match(self, text: str) -> str | None:
        for pattern in _patterns():
            found = pattern.regex.match(text)
            if found is None:
                continue
            groups = {key: value for key, value in found.groupdict().items() if value is not None}
            filled = {key: self._group(key, value) for key, value in groups.items()}
            if callable(pattern.zh):
                values: dict[str, object] = {**filled, **{f"_{key}": value for key, value in groups.items()}}
                return pattern.zh(values | {"_say": self})
            return self._zh(pattern.zh).format_map(_Blank(filled))
        return None

    def _group(self, key: str, value: str) -> str:
        if key.startswith("sentence"):
            return self._sentence(value)
        if key == "step":
            return self.step(value)
        if key == "steps":
            return self.steps(value)
        if key == "cond":
            name = _unrepr(value)
            return self._zh(CONDITIONS_ZH.get(name, name))
        if key == "act":
            return self._zh(ACTS_ZH.get(value, value))
        if key.startswith("quote"):
            return self._quote(_unrepr(value))
        if key == "phrase":
            return self._phrase(value)
        return value

    def _phrase(self, text: str) -> str:
        for english, chinese in _longest_first():
            if "{}" not in english:
                if text == english:
                    return self._zh(chinese)
                continue
            head, tail = english.split("{}")
            regex = re.escape(head) + r"(.+?)" + re.escape(tail)
            regex = re.sub(r"(steps|turns|events|questions)\\?\b", lambda m: m.group(1)[:-1] + "s?", regex)
            found = re.fullmatch(regex, text)
            if found:
                return self._zh(chinese).format(found.group(1))
        if text.startswith("not: "):
            return self._zh("并非：") + self._phrase(text[5:])
        self.unknown.append(text)
        return text


@lru_cache(maxsize=1)
def _longest_first() -> list[tuple[str, str]]:
    """Feature phrases, the most specific first ("{} of required steps not performed" before "{} steps not
    performed")."""
    return sorted(FEATURE_PHRASES_ZH.items(), key=lambda item: -len(item[0]))


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _unrepr(text: str) -> str:
    """The string a Python repr quotes (``'it\\'s'`` -> ``it's``); other text as is."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text[1:-1]
        return value if isinstance(value, str) else text[1:-1]
    return text


def _anomaly(groups: dict[str, object]) -> str:
    say = groups["_say"]
    assert isinstance(say, ReasonText)
    bound = "第 95 百分位" if groups["_bound"] == "p95" else "第 5 百分位"
    text = f"{groups['phrase']}（基线中位数 {groups['median']}，{bound} {groups['limit']}"
    if "_edge" in groups:
        edge = "最大值" if groups["_edge"] == "max" else "最小值"
        text += f"；超出基线{edge} {groups['edge_value']}"
    return say._zh(text + "）")


def _unusual(groups: dict[str, object]) -> str:
    say = groups["_say"]
    assert isinstance(say, ReasonText)
    why = f"：{groups['sentence']}" if groups.get("sentence") else ""
    return say._zh(f"会话异常（{groups['score']}") + f"{why}）"


def _describe(groups: dict[str, object]) -> str:
    say = groups["_say"]
    assert isinstance(say, ReasonText)
    act, why = str(groups["act"]), str(groups.get("sentence") or "")
    why = why.removeprefix(f"{act}：")  # "refused: '…' in '…'" names the act already
    return say._zh(f"第 {groups['turn']} 轮") + act + (f"（{why}）" if why else "")


@lru_cache(maxsize=1)
def _patterns() -> tuple[Pattern, ...]:
    acts = "|".join(sorted((re.escape(a) for a in ACTS_ZH), key=len, reverse=True))
    turn = rf"turn (?P<turn>\d+) (?P<act>{acts})(?: \((?P<sentence>.+)\))?"
    described = rf"turn \d+ (?:{acts})(?: \(.+\))?"
    return (
        # step verdicts (auditor.checklist.verdicts)
        _p(r"the agent said what this SOP forbids at turn (?P<turn>\d+)", "坐席在第 {turn} 轮说了本 SOP 禁止的内容"),
        _p(
            rf"turn (?P<turn>\d+) may say what this SOP forbids \(confidence (?P<conf>{_NUM})\)",
            "第 {turn} 轮可能说了本 SOP 禁止的内容（置信度 {conf}）",
        ),
        _p(r"never said", "从未说过"),
        _p(rf"condition (?P<cond>{_Q}) does not hold: (?P<sentence>.+)", "条件 {cond} 不成立：{sentence}"),
        _p(
            rf"turn (?P<turn>\d+) may perform it \(confidence (?P<conf>{_NUM})\)",
            "第 {turn} 轮可能执行了此步骤（置信度 {conf}）",
        ),
        _p(rf"only (?P<sentence>{described}): not done in this call", "只有{sentence}：本通话中并未执行"),
        _p(rf"not performed: (?P<sentence>{described})", "未执行：{sentence}"),
        _p(turn, _describe),
        _p(r"no turn performs this step", "没有任何一轮执行此步骤"),
        _p(r"optional step not performed \(not scored\)", "可选步骤未执行（不计分）"),
        _p(rf"closest: turn (?P<turn>\d+) \(confidence (?P<conf>{_NUM})\)", "最接近的是第 {turn} 轮（置信度 {conf}）"),
        # order and position (auditor.checklist.verdicts)
        _p(
            rf"must come before (?P<step>{_Q}), which happened first "
            rf"\(turn (?P<turn>\d+); this step turn (?P<mine>\d+)\)",
            "应在{step}之前，但{step}先发生（第 {turn} 轮；本步骤在第 {mine} 轮）",
        ),
        _p(
            r"first done at spoken turn (?P<n>\d+), expected within the first (?P<m>\d+)",
            "首次在第 {n} 个发言轮执行，应在前 {m} 个发言轮内",
        ),
        _p(
            rf"first done at (?P<n>{_NUM}) s, expected within the first (?P<m>{_NUM}) s",
            "首次在第 {n} 秒执行，应在前 {m} 秒内",
        ),
        _p(
            r"last done (?P<n>\d+) spoken turns from the end, expected within the last (?P<m>\d+)",
            "最后一次在倒数第 {n} 个发言轮，应在最后 {m} 个发言轮内",
        ),
        _p(r"expected (?P<sentence>.+)", "应{sentence}"),
        _p(r"within the first (?P<n>\d+) spoken turns", "在前 {n} 个发言轮内"),
        _p(r"within the last (?P<n>\d+) spoken turns", "在最后 {n} 个发言轮内"),
        _p(r"before (?P<steps>[a-z0-9_, ]+)", "在{steps}之前"),
        _p(r"where the SOP order puts it", "在 SOP 顺序规定的位置"),
        # conditions (auditor.checklist.conditions)
        _p(rf"customer said (?P<quote>{_Q}) \(turn (?P<turn>\d+)\)", "客户说了{quote}（第 {turn} 轮）"),
        _p(r"customer turn (?P<turn>\d+) is close to the examples", "客户第 {turn} 轮与示例相近"),
        _p(r"no customer turns", "没有客户发言"),
        _p(r"no customer turn matched its patterns or examples", "没有客户发言符合其模式或示例"),
        # acts of evidence turns (auditor.detection.acts, evidence_acts)
        _p(
            rf"mentioned: the act model reads this turn as talking about the step, not doing it \((?P<p>{_NUM})\)",
            "仅提及：动作模型判断这一轮在谈论此步骤，而不是执行它（{p}）",
        ),
        _p(
            rf"closer to the counter-example (?P<quote>{_Q}) \((?P<a>{_NUM})\) than to the step \((?P<b>{_NUM})\)",
            "更接近反例{quote}（{a}），而非此步骤（{b}）",
        ),
        _p(rf"(?P<act>{acts}): (?P<quote_cue>{_Q}) in (?P<quote_clause>{_Q})", "{act}：{quote_clause}中的{quote_cue}"),
        # review queue (auditor.risk)
        _p(r"critical forbidden step said: (?P<step>.+)", "说了关键禁止内容：{step}"),
        _p(r"critical step out of order: (?P<step>.+)", "关键步骤顺序错误：{step}"),
        _p(r"critical step missed: (?P<step>.+)", "关键步骤缺失：{step}"),
        _p(r"to decide: (?P<steps>.+)", "待判定：{steps}"),
        _p(rf"dissatisfied customer \((?P<score>{_NUM})\)", "客户不满（{score}）"),
        _p(rf"unusual conversation \((?P<score>{_NUM})(?:: (?P<sentence>.+))?\)", _unusual),
        _p(rf"failed \(score (?P<score>{_NUM})\)", "未通过（得分 {score}）"),
        _p(r"steps flagged: (?P<steps>.+)", "被标记的步骤：{steps}"),
        _p(r"(?P<n>\d+) low-confidence verdicts?", "{n} 个低置信度判定"),
        # dissatisfaction signal measures (auditor.dissatisfaction.signals)
        _p(rf"negativity (?P<n>{_NUM})", "负面倾向 {n}"),
        _p(rf"cosine (?P<c>{_NUM}) to turn (?P<turn>\d+)", "与第 {turn} 轮相似度 {c}"),
        _p(rf"started (?P<s>{_NUM})s before the customer finished", "客户说完前 {s} 秒就开始说话"),
        _p(r"(?P<s>\d+)s of silence before the agent answered", "坐席回答前静默 {s} 秒"),
        # anomaly reasons (auditor.anomaly.detector.reason_text)
        _p(
            r"(?P<phrase>(?:(?!; ).)+?) \(baseline median (?P<median>[^,]+), (?P<bound>p95|p5) (?P<limit>[^;)]+)"
            r"(?:; beyond the baseline's (?P<edge>max|min) (?P<edge_value>[^)]+))?\)",
            _anomaly,
        ),
        _p(
            rf"(?P<phrase>(?:(?!; ).)+?) \(as in (?P<share>{_NUM}%) of the baseline\)",
            "{phrase}（基线中 {share} 如此）",
        ),
    )


def feature_phrases_covered() -> list[str]:
    """Feature phrases with no Chinese text (empty when every ``FeatureSpec`` is covered)."""
    phrases = [spec.template for spec in FEATURES] + [spec.template_off for spec in FEATURES if spec.template_off]
    return [phrase for phrase in phrases if phrase not in FEATURE_PHRASES_ZH]
