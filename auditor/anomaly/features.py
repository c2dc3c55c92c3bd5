"""The conversation feature vector: named numbers describing how one audited conversation went (issue 4, item 2).

Every feature is cheap (no model) and language-aware: lengths are counted in *word units* (Latin words plus CJK
characters / 1.5, roughly a Chinese word), so English and Chinese conversations land on the same scale. A value
that cannot be measured is ``nan``, never a made-up number: timing features are ``nan`` when the transcript has no
timestamps (and ``has_timestamps`` is 0), the dissatisfaction score is ``nan`` when none was given (and
``has_dissatisfaction`` is 0). The anomaly detector replaces ``nan`` with the baseline median, so an unmeasured value
is neutral and is never cited as a reason.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from auditor.conversation import Conversation, Role, Turn
from auditor.result import ConversationResult

FeatureKind = Literal["count", "share", "seconds", "score", "flag", "words", "indicator", "context"]
"""How a feature reads: ``indicator`` features say whether another one was measurable and are never modelled."""

MISSED_STATUSES = frozenset({"missing", "out_of_order", "late"})
CJK_CHARS_PER_WORD = 1.5
REPEAT_JACCARD = 0.6
"""A turn repeats an earlier turn of the same speaker when their token sets overlap this much (Jaccard)."""
REPEAT_MIN_TOKENS = 3
"""Turns with fewer tokens ("ok", "yes", "谢谢") are too short to count as repetitions."""
REPEAT_WINDOW = 1_000
"""Turns of one speaker a turn is compared with, back from it: every earlier turn in any ordinary call, and a bounded
cost in a call of thousands of turns."""

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff_]+(?:'[^\W_]+)?")
_SINGULARS = {"steps": "step", "turns": "turn", "events": "event", "questions": "question"}
_SINGULAR = re.compile(r"\b(?:steps|turns|events|questions)\b")
_QUESTION = re.compile(r"[?？]|[吗嗎呢]\s*[。.!！]?\s*$")


@dataclass(frozen=True)
class FeatureSpec:
    """One named feature: what it measures and how a coach reads its value (``template`` holds the number)."""

    name: str
    kind: FeatureKind
    description: str
    template: str
    number: str = "{:.0f}"
    unit: str = ""
    template_off: str | None = None
    """For ``flag`` features: the words for value 0 ("ends on an agent turn")."""

    def value_text(self, value: float) -> str:
        """The number with its unit, as a coach reads it ("95 s", "80%")."""
        return self.number.format(value) + self.unit

    def phrase(self, value: float) -> str:
        """The value in words, e.g. "12 steps not performed" or "longest silence 95 s"."""
        if self.kind in ("flag", "indicator"):
            return self.template if value >= 0.5 else (self.template_off or f"not: {self.template}")
        text = self.template.format(self.value_text(value))
        if self.kind in ("count", "context") and self.value_text(value) == "1":
            text = _SINGULAR.sub(lambda match: _SINGULARS[match.group(0)], text, count=1)
        return text


FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("compliance_score", "score", "The auditor's compliance score (0..1).", "compliance score {}", "{:.2f}"),
    FeatureSpec(
        "missing_steps",
        "context",
        "Applicable steps (required or optional) the agent never performed; reported, not modelled: SOPs differ in"
        " how many optional branch steps they list.",
        "{} steps not performed",
    ),
    FeatureSpec(
        "missing_required",
        "count",
        "Applicable required steps the agent never performed.",
        "{} required steps missing",
    ),
    FeatureSpec(
        "missing_share",
        "share",
        "Required steps missing over applicable required steps (optional steps are not a deviation).",
        "{} of required steps not performed",
        "{:.0%}",
    ),
    FeatureSpec("out_of_order_steps", "count", "Steps done in the wrong order.", "{} steps out of order"),
    FeatureSpec("late_steps", "count", "Steps done, but later than the SOP allows.", "{} steps late"),
    FeatureSpec(
        "missed_share",
        "share",
        "Required steps missing, out of order or late, over applicable required steps.",
        "{} of required steps missed, misplaced or late",
        "{:.0%}",
    ),
    FeatureSpec(
        "critical_missing",
        "count",
        "Critical steps missing (each fails the conversation).",
        "{} critical steps missing",
    ),
    FeatureSpec("spoken_turns", "count", "Agent and customer turns.", "{} spoken turns"),
    FeatureSpec(
        "events",
        "count",
        "Non-spoken turns: holds, transfers, system actions.",
        "{} events (holds, transfers, actions)",
    ),
    FeatureSpec(
        "agent_talk_share",
        "share",
        "Agent word units over all spoken word units.",
        "agent talk share {}",
        "{:.0%}",
    ),
    FeatureSpec(
        "agent_turn_words",
        "words",
        "Mean agent turn length in word units (nan: no agent turn).",
        "agent turns average {} words",
        "{:.1f}",
    ),
    FeatureSpec(
        "customer_turn_words",
        "words",
        "Mean customer turn length in word units (nan: no customer turn).",
        "customer turns average {} words",
        "{:.1f}",
    ),
    FeatureSpec("customer_questions", "count", "Customer turns that ask a question.", "{} customer questions"),
    FeatureSpec(
        "customer_repeat_share",
        "share",
        "Customer turns that repeat an earlier customer turn (token overlap).",
        "customer repeats themself in {} of turns",
        "{:.0%}",
    ),
    FeatureSpec(
        "agent_repeat_share",
        "share",
        "Agent turns that repeat an earlier agent turn (token overlap).",
        "agent repeats themself in {} of turns",
        "{:.0%}",
    ),
    FeatureSpec(
        "ends_on_customer",
        "flag",
        "1 when the last spoken turn is the customer's (no agent closing), else 0.",
        "ends on a customer turn (no agent closing)",
        template_off="ends on an agent turn",
    ),
    FeatureSpec(
        "has_timestamps",
        "indicator",
        "1 when the transcript has turn times, else 0 (timing features nan).",
        "has timestamps",
    ),
    FeatureSpec("duration_s", "seconds", "First turn start to last turn end.", "duration {}", unit=" s"),
    FeatureSpec(
        "longest_gap_s",
        "seconds",
        "Longest silence between one turn's end and the next turn's start.",
        "longest silence {}",
        unit=" s",
    ),
    FeatureSpec(
        "silence_share", "share", "Total silence between turns over the duration.", "silence {} of the call", "{:.0%}"
    ),
    FeatureSpec(
        "has_dissatisfaction",
        "indicator",
        "1 when a dissatisfaction score was given, else 0 (dissatisfaction_score nan).",
        "has a dissatisfaction score",
    ),
    FeatureSpec(
        "dissatisfaction_score",
        "score",
        "The conversation's dissatisfaction score (0..1).",
        "dissatisfaction {}",
        "{:.2f}",
    ),
)
FEATURE_SPECS: dict[str, FeatureSpec] = {spec.name: spec for spec in FEATURES}
FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in FEATURES)


def spec_for(name: str) -> FeatureSpec:
    """The spec of a built-in feature, or a generic one for an ``extra`` feature."""
    return FEATURE_SPECS.get(name) or FeatureSpec(name, "score", f"Extra feature {name}.", f"{name} {{}}", "{:.3g}")


def conversation_features(
    conversation: Conversation,
    result: ConversationResult,
    dissatisfaction_score: float | None = None,
    extra: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """The named features of one audited conversation (``FEATURES`` in order, then ``extra``); ``nan`` = unmeasured."""
    features: dict[str, float] = {}
    features.update(_step_features(result))
    features.update(_talk_features(conversation.turns))
    features.update(_timing_features(conversation.turns))
    has_score = dissatisfaction_score is not None and math.isfinite(dissatisfaction_score)
    features["has_dissatisfaction"] = float(has_score)
    features["dissatisfaction_score"] = float(dissatisfaction_score or 0.0) if has_score else math.nan
    for name, value in (extra or {}).items():
        if name in FEATURE_SPECS:
            raise ValueError(f"extra feature {name!r} collides with a built-in feature; rename it")
        features[name] = float(value) if value is not None else math.nan
    return features


def _step_features(result: ConversationResult) -> dict[str, float]:
    applicable = [step for step in result.steps if step.status != "not_applicable"]
    missing = [step for step in applicable if step.status == "missing"]
    required = [step for step in applicable if step.required]
    required_missing = [step for step in required if step.status == "missing"]
    required_missed = [step for step in required if step.status in MISSED_STATUSES]
    return {
        "compliance_score": float(result.score),
        "missing_steps": float(len(missing)),
        "missing_required": float(sum(step.required for step in missing)),
        "missing_share": len(required_missing) / len(required) if required else 0.0,
        "out_of_order_steps": float(sum(step.status == "out_of_order" for step in applicable)),
        "late_steps": float(sum(step.status == "late" for step in applicable)),
        "missed_share": len(required_missed) / len(required) if required else 0.0,
        "critical_missing": float(sum(step.critical for step in missing)),
    }


def _talk_features(turns: Sequence[Turn]) -> dict[str, float]:
    spoken = [turn for turn in turns if turn.spoken]
    agent = [turn for turn in spoken if turn.role is Role.AGENT]
    customer = [turn for turn in spoken if turn.role is Role.CUSTOMER]
    agent_words = [word_units(turn.text) for turn in agent]
    customer_words = [word_units(turn.text) for turn in customer]
    total_words = sum(agent_words) + sum(customer_words)
    return {
        "spoken_turns": float(len(spoken)),
        "events": float(len(turns) - len(spoken)),
        "agent_talk_share": sum(agent_words) / total_words if total_words else 0.0,
        "agent_turn_words": sum(agent_words) / len(agent) if agent else math.nan,
        "customer_turn_words": sum(customer_words) / len(customer) if customer else math.nan,
        "customer_questions": float(sum(bool(_QUESTION.search(turn.text.strip())) for turn in customer)),
        "customer_repeat_share": repeat_share([turn.text for turn in customer]),
        "agent_repeat_share": repeat_share([turn.text for turn in agent]),
        "ends_on_customer": float(bool(spoken) and spoken[-1].role is Role.CUSTOMER),
    }


def _timing_features(turns: Sequence[Turn]) -> dict[str, float]:
    """Duration and silences between spoken turns (holds count as silence); ``nan`` when they cannot be measured."""
    timed = [turn for turn in turns if turn.start is not None]
    unmeasured = {"has_timestamps": 0.0, "duration_s": math.nan, "longest_gap_s": math.nan, "silence_share": math.nan}
    if len(timed) < 2:
        return unmeasured
    first = min(turn.start for turn in timed if turn.start is not None)
    last = max(turn.end if turn.end is not None else turn.start for turn in timed if turn.start is not None)
    duration = last - first
    spoken = [turn for turn in turns if turn.spoken]
    gaps = [
        max(0.0, current.start - previous.end)
        for previous, current in zip(spoken, spoken[1:], strict=False)
        if previous.end is not None and current.start is not None
    ]
    if duration <= 0:
        return unmeasured
    return {
        "has_timestamps": 1.0,
        "duration_s": duration,
        "longest_gap_s": max(gaps) if gaps else math.nan,
        "silence_share": min(1.0, sum(gaps) / duration) if gaps else math.nan,
    }


def word_units(text: str) -> float:
    """Length in word units: Latin-script words plus CJK characters / 1.5 (about one Chinese word)."""
    return len(_LATIN_WORD.findall(text)) + len(_CJK.findall(text)) / CJK_CHARS_PER_WORD


def tokens(text: str) -> frozenset[str]:
    """Lower-cased Latin words plus CJK character bigrams (CJK text has no spaces), for overlap measures."""
    words = {word.casefold() for word in _LATIN_WORD.findall(text)}
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", text):
        words.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    return frozenset(words)


def repeat_share(texts: Sequence[str], window: int = REPEAT_WINDOW) -> float:
    """Share of turns (long enough to judge) whose tokens overlap one of the ``window`` turns before (judged ones)
    by ``REPEAT_JACCARD`` or more.

    About linear in the number of turns (comparing every turn with every earlier one took 75 s on a 16,000-turn
    call): a turn looks back ``window`` turns at most, and among them, by prefix filtering, only at the turns that
    can be that similar. With the tokens of every turn ordered rarest first, two sets whose Jaccard similarity is at
    least ``t`` share a token among the first ``n - ceil(t * n) + 1`` tokens of each (``n`` its size)."""
    sets = [current for current in map(tokens, texts) if len(current) >= REPEAT_MIN_TOKENS]
    if not sets:
        return 0.0
    frequency: Counter[str] = Counter(token for current in sets for token in current)
    index: dict[str, list[int]] = {}
    last_seen: dict[frozenset[str], int] = {}
    repeats = 0
    for number, current in enumerate(sets):
        oldest = number - window
        same = last_seen.get(current)
        last_seen[current] = number
        if same is not None and same >= oldest:  # said before word for word
            repeats += 1
        else:
            ordered = sorted(current, key=lambda token: (frequency[token], token))
            prefix = ordered[: _prefix_length(len(ordered), REPEAT_JACCARD)]
            repeats += _overlaps_one(current, prefix, sets, index, oldest)
            for token in prefix:
                index.setdefault(token, []).append(number)
    return repeats / len(sets)


def _overlaps_one(
    current: frozenset[str], prefix: list[str], sets: list[frozenset[str]], index: dict[str, list[int]], oldest: int
) -> bool:
    """Whether a set from ``oldest`` on holding one of ``prefix`` in its own prefix is ``REPEAT_JACCARD``-similar."""
    checked: set[int] = set()
    for token in prefix:
        for earlier in reversed(index.get(token, ())):
            if earlier < oldest:
                break
            if earlier in checked:
                continue
            checked.add(earlier)
            other = sets[earlier]
            if len(current & other) / len(current | other) >= REPEAT_JACCARD:
                return True
    return False


def _prefix_length(size: int, threshold: float) -> int:
    """Tokens of a set of ``size`` that must hold a shared one with any set it is ``threshold``-similar to (an
    epsilon below the exact overlap keeps float rounding on the safe side: a longer prefix, more candidates)."""
    return min(size, size - math.ceil(threshold * size - 1e-9) + 1)
