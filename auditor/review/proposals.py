"""Example phrasings proposed from confirmed evidence: what agents said where a coach confirmed a step was done.

A coach's verdict ``done``, ``late`` or ``out_of_order`` at a turn (the turn they named, or the auditor's evidence
they confirmed) says "this turn performs the step". The turn, cut into sentence units, offers one phrasing: the
unit that belongs to the step more than to any other step (with an embedder; else the longest usable one).
A unit is not proposed when it

- holds redacted personal data (``[PHONE]``, ``[NAME]`` ... placeholders) or personal data found now;
- refuses, negates or only mentions the step (a speech act the step does not accept, ``auditor.detection.acts``);
- is too short or too long to be an example (``ProposalOptions``);
- is an existing example, keyword or counter-example of the step by ``phrase_key``, or nearly one (cosine >=
  ``novelty`` with an embedder).

Proposals with one ``phrase_key`` (or, with an embedder, nearly the same meaning) are merged, and count the
conversations that said them. Nothing changes an SOP until its owner accepts a proposal (``accept_examples``,
`auditor sops accept --proposal N`), which writes a new SOP version.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from auditor.detection.acts import read_text, step_acts
from auditor.embeddings.base import Embedder
from auditor.insights.suggestion_files import AcceptedExample, Revision, apply_accepted
from auditor.insights.suggestions import sentences
from auditor.privacy.redaction import find_pii
from auditor.review.coach_verdicts import PERFORMED
from auditor.review.examples import ReviewExamples
from auditor.sop_format import Sop, Step, phrase_key
from auditor.text.normalise import normalise_text

REDACTED = re.compile(r"\[[A-Z][A-Z_]*\](?:~[0-9a-f]+)?")
"""A personal-data placeholder as redaction writes it (``[PHONE]``, ``[EMAIL]~3fa9c2``)."""


@dataclass(frozen=True)
class ProposalOptions:
    min_chars: int = 6
    max_chars: int = 160
    max_words: int = 30
    novelty: float = 0.92
    """A unit at least this similar (cosine) to an existing example or another proposal is the same phrasing."""
    per_step: int | None = None
    """Keep at most this many proposals per step (the best supported first); None: all."""


@dataclass(frozen=True)
class ConfirmedEvidence:
    """A turn a coach confirmed performs a step."""

    sop_id: str
    step_id: str
    conversation_id: str
    turn_index: int
    text: str
    status: str = "done"


@dataclass(frozen=True)
class Proposal:
    """A proposed example phrasing for one step, with the confirmed turns that said it."""

    number: int
    sop_id: str
    sop_version: str
    step_id: str
    text: str
    conversations: tuple[str, ...]
    nearest_example: str | None = None
    similarity: float = 0.0

    @property
    def support(self) -> int:
        return len(self.conversations)


@dataclass
class Proposals:
    proposals: list[Proposal] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    """Why confirmed turns proposed nothing (reason -> how many)."""

    def for_step(self, step_id: str) -> list[Proposal]:
        return [p for p in self.proposals if p.step_id == step_id]

    def numbered(self, number: int) -> Proposal:
        for proposal in self.proposals:
            if proposal.number == number:
                return proposal
        raise KeyError(number)


def evidence_from_reviews(examples: ReviewExamples) -> list[ConfirmedEvidence]:
    """Confirmed evidence of reviewed conversations: each turn a coach (majority) says performed a step."""
    found = []
    for item in examples.conversations:
        for turn in item.conversation.turns:
            for step_id in turn.gold_steps or ():
                status = item.steps.get(step_id)
                if status in PERFORMED:
                    found.append(
                        ConfirmedEvidence(item.sop_id, step_id, item.conversation.id, turn.index, turn.text, status)
                    )
    return found


def has_personal_data(text: str) -> bool:
    return bool(REDACTED.search(text)) or bool(find_pii(text))


def _usable(unit: str, step: Step, options: ProposalOptions) -> str | None:
    """Why ``unit`` cannot be an example of ``step`` (None: it can)."""
    size = len(normalise_text(unit))
    if size < options.min_chars:
        return "too short"
    if size > options.max_chars or len(unit.split()) > options.max_words:
        return "too long"
    if has_personal_data(unit):
        return "personal data"
    acts = step_acts(step)
    if any(not acts.accepts(reading) for reading in read_text(unit)):
        return "refuses, negates or only mentions the step"
    return None


def propose_examples(
    sop: Sop,
    evidence: Iterable[ConfirmedEvidence],
    embedder: Embedder | None = None,
    options: ProposalOptions | None = None,
) -> Proposals:
    """Example phrasings for ``sop``'s steps from confirmed evidence, numbered from 1 in step order."""
    options = options or ProposalOptions()
    steps = {step.id: step for step in sop.steps if not step.forbidden}
    mine = [item for item in evidence if item.sop_id == sop.id]
    result = Proposals()
    chosen: list[tuple[ConfirmedEvidence, str]] = []
    prototypes = _Prototypes(sop, embedder) if embedder is not None else None
    for item in mine:
        step = steps.get(item.step_id)
        if step is None:
            result.skipped["not a step of the SOP (or a forbidden one)"] += 1
            continue
        units = sentences(item.text) or [item.text.strip()]
        reasons = {unit: _usable(unit, step, options) for unit in units}
        usable = [unit for unit in units if reasons[unit] is None]
        if not usable:
            result.skipped[next(reason for reason in reasons.values() if reason)] += 1
            continue
        best = prototypes.best_unit(step.id, usable) if prototypes is not None else max(usable, key=len)
        chosen.append((item, best))
    drafts: dict[str, list[_Draft]] = {step_id: [] for step_id in steps}
    for item, text in chosen:
        step = steps[item.step_id]
        own = {phrase_key(t) for t in (*step.examples, *step.keywords, *step.counter_examples)}
        if phrase_key(text) in own:
            result.skipped["already an example, keyword or counter-example"] += 1
            continue
        same = next((d for d in drafts[step.id] if d.key == phrase_key(text)), None)
        if same is None and prototypes is not None:
            nearest, similarity = prototypes.nearest_phrase(step, text)
            if similarity >= options.novelty:
                result.skipped["nearly an existing example or counter-example"] += 1
                continue
            same = prototypes.nearest_draft(drafts[step.id], text, options.novelty)
        if same is not None:
            same.conversations.setdefault(item.conversation_id, None)
            continue
        nearest, similarity = prototypes.nearest_phrase(step, text) if prototypes is not None else (None, 0.0)
        drafts[step.id].append(_Draft(text, phrase_key(text), {item.conversation_id: None}, nearest, similarity))
    number = 0
    for step_id, step_drafts in drafts.items():
        ranked = sorted(step_drafts, key=lambda d: -len(d.conversations))  # stable: first said first among equals
        for draft in ranked[: options.per_step] if options.per_step is not None else ranked:
            number += 1
            result.proposals.append(
                Proposal(
                    number,
                    sop.id,
                    str(sop.version),
                    step_id,
                    draft.text,
                    tuple(draft.conversations),
                    draft.nearest,
                    round(draft.similarity, 4),
                )
            )
    return result


