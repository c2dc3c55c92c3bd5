"""Named dissatisfaction signals per turn: small detectors over a conversation's shared artifacts.

Customer-side signals (``complaint``, ``escalation``, ``churn``, ``frustration``, ``repetition``,
``negative``) land on customer turns; agent-side risks (``interruption``, ``long_silence``, ``hold``) land on
the agent or event turn where they happened, and only when timestamps (or hold events) exist. Every hit names
its detector and version and carries the text or measurement that fired it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import numpy as np

from auditor.conversation import Role
from auditor.dissatisfaction import lexicons
from auditor.text.artifacts import ConversationArtifacts, TurnArtifacts
from auditor.text.normalise import normalise_text

SIGNALS = (
    "negative",
    "complaint",
    "escalation",
    "churn",
    "frustration",
    "repetition",
    "interruption",
    "long_silence",
    "hold",
)
"""Every signal name a detector may emit, in the order results list them."""

AGENT_SIDE_SIGNALS = SIGNALS[6:]

DEFAULT_REPETITION_THRESHOLD = 0.70
"""Cosine above which a customer turn repeats an earlier one, for USE-m (chosen on the seed pairs; see the card)."""


@dataclass(frozen=True)
class SignalHit:
    """One signal on one turn: how strong (0..1), which detector fired, and the text or measure behind it."""

    turn_index: int
    signal: str
    strength: float
    detector: str
    evidence: str


@dataclass
class SignalContext:
    """What signal detectors read: the conversation's artifacts, whole-turn vectors, and turn negativity."""

    artifacts: ConversationArtifacts
    turn_vectors: dict[int, np.ndarray]
    negativity: dict[int, float] = field(default_factory=dict)
    _similarity: dict[int, tuple[float, int | None]] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, artifacts: ConversationArtifacts, negativity: Mapping[int, float] | None = None) -> SignalContext:
        """Index the first unit row of every spoken turn (the whole normalised turn) by turn index."""
        return cls(artifacts, artifacts.whole_turn_vectors(), dict(negativity or {}))

    @property
    def customer_turns(self) -> list[TurnArtifacts]:
        return self.artifacts.by_role(Role.CUSTOMER)

    def earlier_similarity(self) -> dict[int, tuple[float, int | None]]:
        """``earlier_similarity`` of this conversation, computed once and shared by the detector and features."""
        if self._similarity is None:
            self._similarity = earlier_similarity(self)
        return self._similarity


class SignalDetector(Protocol):
    """Finds one named signal in a conversation."""

    name: str
    version: str
    signal: str

    def detect(self, context: SignalContext) -> list[SignalHit]: ...


