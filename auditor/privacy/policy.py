"""Which kinds of personal data to hide, and hiding them in everything that leaves the engine.

A ``RedactionPolicy`` is chosen once (``auditor audit --redact-kinds``, ``AUDITOR_REDACT_KINDS``) and applied at the
output boundary: the Auditor detects steps on the original text and redacts the result it builds (evidence text,
passed-through metadata); report.html, the review store and the review pages redact the transcripts they show or
keep with the policy the result records in ``models["redaction"]``, so a reader knows what was hidden.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from auditor.privacy.redaction import KIND_NAMES, PiiKind, find_kinds, kinds_named, replace_spans
from auditor.result import ConversationResult
from auditor.transcripts.conversation import Conversation

DEFAULT_KINDS: tuple[str, ...] = ("email", "iban", "cn_id", "card", "passport", "account", "phone", "address", "name")
"""On unless asked otherwise: every kind whose false positives on real conversations stay under 1% of turns
(measured by ``bench.pii_redaction``; see docs/benchmarks.md, section pii-redaction)."""
NO_REDACTION = "none"
POLICY_KEY = "redaction"
"""The key of ``ConversationResult.models`` that records the policy (``"none"`` when nothing was hidden)."""
KEPT_METADATA = frozenset({"source", "started_at"})
"""Metadata fields never redacted, besides ``id`` and ``*_id`` fields: results are joined and dated on them."""


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
        """Passed-through input fields redacted, except ids (``id``, ``*_id``), ``source`` and ``started_at``."""
        return {key: item if _kept(key) else self.redact_value(item) for key, item in metadata.items()}

    def redact_result(self, result: ConversationResult) -> ConversationResult:
        """A copy of ``result`` whose evidence text and metadata are redacted, with the policy in ``models``.

        Statuses, scores and turn indices are untouched: detection ran on the original text.
        """
        models = dict(result.models) | {POLICY_KEY: self.record}
        if not self._selected:
            return result.model_copy(update={"models": models})
        steps = [
            step.model_copy(
                update={"evidence": [e.model_copy(update={"text": self.redact(e.text)}) for e in step.evidence]}
            )
            if step.evidence
            else step
            for step in result.steps
        ]
        return result.model_copy(
            update={"steps": steps, "metadata": self.redact_metadata(result.metadata), "models": models}
        )

    def redact_conversation(self, conversation: Conversation) -> Conversation:
        """A copy of ``conversation`` with every turn's text redacted (what a report shows or the store keeps)."""
        if not self._selected:
            return conversation
        turns = [replace(turn, text=self.redact(turn.text)) for turn in conversation.turns]
        return replace(conversation, turns=turns, metadata=self.redact_metadata(conversation.metadata))


def _kept(key: str) -> bool:
    return key in KEPT_METADATA or key == "id" or key.endswith("_id")


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
