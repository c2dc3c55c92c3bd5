"""Which kinds of personal data to hide, and hiding them in everything that leaves the engine.

A ``RedactionPolicy`` is chosen once (``auditor audit --redact-kinds``, ``AUDITOR_REDACT_KINDS``) and applied at the
output boundary: the Auditor detects steps on the original text and redacts the result it builds (evidence text,
passed-through metadata); report.html, the review store and the review pages redact the transcripts they show or
keep with the policy the result records in ``models["redaction"]``, so a reader knows what was hidden.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, get_args

from auditor.conversation import Conversation
from auditor.privacy.redaction import (
    KIND_NAMES,
    PLACEHOLDERS,
    PiiKind,
    answer_spans,
    find_kinds,
    kinds_named,
    replace_spans,
)
from auditor.result import ConversationResult, Dissatisfaction, StepResult, StepStatus

DEFAULT_KINDS: tuple[str, ...] = (
    "email",
    "iban",
    "cn_id",
    "card",
    "passport",
    "account",
    "phone",
    "address",
    "dob",
    "name",
)
"""On unless asked otherwise: every kind whose false positives on real conversations stay under 1% of turns
(measured by ``bench.pii_redaction``; see docs/benchmarks.md, section pii-redaction)."""
NO_REDACTION = "none"
POLICY_KEY = "redaction"
"""The key of ``ConversationResult.models`` that records the policy (``"none"`` when nothing was hidden)."""
KEPT_METADATA = frozenset({"source", "started_at"})
"""Metadata fields never redacted: the file a conversation came from and when it started (results are dated on it).
Every other passed-through field is redacted, ``*_id`` fields included (``caller_id``, ``customer_national_id``)."""
STEP_STATUSES = frozenset(get_args(StepStatus))
"""Values a key that names personal data may still show whole: a step status under a step id (``gold_statuses:
{verify_identity: done, discuss_account: missing}`` in a labelled conversation's metadata)."""
_KEY_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"e-?mail", "email"),
        (r"iban", "iban"),
        (r"national|ssn|social_?security|id_?(?:number|no|card)|identity|resident|身份证|身份證|证件|證件", "cn_id"),
        (r"passport|护照|護照", "passport"),
        (r"(?:^|_)(?:card|pan)(?:_|$)|card_?(?:number|no)|卡号|卡號", "card"),
        (r"phone|mobile|(?:^|_)(?:tel|cell|fax|msisdn|ani|caller|callee)(?:_|$)|电话|電話|手机|手機", "phone"),
        (r"account|acct|账号|帳號|账户|帳戶", "account"),
        (r"address|street|post_?code|zip_?code|地址", "address"),
        (r"birth|dob|生日|出生", "dob"),
        (
            r"(?:^|_)(?:customer|caller|client|user|contact|full|first|last|given|family|sur|middle|holder|person)"
            r"_?name(?:_|$)|^name$|姓名|联系人|聯繫人",
            "name",
        ),
    )
)
"""A metadata key that names personal data: its whole value is hidden (``caller_id: 8613912345678`` as a number,
``customer_national_id: AB123456`` that no pattern would recognise), when the policy hides that kind."""


