"""Built-in detector ``account_details``: the agent discloses account-specific facts (amounts, balances, card tails).

Used where an SOP must know when the account was discussed, e.g. "verify identity before discussing the account":
wording varies endlessly, but disclosed facts have a recognisable shape in English and Chinese.
"""

from __future__ import annotations

import re

from auditor.conversation import Role
from auditor.detection.hits import StepHit
from auditor.detection.sop_index import SopIndex
from auditor.text.artifacts import ConversationArtifacts

_AMOUNT = (
    r"(?:[$£€¥]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?(?:pounds?|dollars?|euros?|yuan|rmb|usd|gbp|eur)\b"
    r"|\d[\d,]*(?:\.\d+)?\s?(?:元|块|万元))"
)
PATTERNS: tuple[tuple[str, str], ...] = (
    ("amount", _AMOUNT),
    (
        "account fact",
        r"\byour (?:\w+ ){0,2}(?:balance|payment|bill|statement|account|card|order|transaction|direct debit|"
        r"plan|subscription|contract|refund|charge)s? (?:is|was|are|were|has|have|shows?|will)\b",
    ),
    ("card tail", r"\b(?:ending|ends) (?:in|with) \d{3,4}\b|尾号\s?\d{3,4}|后四位是\s?\d{4}"),
    ("account fact", r"您(?:的)?(?:账户|账号|卡|订单|账单|套餐|余额|话费).{0,8}(?:是|为|有|显示|已经|还有|剩)"),
    ("account fact", r"(?:余额|欠费|账单金额|扣款|交易记录|最近一笔|消费了)"),
)


class AccountDetailsDetector:
    """Agent turns that state account-specific facts; confidence measured on the project corpora."""

    name = "account_details"
    version = "1"

    def __init__(self, confidence: float = 0.85):
        self.confidence = confidence
        self._patterns = [(label, re.compile(pattern, re.IGNORECASE)) for label, pattern in PATTERNS]

    def detect(self, artifacts: ConversationArtifacts, index: SopIndex) -> list[StepHit]:
        """Hits for every step of ``index`` that names this detector, step by step in SOP order."""
        return [
            hit
            for prototypes in index.steps
            if prototypes.step.detector == self.name
            for hit in self.detect_step(artifacts, prototypes.step.id, Role(prototypes.step.speaker))
        ]

    def detect_step(self, artifacts: ConversationArtifacts, step_id: str, speaker: Role) -> list[StepHit]:
        """Hits for one step said by ``speaker`` (only agent turns disclose account facts)."""
        hits = []
        for turn_artifacts in artifacts.by_role(speaker):
            if turn_artifacts.turn.role is not Role.AGENT:
                continue
            for _label, pattern in self._patterns:
                if pattern.search(turn_artifacts.normalised):
                    turn = turn_artifacts.turn
                    hits.append(StepHit(step_id, turn.index, turn.text, 1.0, self.confidence, self.name))
                    break
        return hits