def _english(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])(?:" + "|".join(patterns) + r")(?![\w'])", re.IGNORECASE)


def _chinese(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(patterns))


def matching_text(text: str) -> str:
    """Text the phrase lists match: casefolded, typographic apostrophes made plain."""
    return text.casefold().replace("\u2019", "'").replace("\u2018", "'")


def first_match(patterns: Sequence[re.Pattern[str]], text: str) -> str | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return match.group(0)
    return None


class PhraseSignal:
    """A customer-turn signal fired by an English or Chinese phrase list (regular expressions)."""

    version = "2"
    """2: anger as accusation, money lost, double charges, waits, transfers, churn and escalation wording added."""

    def __init__(self, signal: str, english: Sequence[str], chinese: Sequence[str]):
        self.signal = signal
        self.name = f"{signal}-phrases"
        self.patterns = (_english(english), _chinese(chinese))

    def detect(self, context: SignalContext) -> list[SignalHit]:
        hits = []
        for turn in context.customer_turns:
            matched = first_match(self.patterns, matching_text(turn.normalised))
            if matched:
                hits.append(SignalHit(turn.turn.index, self.signal, 1.0, f"{self.name}@{self.version}", matched))
        return hits


_CAPS_WORD = re.compile(r"\b[A-Z]{4,}\b")
_LETTERS = re.compile(r"[A-Za-z]")
_EXCLAIM = re.compile(r"[!?]*![!?]+|\?{3,}")


def shouting(text: str) -> str | None:
    """ALL-CAPS writing: two or more capitalised words of 4+ letters (not ATM, PIN), or 12+ letters mostly capitals."""
    caps = _CAPS_WORD.findall(text)
    if len(caps) >= 2:
        return " ".join(caps[:3])
    letters = _LETTERS.findall(text)
    if len(letters) >= 12 and sum(ch.isupper() for ch in letters) / len(letters) > 0.7:
        return text[:40]
    return None


class FrustrationSignal(PhraseSignal):
    """Repeated-failure wording ("again", 还是没解决, 第三次, 又), shouting in capitals, and "!!!" / "?!"."""

    version = "2"

    def __init__(self) -> None:
        super().__init__("frustration", lexicons.FRUSTRATION_EN, lexicons.FRUSTRATION_ZH)

    def detect(self, context: SignalContext) -> list[SignalHit]:
        hits = []
        for turn in context.customer_turns:
            text = turn.normalised
            matched = first_match(self.patterns, matching_text(text)) or shouting(text)
            exclaim = _EXCLAIM.search(text)
            evidence = matched or (exclaim.group(0) if exclaim else None)
            if evidence:
                hits.append(SignalHit(turn.turn.index, self.signal, 1.0, f"{self.name}@{self.version}", evidence))
        return hits


_UPSET = tuple(
    pattern
    for english, chinese in (
        (lexicons.COMPLAINT_EN, lexicons.COMPLAINT_ZH),
        (lexicons.ESCALATION_EN, lexicons.ESCALATION_ZH),
        (lexicons.FRUSTRATION_EN, lexicons.FRUSTRATION_ZH),
    )
    for pattern in (_english(english), _chinese(chinese))
)
_DECLINE = (_english(lexicons.DECLINE_EN), _chinese(lexicons.DECLINE_ZH))
_CHURN_THREAT = (
    _english(lexicons.CHURN_EN),
    _chinese(pattern for pattern in lexicons.CHURN_ZH if pattern not in lexicons.CHURN_ZH_DECLINE_LIKE),
)
"""Churn wording that is a threat whatever else the turn says (not "不用了", which is also how a decline starts)."""
_ROUTINE_CLOSE = (_english(lexicons.ROUTINE_CLOSE_EN), _chinese(lexicons.ROUTINE_CLOSE_ZH))
_LEAVING = (_english(lexicons.LEAVING_EN), _chinese(lexicons.LEAVING_ZH))
_PRAISE = (_english(lexicons.PRAISE_EN), _chinese(lexicons.PRAISE_ZH))


def upset(text: str) -> str | None:
    """The complaint, escalation or frustration words of a normalised turn, if any."""
    return first_match(_UPSET, matching_text(text))


def calm_decline(text: str) -> str | None:
    """The words that decline an offer ("不用了", "no thanks", "not now") in a turn that neither complains nor
    threatens to leave ("No. I'm closing all my accounts" is a threat that starts with a no)."""
    lowered = matching_text(text)
    matched = first_match(_DECLINE, lowered)
    return matched if matched and not upset(text) and not first_match(_CHURN_THREAT, lowered) else None


@lru_cache(maxsize=16384)
def calm_turn(text: str) -> str | None:
    """The words of a turn that declines an offer or thanks and praises, when it does not also complain: what the
    negativity model may read as strong feeling but is not dissatisfaction."""
    found = calm_decline(text)
    if found:
        return found
    matched = first_match(_PRAISE, matching_text(text))
    return matched if matched and not upset(text) else None


def routine_close(text: str) -> str | None:
    """The words that make closing or cancelling routine (a spare card, "how much does closing cost") in a turn that
    does not also complain."""
    lowered = matching_text(text)
    matched = first_match(_ROUTINE_CLOSE, lowered)
    leaving = first_match(_LEAVING, lowered)
    return matched if matched and not upset(text) and not leaving else None


class ChurnSignal(PhraseSignal):
    """Threats to leave (close every account, switch provider, 销户, 不用你们了); not a calm decline of an offer
    ("不用了") nor a routine closing of one product ("注销一张不用的副卡")."""

    def __init__(self) -> None:
        super().__init__("churn", lexicons.CHURN_EN, lexicons.CHURN_ZH)

    def detect(self, context: SignalContext) -> list[SignalHit]:
        calm = {
            turn.turn.index
            for turn in context.customer_turns
            if calm_decline(turn.normalised) or routine_close(turn.normalised)
        }
        return [hit for hit in super().detect(context) if hit.turn_index not in calm]


_HAN = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9']+")


def substantial(text: str, min_words: int = 4, min_han: int = 5) -> bool:
    """Long enough to be a request worth comparing (not "ok", "yes", "谢谢")."""
    return len(_WORD.findall(text)) >= min_words or len(_HAN.findall(text)) >= min_han


def earlier_similarity(context: SignalContext) -> dict[int, tuple[float, int | None]]:
    """For each customer turn, the highest cosine to an earlier substantial customer turn, and which one."""
    tracker = EarlierSimilarity()
    return {
        turn.turn.index: tracker.add(turn.turn.index, context.turn_vectors[turn.turn.index], turn.normalised)
        for turn in context.customer_turns
    }


class EarlierSimilarity:
    """Customer turns read in order: each one's highest cosine to an earlier substantial customer turn (the first
    such turn on a tie; none below 0), compared with all of them at once."""

    def __init__(self) -> None:
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._indices: list[int] = []

    def add(self, index: int, vector: np.ndarray, text: str) -> tuple[float, int | None]:
        """The customer turn ``index``: its best cosine to the earlier ones and which turn (0.0 and None if none)."""
        if not substantial(text):
            return (0.0, None)
        best: tuple[float, int | None] = (0.0, None)
        count = len(self._indices)
        if count:
            cosines = self._vectors[:count] @ vector
            row = int(np.argmax(cosines))
            if float(cosines[row]) > 0.0:
                best = (float(cosines[row]), self._indices[row])
        if count == len(self._vectors):  # grow by doubling: adding a turn copies nothing on average
            grown = np.zeros((max(8, 2 * count), len(vector)), dtype=np.float32)
            if count:
                grown[:count] = self._vectors[:count]
            self._vectors = grown
        self._vectors[count] = vector
        self._indices.append(index)
        return best


class RepetitionSignal:
    """The customer asks again what they already asked: cosine to an earlier customer turn above a threshold."""

    name = "repetition-semantic"
    version = "1"
    signal = "repetition"

    def __init__(self, threshold: float = DEFAULT_REPETITION_THRESHOLD):
        self.threshold = threshold

    def detect(self, context: SignalContext) -> list[SignalHit]:
        hits = []
        for turn_index, (cosine, earlier) in context.earlier_similarity().items():
            if earlier is not None and cosine >= self.threshold:
                evidence = f"cosine {cosine:.2f} to turn {earlier}"
                hits.append(SignalHit(turn_index, self.signal, cosine, f"{self.name}@{self.version}", evidence))
        return hits


class NegativeSignal:
    """A customer turn whose negativity (the model's P(unhappy stance)) reaches a threshold."""

    name = "negative-model"
    version = "2"
    """2: a calm decline of an offer ("不用了", "no thanks") or thanks and praise that do not also complain do not
    fire it, whatever the model reads."""
    signal = "negative"

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold

    def detect(self, context: SignalContext) -> list[SignalHit]:
        calm = {turn.turn.index for turn in context.customer_turns if calm_turn(turn.normalised)}
        return [
            SignalHit(index, self.signal, value, f"{self.name}@{self.version}", f"negativity {value:.2f}")
            for index, value in sorted(context.negativity.items())
            if value >= self.threshold and index not in calm
        ]


def customer_then_agent(context: SignalContext) -> Iterator[tuple[TurnArtifacts, TurnArtifacts]]:
    """Consecutive spoken turns where the agent answers the customer: where timing risks happen."""
    spoken = context.artifacts.turns
    for previous, current in zip(spoken, spoken[1:], strict=False):
        if previous.turn.role is Role.CUSTOMER and current.turn.role is Role.AGENT:
            yield previous, current


class InterruptionSignal:
    """An agent turn that starts before the customer's previous turn has ended (needs start and end times)."""

    name = "interruption-timing"
    version = "1"
    signal = "interruption"

    def __init__(self, tolerance_seconds: float = 0.3):
        self.tolerance_seconds = tolerance_seconds

    def detect(self, context: SignalContext) -> list[SignalHit]:
        hits = []
        for previous, current in customer_then_agent(context):
            end, start = previous.turn.end, current.turn.start
            if end is not None and start is not None and start < end - self.tolerance_seconds:
                overlap = end - start
                evidence = f"started {overlap:.1f}s before the customer finished"
                strength = min(1.0, overlap / 3.0)
                hits.append(
                    SignalHit(current.turn.index, self.signal, strength, f"{self.name}@{self.version}", evidence)
                )
        return hits


class LongSilenceSignal:
    """The customer waited more than ``max_gap_seconds`` for the agent's next turn (needs times)."""

    name = "silence-timing"
    version = "1"
    signal = "long_silence"

    def __init__(self, max_gap_seconds: float = 10.0):
        self.max_gap_seconds = max_gap_seconds

    def detect(self, context: SignalContext) -> list[SignalHit]:
        hits = []
        for previous, current in customer_then_agent(context):
            end = previous.turn.end if previous.turn.end is not None else previous.turn.start
            start = current.turn.start
            if end is None or start is None:
                continue
            gap = start - end
            if gap > self.max_gap_seconds:
                strength = min(1.0, gap / (3 * self.max_gap_seconds))
                evidence = f"{gap:.0f}s of silence before the agent answered"
                hits.append(
                    SignalHit(current.turn.index, self.signal, strength, f"{self.name}@{self.version}", evidence)
                )
        return hits


class HoldSignal:
    """A non-spoken event turn that puts the customer on hold ("hold started", 保持, 等待)."""

    name = "hold-events"
    version = "1"
    signal = "hold"

    def __init__(self) -> None:
        self.patterns = (_english(lexicons.HOLD_EVENT_EN), _chinese(lexicons.HOLD_EVENT_ZH))
        self.over = (_english(lexicons.HOLD_OVER), _chinese(lexicons.HOLD_OVER_ZH))

    def detect(self, context: SignalContext) -> list[SignalHit]:
        hits = []
        for turn in context.artifacts.conversation.turns:
            if turn.spoken:
                continue
            text = matching_text(normalise_text(turn.text))
            if first_match(self.over, text):
                continue
            matched = first_match(self.patterns, text)
            if matched:
                hits.append(SignalHit(turn.index, self.signal, 1.0, f"{self.name}@{self.version}", turn.text[:60]))
        return hits


def builtin_signal_detectors(
    *,
    repetition_threshold: float = DEFAULT_REPETITION_THRESHOLD,
    negative_threshold: float = 0.5,
    max_gap_seconds: float = 10.0,
) -> dict[str, SignalDetector]:
    """A fresh registry (signal name -> detector) for one scorer; thresholds come from the model's metadata."""
    detectors: list[SignalDetector] = [
        NegativeSignal(negative_threshold),
        PhraseSignal("complaint", lexicons.COMPLAINT_EN, lexicons.COMPLAINT_ZH),
        PhraseSignal("escalation", lexicons.ESCALATION_EN, lexicons.ESCALATION_ZH),
        ChurnSignal(),
        FrustrationSignal(),
        RepetitionSignal(repetition_threshold),
        InterruptionSignal(),
        LongSilenceSignal(max_gap_seconds),
        HoldSignal(),
    ]
    return {detector.signal: detector for detector in detectors}


def detect_signals(context: SignalContext, detectors: Mapping[str, SignalDetector]) -> list[SignalHit]:
    """Every hit of every detector, ordered by turn and then by signal name order."""
    hits = [hit for detector in detectors.values() for hit in detector.detect(context)]
    return sorted(hits, key=lambda hit: (hit.turn_index, SIGNALS.index(hit.signal)))


def agent_apology(text: str) -> bool:
    """Whether an agent turn apologises (sorry, apologise, 抱歉, 不好意思, 对不起...)."""
    return first_match(_APOLOGY, matching_text(text)) is not None


def closing_remark(text: str) -> bool:
    """Whether a customer turn thanks or closes (thanks, great, bye, 谢谢, 好的, 解决了...)."""
    return first_match(_CLOSING, matching_text(text)) is not None


def agent_failure(text: str) -> bool:
    """Whether an agent turn says it could not help (unable, no results, unsuccessful, 无法, 没有找到...)."""
    return first_match(_FAILURE, matching_text(text)) is not None


def customer_correction(text: str) -> bool:
    """Whether a customer turn corrects the agent (I said, that's not what, actually, 我说的是, 不对...)."""
    return first_match(_CORRECTION, matching_text(text)) is not None


def customer_retry(text: str) -> bool:
    """Whether a customer turn asks for another try or another option (how about, instead, 换一个, 其他...)."""
    return first_match(_RETRY, matching_text(text)) is not None


def starts_with_no(text: str) -> bool:
    """Whether a turn opens with a refusal (no, nope, not, 不是, 不用, 没有...)."""
    return _STARTS_WITH_NO.match(matching_text(text).lstrip()) is not None


def asks_question(text: str) -> bool:
    """Whether a turn ends with a question mark (normalised text: full-width marks are already plain)."""
    return text.rstrip().endswith(("?", "\uff1f"))


_APOLOGY = (_english(lexicons.APOLOGY_EN), _chinese(lexicons.APOLOGY_ZH))
_CLOSING = (_english(lexicons.CLOSING_EN), _chinese(lexicons.CLOSING_ZH))
_FAILURE = (_english(lexicons.AGENT_FAILURE_EN), _chinese(lexicons.AGENT_FAILURE_ZH))
_CORRECTION = (_english(lexicons.CORRECTION_EN), _chinese(lexicons.CORRECTION_ZH))
_RETRY = (_english(lexicons.RETRY_EN), _chinese(lexicons.RETRY_ZH))
_STARTS_WITH_NO = re.compile(lexicons.STARTS_WITH_NO)