@dataclass(frozen=True)
class RedactionPolicy:
    """The kinds of personal data to replace by ``[KIND]`` placeholders (``kinds``: names in ``KIND_NAMES``)."""

    kinds: frozenset[str] = frozenset(DEFAULT_KINDS)
    _selected: tuple[PiiKind, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", frozenset(self.kinds))
        object.__setattr__(self, "_selected", kinds_named(self.kinds))

    def __reduce__(self) -> tuple[type[RedactionPolicy], tuple[frozenset[str]]]:
        return (RedactionPolicy, (self.kinds,))  # pickled by kind names: Dask and process workers rebuild it

    @classmethod
    def off(cls) -> RedactionPolicy:
        return cls(frozenset())

    @classmethod
    def of(cls, kinds: Collection[str] | None = None, *, enabled: bool = True) -> RedactionPolicy:
        """The policy for ``enabled`` and ``kinds`` (None: the default kinds), as the CLI and settings give them."""
        if not enabled:
            return cls.off()
        return cls(frozenset(DEFAULT_KINDS if kinds is None else kinds))

    @classmethod
    def parse(cls, spec: str | None) -> RedactionPolicy:
        """``"phone,email"`` -> those kinds; ``"none"`` -> off; ``"all"`` -> every kind; ``""``/None -> default.

        An unknown kind raises ValueError naming the known ones.
        """
        words = [word.strip().lower() for word in (spec or "").split(",") if word.strip()]
        if not words or words == ["default"]:
            return cls()
        if words in (["none"], ["off"]):
            return cls.off()
        if words == ["all"]:
            return cls(frozenset(KIND_NAMES))
        return cls(frozenset(words))

    @classmethod
    def recorded_in(cls, models: Mapping[str, str] | None) -> RedactionPolicy:
        """The policy a result records in ``models``; the default one for results that record none (or garbage)."""
        try:
            return cls.parse((models or {}).get(POLICY_KEY))
        except ValueError:
            return cls()

    @property
    def enabled(self) -> bool:
        return bool(self.kinds)

    @property
    def record(self) -> str:
        """How a result's ``models`` block names the policy: the kinds in the order they apply, or "none"."""
        return ",".join(dict.fromkeys(kind.name for kind in self._selected)) or NO_REDACTION

    def find(self, text: str) -> list[tuple[int, int, str]]:
        return find_kinds(text, self._selected)

    def redact(self, text: str) -> str:
        """``text`` with the policy's kinds of personal data replaced by ``[KIND]``."""
        if not self._selected:
            return text
        return replace_spans(text, find_kinds(text, self._selected))

    def redact_value(self, value: Any) -> Any:
        """Strings redacted inside any JSON-like value (nested at most as deep as the transcript loaders allow)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(item) for item in value]
        return value

    def redact_metadata(self, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """Passed-through input fields redacted, all but ``source`` and ``started_at``; ``*_id`` fields too.

        A field whose key names personal data (``caller_id``, ``customer_national_id``, ``date_of_birth``...) is
        hidden whole, numbers included; every other string (nested too) is redacted like a turn's text.
        """
        if not self._selected:
            return dict(metadata)
        return {
            key: item if key in KEPT_METADATA else self._redact_field(str(key), item) for key, item in metadata.items()
        }

    def _redact_field(self, key: str, value: Any) -> Any:
        kind = next((kind for pattern, kind in _KEY_KINDS if pattern.search(key)), None)
        if kind is not None and isinstance(value, str) and value in STEP_STATUSES:
            kind = None  # gold_statuses: {verify_identity: done}: a step's status is never personal data
        if kind is not None and kind in self.kinds and value not in (None, "", [], {}):
            if isinstance(value, Mapping):
                return {k: self._redact_field(str(k), v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [self._redact_field(key, item) for item in value]
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return PLACEHOLDERS[kind]
        if isinstance(value, Mapping):
            return {k: self._redact_field(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact_field(key, item) for item in value]
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1_000_000:
            redacted = self.redact(str(value))  # a phone or card number given as a JSON number
            return value if redacted == str(value) else redacted
        return self.redact_value(value)

    def redact_identifier(self, value: str | None) -> str | None:
        """A contract identifier (conversation, agent, SOP) as it may be written: unchanged, unless it holds
        personal data; then that part is replaced by its ``[KIND]`` and a short digest of the whole id is appended
        (``[PHONE]~3fa9c2``), so two such ids stay apart (aggregates per agent, joins) without being readable.

        The digest is 24 bits of SHA-256: it keeps a few thousand agents apart and cannot single out one phone
        number among the ~10^10 that share it.
        """
        if not value or not self._selected:
            return value
        redacted = self.redact(value)
        if redacted == value:
            return value
        return f"{redacted}~{hashlib.sha256(value.encode('utf-8')).hexdigest()[:6]}"

    def redact_turns(self, texts: list[str]) -> list[str]:
        """Each turn's text redacted, with the turn before it as context: an answer to "your full name and date of
        birth?" ("Daniel Okafor, 14th of February 1990.", "赵敏，0825。") has its name and date hidden too."""
        redacted = []
        for position, text in enumerate(texts):
            spans = self.find(text)
            if position and text:
                extra = [span for span in answer_spans(text, texts[position - 1], self.kinds) if _free(span, spans)]
                spans = sorted(spans + extra)
            redacted.append(replace_spans(text, spans))
        return redacted

    def redact_result(self, result: ConversationResult) -> ConversationResult:
        """A copy of ``result`` whose evidence text (and the act reasons that quote it), step reasons, the words that
        fired dissatisfaction signals, metadata and ids holding personal data are redacted, with the policy in
        ``models``.

        Statuses, scores and turn indices are untouched: detection ran on the original text.
        """
        models = dict(result.models) | {POLICY_KEY: self.record}
        if not self._selected:
            return result.model_copy(update={"models": models})
        ids = {
            "conversation_id": self.redact_identifier(result.conversation_id),
            "agent_id": self.redact_identifier(result.agent_id),
        }
        steps = self.redact_steps(result.steps)
        block = result.dissatisfaction
        moods = {"dissatisfaction": self.redact_signal_evidence(block)} if block is not None else {}
        return result.model_copy(
            update={"steps": steps, "metadata": self.redact_metadata(result.metadata), "models": models} | ids | moods
        )

    def redact_signal_evidence(self, block: Dissatisfaction) -> Dissatisfaction:
        """The dissatisfaction block with the customer's words that fired its signals redacted."""
        if not self._selected or not any(turn.evidence for turn in block.turns):
            return block
        turns = [
            turn.model_copy(update={"evidence": {k: self.redact(v) for k, v in turn.evidence.items()}})
            if turn.evidence
            else turn
            for turn in block.turns
        ]
        return block.model_copy(update={"turns": turns})

    def redact_steps(self, steps: list[StepResult]) -> list[StepResult]:
        """Steps whose words from the transcript are redacted: evidence text, the act reasons that quote it
        (``asked: '?' in 'your phone 139...?'``) and step reasons; off: the steps as they are."""
        if not self._selected:
            return steps
        return [
            step.model_copy(
                update={
                    "evidence": [
                        e.model_copy(
                            update={
                                "text": self.redact(e.text),
                                "act_reason": self.redact(e.act_reason) if e.act_reason else e.act_reason,
                            }
                        )
                        for e in step.evidence
                    ],
                    "reason": self.redact(step.reason) if step.reason else step.reason,
                }
            )
            if step.evidence or step.reason
            else step
            for step in steps
        ]

    def redact_conversation(self, conversation: Conversation) -> Conversation:
        """A copy of ``conversation`` with every turn's text redacted (what a report shows or the store keeps)."""
        if not self._selected:
            return conversation
        texts = self.redact_turns([turn.text for turn in conversation.turns])
        turns = [replace(turn, text=text) for turn, text in zip(conversation.turns, texts, strict=True)]
        return replace(
            conversation,
            id=self.redact_identifier(conversation.id) or conversation.id,
            agent_id=self.redact_identifier(conversation.agent_id),
            turns=turns,
            metadata=self.redact_metadata(conversation.metadata),
        )

    def redact_message(self, text: str) -> str:
        """An error message that may echo what a user sent (``no SOP '13812345678'``), redacted; off: as it is."""
        return self.redact(text)


def _free(span: tuple[int, int, str], taken: list[tuple[int, int, str]]) -> bool:
    return not any(span[0] < end and start < span[1] for start, end, _ in taken)


def redact_for_result(conversation: Conversation | None, result: ConversationResult) -> Conversation | None:
    """``conversation`` redacted with the policy ``result`` records (the default when it records none)."""
    if conversation is None:
        return None
    return RedactionPolicy.recorded_in(result.models).redact_conversation(conversation)


def redacted_result(result: ConversationResult) -> ConversationResult:
    """``result`` as it may be shown or stored: as it is when it records its policy (the Auditor redacted it),
    redacted with the default policy when it records none (results written before redaction existed)."""
    if POLICY_KEY in result.models:
        return result
    return RedactionPolicy().redact_result(result)