def accept_examples(sop: Sop, accepted: Sequence[tuple[str, str]], today: date | None = None) -> Revision:
    """A new version of ``sop`` (version + 1, reviewed today) with the (step id, example) pairs added."""
    items = [AcceptedExample(sop.id, str(sop.version), step_id, text.strip()) for step_id, text in accepted]
    return apply_accepted(sop, items, today)


@dataclass
class _Draft:
    text: str
    key: str
    conversations: dict[str, None]
    nearest: str | None
    similarity: float
    vector: np.ndarray | None = None


class _Prototypes:
    """The SOP's step texts embedded: "name. description" and every example, for each step."""

    def __init__(self, sop: Sop, embedder: Embedder):
        self.embedder = embedder
        texts: list[str] = []
        owners: list[str] = []
        for step in sop.steps:
            for text in (f"{step.name}. {step.description}".strip(" ."), *step.examples):
                texts.append(normalise_text(text))
                owners.append(step.id)
        self.texts = texts
        self.owners = np.asarray(owners)
        self.vectors = embedder.encode(texts)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode([normalise_text(text) for text in texts])

    def best_unit(self, step_id: str, units: Sequence[str]) -> str:
        """The unit closest to the step relative to the other steps (margin of the best own vs other prototype)."""
        if len(units) == 1:
            return units[0]
        similarity = self._encode(units) @ self.vectors.T
        own = similarity[:, self.owners == step_id].max(axis=1)
        others = self.owners != step_id
        other = similarity[:, others].max(axis=1) if others.any() else np.zeros(len(units))
        return units[int(np.argmax(own - other))]

    def nearest_phrase(self, step: Step, text: str) -> tuple[str | None, float]:
        """The step's example or counter-example nearest ``text`` by cosine, and the cosine."""
        phrases = [*step.examples, *step.counter_examples]
        if not phrases:
            return None, 0.0
        similarity = self._encode(phrases) @ self._encode([text])[0]
        best = int(np.argmax(similarity))
        return phrases[best], float(similarity[best])

    def nearest_draft(self, drafts: list[_Draft], text: str, novelty: float) -> _Draft | None:
        if not drafts:
            return None
        vector = self._encode([text])[0]
        for draft in drafts:
            if draft.vector is None:
                draft.vector = self._encode([draft.text])[0]
        similarity = np.asarray([float(draft.vector @ vector) for draft in drafts])
        best = int(np.argmax(similarity))
        return drafts[best] if similarity[best] >= novelty else None
