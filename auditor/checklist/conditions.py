"""Named conditions (``when``) that decide whether a step applies to a conversation at all.

``builtin_conditions`` is the registry: the only list of condition names. SOP validation (``auditor.sop.loading``)
checks ``when`` against it and the exported JSON Schema lists its names for editors (``auditor.sop.json_schema``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from auditor.conversation import Role
from auditor.detection.pair_features import cosines
from auditor.embeddings.base import Embedder
from auditor.text.artifacts import ConversationArtifacts, TurnArtifacts
from auditor.text.normalise import normalise_text


@dataclass(frozen=True)
class ConditionOutcome:
    holds: bool
    confidence: float
    turn_index: int | None
    reason: str


@dataclass
class CustomerUtteranceCondition:
    """Holds when a customer turn matches one of the condition's patterns or is close in meaning to its examples."""

    name: str
    version: str
    patterns: tuple[str, ...]
    examples: tuple[str, ...]
    min_similarity: float = 0.55
    _example_vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._compiled = [re.compile(pattern, re.IGNORECASE) for pattern in self.patterns]

    def _vectors(self, embedder: Embedder) -> np.ndarray:
        if embedder.name not in self._example_vectors:
            self._example_vectors[embedder.name] = embedder.encode([normalise_text(e) for e in self.examples])
        return self._example_vectors[embedder.name]

    def evaluate(self, artifacts: ConversationArtifacts, embedder: Embedder) -> ConditionOutcome:
        tracker = ConditionTracker(self, embedder)
        rows_of: dict[int, list[int]] = {}
        for row, turn_index in enumerate(artifacts.unit_turn.tolist()):
            rows_of.setdefault(int(turn_index), []).append(row)
        for turn_artifacts in artifacts.by_role(Role.CUSTOMER):
            if tracker.matched is not None:
                break
            tracker.add(turn_artifacts, artifacts.unit_vectors[rows_of.get(turn_artifacts.turn.index, [])])
        return tracker.outcome()

    def pattern_match(self, text: str) -> str | None:
        for pattern in self._compiled:
            if match := pattern.search(text):
                return match.group(0)
        return None


@dataclass
class ConditionTracker:
    """A condition judged turn by turn (a live session): the first customer turn a pattern matches decides it, else
    the customer sentence closest to the examples; ``outcome()`` is what ``evaluate`` says of the turns so far."""

    condition: CustomerUtteranceCondition
    embedder: Embedder
    matched: ConditionOutcome | None = None
    best: tuple[float, int] | None = None
    """The best similarity of a customer unit to the examples so far, and its turn (the first such unit)."""

    def add(self, turn: TurnArtifacts, vectors: np.ndarray) -> None:
        """The next spoken turn and its unit vectors (a turn that is not the customer's is ignored)."""
        if turn.turn.role is not Role.CUSTOMER or self.matched is not None:
            return
        if (said := self.condition.pattern_match(turn.normalised)) is not None:
            reason = f"customer said {said!r} (turn {turn.turn.index})"
            self.matched = ConditionOutcome(True, 0.95, turn.turn.index, reason)
            return
        if not len(vectors):
            return
        similarity = cosines(vectors, self.condition._vectors(self.embedder)).max(axis=1)
        row = int(np.argmax(similarity))
        if self.best is None or float(similarity[row]) > self.best[0]:
            self.best = (float(similarity[row]), turn.turn.index)

    def outcome(self) -> ConditionOutcome:
        if self.matched is not None:
            return self.matched
        if self.best is None:
            return ConditionOutcome(False, 0.9, None, "no customer turns")
        best_score, turn_index = self.best
        minimum = self.condition.min_similarity
        if best_score >= minimum:
            confidence = min(0.5 + best_score / 2, 0.99)
            reason = f"customer turn {turn_index} is close to the examples"
            return ConditionOutcome(True, confidence, turn_index, reason)
        confidence = min(0.5 + (minimum - best_score), 0.99)
        return ConditionOutcome(False, confidence, None, "no customer turn matched its patterns or examples")


_EN_ACCOUNT_NOUNS = (
    "account|balance|card|order|bill|statement|password|pin|transaction|subscription|payment|booking|policy|plan|"
    "contract|invoice|charge|refund|direct debit|loan|mortgage|package|parcel|delivery|meter|tariff|add-on|"
    "installation|appointment|claim|details|address|phone number"
)


def condition_names() -> list[str]:
    """The names a step may give in ``when``."""
    return list(builtin_conditions())


def builtin_conditions() -> dict[str, CustomerUtteranceCondition]:
    """The named conditions SOP steps may use in ``when``, by name; a fresh dict per auditor (no global state)."""
    return {
        "customer_complaint": CustomerUtteranceCondition(
            name="customer_complaint",
            version="2",
            patterns=(
                r"\bcomplain|\bunacceptable\b|\bnot (happy|good enough|acceptable)\b|\bdisappoint|\bfurious\b",
                r"\bridiculous\b|\bterrible\b|\bawful\b|\bworst\b|\bfed up\b|\bstill (hasn't|haven't|not)\b",
                r"\bcharged (me )?twice\b|\bnobody (has )?(called|fixed|helped)\b|\bbroken\b|\bdamaged\b",
                r"投诉|不满|太差|太过分|气死|怎么回事|没收到|多扣|一直没|还没(有)?(到|解决|修好|退)|坏了|破损|搞错|太慢",
            ),
            examples=(
                "I want to make a complaint about your service.",
                "This is unacceptable, my order still hasn't arrived.",
                "I was charged twice and nobody has fixed it.",
                "I'm really disappointed with how this was handled.",
                "我要投诉你们的服务",
                "我的快递一直没收到，你们怎么回事",
                "你们多扣了我的钱，太过分了",
                "我对这次的处理非常不满意",
            ),
        ),
        "customer_identity_needed": CustomerUtteranceCondition(
            name="customer_identity_needed",
            version="2",
            patterns=(
                rf"\b(my|our)\s+(\w+[\s-]){{0,3}}?({_EN_ACCOUNT_NOUNS})s?\b",
                r"我(的|们的)?.{0,6}(账户|账号|余额|卡|订单|账单|密码|交易|套餐|扣费|话费|流量|贷款|保单|预约|地址|手机号)",
                r"(查|改|修改|取消|冻结|挂失|解锁).{0,6}(账户|账号|余额|卡|订单|账单|密码|套餐|预约|地址)",
            ),
            examples=(
                "I'd like to check the balance on my account.",
                "There's a charge on my card I don't recognise.",
                "Can you tell me the status of my order?",
                "I need to change the address on my account.",
                "我想查一下我账户的余额",
                "我的银行卡被锁了",
                "帮我查一下我的订单到哪了",
                "我想改一下账户绑定的手机号",
            ),
        ),
    }
