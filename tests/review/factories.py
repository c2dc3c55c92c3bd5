"""A bilingual keyword SOP, English and Chinese calls, and their audits with the hashing embedder (no real models)."""

from __future__ import annotations

from typing import Any

from auditor.auditor import Auditor
from auditor.conversation import Conversation
from auditor.embeddings.hashing import HashingEmbedder
from auditor.result import ConversationResult, Dissatisfaction, TurnSignal
from auditor.sop.loading import sop_from_text
from auditor.sop_format import Sop
from auditor.transcripts.records import conversation_from_mapping

CARD_SOP = """
id: card-check
name: Card check
languages: [en, zh]
steps:
  - id: greet
    name: Greet
    keywords: ["welcome to acme", "欢迎致电"]
    within_first_turns: 2
  - id: verify
    name: Verify identity
    keywords: ["date of birth", "出生日期"]
    critical: true
    before: [discuss]
  - id: discuss
    name: Discuss the card
    keywords: ["your card balance", "余额"]
  - id: close
    name: Close
    keywords: ["goodbye from acme", "再见"]
"""

CALLS: list[dict[str, Any]] = [
    {
        "id": "en-good",
        "agent_id": "a-7",
        "lang": "en",
        "started_at": "2026-03-02T09:00:00Z",
        "turns": [
            {"speaker": "agent", "text": "Hello, welcome to Acme bank.", "start": 0.0, "end": 2.0},
            {"speaker": "customer", "text": "Hi, I want to check my card.", "start": 2.5, "end": 4.0},
            {"speaker": "agent", "text": "Sure. What is your date of birth?", "start": 4.5, "end": 6.0},
            {"speaker": "customer", "text": "The first of May 1980.", "start": 6.5, "end": 8.0},
            {"speaker": "agent", "text": "Thanks. Your card balance is 40 pounds.", "start": 8.5, "end": 10.0},
            {"speaker": "agent", "text": "Anything else? Goodbye from Acme.", "start": 11.5, "end": 13.0},
        ],
    },
    {
        "id": "en-no-verify",
        "agent_id": "a-9",
        "lang": "en",
        "started_at": "2026-03-03T10:30:00Z",
        "turns": [
            {"speaker": "agent", "text": "Hello, welcome to Acme bank.", "start": 0.0, "end": 2.0},
            {"speaker": "customer", "text": "My card was charged twice, this is ridiculous.", "start": 2.5, "end": 5.0},
            {"speaker": "agent", "text": "Which town were you born in, for security?", "start": 5.5, "end": 7.0},
            {"speaker": "customer", "text": "Leeds. Just fix it.", "start": 7.5, "end": 8.5},
            {
                "speaker": "agent",
                "text": "Your card balance is 40 pounds and the double charge is refunded.",
                "start": 9.0,
            },
            {"speaker": "customer", "text": "I want to speak to your manager."},
            {"speaker": "agent", "text": "Goodbye from Acme."},
        ],
    },
    {
        "id": "zh-call",
        "agent_id": "a-9",
        "lang": "zh",
        "started_at": "2026-03-04T14:00:00+08:00",
        "turns": [
            {"speaker": "客服", "text": "您好，欢迎致电爱克美银行，请问有什么可以帮您？", "start": 0.0, "end": 3.0},
            {"speaker": "客户", "text": "我的卡被扣了两次钱，太离谱了！", "start": 3.5, "end": 6.0},
            {"speaker": "客服", "text": "非常抱歉。您卡里的余额是四十元，多扣的钱会退回。", "start": 6.5, "end": 10.0},
            {"speaker": "客户", "text": "你们每次都这样，我要投诉！", "start": 10.5, "end": 12.0},
            {"speaker": "客服", "text": "请问您的出生日期是？", "start": 12.5, "end": 14.0},
            {"speaker": "客户", "text": "1980年5月1日。", "start": 14.5, "end": 16.0},
            {"speaker": "客服", "text": "好的，感谢来电，再见。", "start": 16.5, "end": 18.0},
        ],
    },
]

UNHAPPY_TURNS = {"en-no-verify": {1: 0.62, 5: 0.91}, "zh-call": {1: 0.7, 3: 0.88}}
"""Customer turns to mark as dissatisfied, as the real dissatisfaction model would (the hashing embedder has none)."""


def card_sop() -> Sop:
    return sop_from_text(CARD_SOP)


def calls() -> list[Conversation]:
    return [conversation_from_mapping(call, source="", default_id=call["id"]) for call in CALLS]


def audited(sop: Sop | None = None) -> tuple[list[ConversationResult], dict[str, Conversation]]:
    """Audit the calls with the hashing embedder; add the dissatisfaction blocks a full audit would carry."""
    conversations = calls()
    results = Auditor(sop or card_sop(), HashingEmbedder()).audit_many(conversations)
    with_mood = []
    for result in results:
        unhappy = UNHAPPY_TURNS.get(result.conversation_id)
        if unhappy:
            turns = [TurnSignal(turn_index=i, score=s, signals=["negative", "escalation"]) for i, s in unhappy.items()]
            block = Dissatisfaction(score=max(unhappy.values()), flagged=True, turns=turns)
            result = result.model_copy(update={"dissatisfaction": block, "flags": [*result.flags, "dissatisfied"]})
        with_mood.append(result)
    return with_mood, {c.id: c for c in conversations}
