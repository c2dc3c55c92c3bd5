"""Named conditions (``when``) that decide whether a step applies to a conversation at all."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from auditor.embeddings.base import Embedder
from auditor.text.artifacts import ConversationArtifacts
from auditor.text.normalise import normalise_text
from auditor.transcripts.roles import Role


@dataclass(frozen=True)
class ConditionOutcome:
    holds: bool
    confidence: float
    turn_index: int | None
    reason: str


@dataclass
class CustomerUtteranceCondition:
    """Holds when some customer turn matches the condition's keywords or is close in meaning to its examples."""

    name: str
    version: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...]
    min_similarity: float = 0.55
    _example_vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def _vectors(self, embedder: Embedder) -> np.ndarray:
        if embedder.name not in self._example_vectors:
            self._example_vectors[embedder.name] = embedder.encode([normalise_text(e) for e in self.examples])
        return self._example_vectors[embedder.name]

    def evaluate(self, artifacts: ConversationArtifacts, embedder: Embedder) -> ConditionOutcome:
        customer_turns = artifacts.by_role(Role.CUSTOMER)
        keywords = [normalise_text(keyword).casefold() for keyword in self.keywords]
        for turn_artifacts in customer_turns:
            text = turn_artifacts.normalised.casefold()
            matched = next((keyword for keyword in keywords if keyword in text), None)
            if matched:
                return ConditionOutcome(True, 0.95, turn_artifacts.turn.index, f"customer said {matched!r}")
        rows = np.flatnonzero(np.isin(artifacts.unit_turn, [t.turn.index for t in customer_turns]))
        if not len(rows):
            return ConditionOutcome(False, 0.9, None, "no customer turns")
        similarity = (artifacts.unit_vectors[rows] @ self._vectors(embedder).T).max(axis=1)
        best = int(np.argmax(similarity))
        best_score = float(similarity[best])
        turn_index = int(artifacts.unit_turn[rows[best]])
        if best_score >= self.min_similarity:
            return ConditionOutcome(
                True, min(0.5 + best_score / 2, 0.99), turn_index, "customer turn close to examples"
            )
        return ConditionOutcome(
            False, min(0.5 + (self.min_similarity - best_score), 0.99), None, "no customer turn matched"
        )


def builtin_conditions() -> dict[str, CustomerUtteranceCondition]:
    """The named conditions SOP steps may use in ``when``; a fresh dict per auditor (no global state)."""
    return {
        "customer_complaint": CustomerUtteranceCondition(
            name="customer_complaint",
            version="1",
            keywords=(
                "complain",
                "complaint",
                "unacceptable",
                "not happy",
                "disappointed",
                "furious",
                "ridiculous",
                "terrible service",
                "still hasn't arrived",
                "charged twice",
                "refund",
                "投诉",
                "不满意",
                "太差",
                "太过分",
                "气死",
                "退款",
                "没收到",
                "多扣",
                "一直没有",
                "怎么回事",
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
            version="1",
            keywords=(
                "my account",
                "my balance",
                "my card",
                "my order",
                "my bill",
                "my statement",
                "my password",
                "my transaction",
                "my subscription",
                "my payment",
                "my booking",
                "my policy",
                "我的账户",
                "我的账号",
                "余额",
                "我的卡",
                "我的订单",
                "账单",
                "密码",
                "交易",
                "我的套餐",
                "扣费",
                "信用卡",
                "银行卡",
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
