"""Phrasings the best agents use for a step that the SOP does not list yet, proposed as new examples.

Mined from evidence: for the agents with the highest compliance scores (the top half, per SOP), in
conversations not labelled or flagged dissatisfied, each performed step's best evidence turn is
PII-redacted, cut into sentences, and the sentence that belongs to the step (closer to its examples and
description than to any other step's) is kept. Sentences already among the examples, or nearly so, are
dropped; the rest are clustered by meaning, and each cluster proposes its most used wording with its
support (how many conversations and agents said it). Nothing is applied: a person accepts suggestions, which writes a
new SOP version (``auditor sops accept``).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from auditor.embeddings.base import Embedder
from auditor.insights.completion import PERFORMED
from auditor.privacy.redaction import redact
from auditor.result import ConversationResult
from auditor.sop_format import Sop
from auditor.text.normalise import detect_lang, normalise_text

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])\s*|\n+")
_CONTENT = re.compile(r"[A-Za-z\u3400-\u9fff]")
_COMPARABLE = re.compile(r"[\s\W_]+", re.UNICODE)
MAX_TEXTS_PER_STEP = 1500
_SPECIFICS = re.compile(r"'[^']*'|\"[^\"]*\"|“[^”]*”|「[^」]*」|\d+(?:[.,:]\d+)*")


def template(text: str) -> str:
    """The wording without its specifics (quoted names, numbers): 'for 11 credits' ~ 'for 50 credits'."""
    return _SPECIFICS.sub(lambda match: "0" if match.group(0)[0].isdigit() else "''", text)


@dataclass(frozen=True)
class SuggestionOptions:
    """Thresholds: ``novelty`` = max similarity to an existing example for a phrasing to count as new."""

    top_agent_share: float = 0.5
    novelty: float = 0.9
    cluster_similarity: float = 0.8
    min_conversations: int = 3
    per_step: int = 3
    min_chars: int = 4
    max_chars: int = 200


@dataclass(frozen=True)
class Suggestion:
    """A proposed example phrasing for one step, with how often the best agents used it."""

    sop_id: str
    sop_version: str
    step_id: str
    text: str
    conversations: int
    agents: int
    nearest_example: str | None
    nearest_similarity: float
    variants: tuple[str, ...]
    sample_conversations: tuple[str, ...]


def comparable(text: str) -> str:
    return _COMPARABLE.sub("", normalise_text(text).casefold())


def sentences(text: str) -> list[str]:
    """A turn cut into sentences (English and Chinese end punctuation, line breaks)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and _CONTENT.search(part)]


def high_scoring(results: Sequence[ConversationResult], share: float) -> set[int]:
    """Indices of results by the top ``share`` of agents by mean score, per SOP (all results without agents)."""
    chosen: set[int] = set()
    by_sop: dict[str, list[int]] = defaultdict(list)
    for index, result in enumerate(results):
        by_sop[result.sop_id].append(index)
    for indices in by_sop.values():
        agents: dict[str, list[float]] = defaultdict(list)
        for index in indices:
            if results[index].agent_id:
                agents[results[index].agent_id or ""].append(results[index].score)
        if len(agents) >= 2:
            ranked = sorted(agents, key=lambda agent: -statistics.fmean(agents[agent]))
            keep = set(ranked[: max(1, round(len(ranked) * share))])
            chosen |= {i for i in indices if results[i].agent_id in keep}
        else:
            median = statistics.median(results[i].score for i in indices)
            chosen |= {i for i in indices if results[i].score >= median}
    return chosen


@dataclass
class _Said:
    text: str
    conversation_id: str
    agent_id: str


def mine_suggestions(
    results: Sequence[ConversationResult],
    sops: Mapping[str, Sop],
    embedder: Embedder,
    *,
    unhappy: Sequence[float | None] | None = None,
    options: SuggestionOptions | None = None,
) -> list[Suggestion]:
    """Suggested new examples per step of every SOP in ``sops`` (by id), best supported first.

    ``unhappy`` (1.0 = the customer was dissatisfied) excludes those conversations from the sources.
    """
    options = options or SuggestionOptions()
    sources = high_scoring(results, options.top_agent_share)
    suggestions: list[Suggestion] = []
    for sop_id, sop in sops.items():
        turns: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for index in sorted(sources):
            result = results[index]
            if result.sop_id != sop_id or (unhappy is not None and unhappy[index] == 1.0):
                continue
            for step in result.steps:
                performed = step.evidence and step.evidence[0].act in (None, "performed")  # not a refusal, an offer
                if step.status in PERFORMED and performed and step.step_id in {s.id for s in sop.steps}:
                    text = redact(step.evidence[0].text)  # before anything else looks at it
                    turns[step.step_id].append((text, result.conversation_id, result.agent_id or ""))
        if turns:
            suggestions += _suggest_for_sop(sop, turns, embedder, options)
    return suggestions


def _suggest_for_sop(
    sop: Sop, turns: Mapping[str, list[tuple[str, str, str]]], embedder: Embedder, options: SuggestionOptions
) -> list[Suggestion]:
    prototypes = [
        (step.id, normalise_text(text), text in step.examples)
        for step in sop.steps
        for text in [*step.examples, step.description, step.name]
        if text.strip()
    ]
    prototype_vectors = embedder.encode([text for _, text, _ in prototypes])
    prototype_steps = np.array([step_id for step_id, _, _ in prototypes])
    is_example = np.array([flag for _, _, flag in prototypes])
    suggestions: list[Suggestion] = []
    for step in sop.steps:
        said = _step_sentences(step.id, turns.get(step.id, []), embedder, prototype_vectors, prototype_steps)
        if not said:
            continue
        existing = {comparable(example) for example in step.examples}
        fresh = [s for s in said if comparable(s.text) not in existing]
        own_examples = prototype_vectors[(prototype_steps == step.id) & is_example]
        example_texts = [text for step_id, text, flag in prototypes if step_id == step.id and flag]
        suggestions += _clusters(sop, step.id, fresh, own_examples, example_texts, embedder, options)
    return suggestions


def _step_sentences(
    step_id: str,
    evidence: list[tuple[str, str, str]],
    embedder: Embedder,
    prototype_vectors: np.ndarray,
    prototype_steps: np.ndarray,
) -> list[_Said]:
    """From each evidence turn, the one sentence that belongs to this step more than to any other."""
    split = [(sentences(text), conversation_id, agent_id) for text, conversation_id, agent_id in evidence]
    unique = list(dict.fromkeys(normalise_text(s) for parts, _, _ in split for s in parts))
    if not unique:
        return []
    vectors = embedder.encode(unique)
    row = {text: position for position, text in enumerate(unique)}
    similarity = vectors @ prototype_vectors.T
    own = similarity[:, prototype_steps == step_id].max(axis=1)
    others_mask = prototype_steps != step_id
    other = similarity[:, others_mask].max(axis=1) if others_mask.any() else np.full(len(unique), -1.0)
    said: list[_Said] = []
    for parts, conversation_id, agent_id in split:
        scored = [(float(own[row[normalise_text(p)]] - other[row[normalise_text(p)]]), p) for p in parts]
        if not scored:
            continue
        margin, best = max(scored)
        if margin >= 0:
            said.append(_Said(best, conversation_id, agent_id))
    return said


def _clusters(
    sop: Sop,
    step_id: str,
    said: list[_Said],
    example_vectors: np.ndarray,
    example_texts: list[str],
    embedder: Embedder,
    options: SuggestionOptions,
) -> list[Suggestion]:
    """Drop near-copies of existing examples, cluster by meaning, and keep the best-supported clusters."""
    redacted = [(redact(s.text), s) for s in said]  # already redacted as turns; sentences are checked again
    groups: dict[str, list[_Said]] = defaultdict(list)
    wording: dict[str, Counter[str]] = defaultdict(Counter)
    for text, item in redacted:
        if options.min_chars <= len(text) <= options.max_chars:
            key = comparable(template(text))
            groups[key].append(item)
            wording[key][text] += 1
    if not groups:
        return []
    keys = sorted(groups, key=lambda k: -len({s.conversation_id for s in groups[k]}))[:MAX_TEXTS_PER_STEP]
    texts = [wording[key].most_common(1)[0][0] for key in keys]
    vectors = embedder.encode([normalise_text(template(text)) for text in texts])
    similarity = vectors @ example_vectors.T if len(example_vectors) else np.zeros((len(texts), 0))
    nearest_score = similarity.max(axis=1) if similarity.shape[1] else np.full(len(texts), -1.0)
    # the closest example shown to the owner is one in the suggestion's language when the step has one
    languages = [detect_lang(text) for text in example_texts]
    nearest = np.zeros(len(texts), dtype=int)
    for row, text in enumerate(texts):
        if not similarity.shape[1]:
            break
        same = [i for i, lang in enumerate(languages) if lang == detect_lang(text)]
        candidates = same or list(range(len(languages)))
        nearest[row] = candidates[int(np.argmax(similarity[row, candidates]))]
    novel = [i for i in range(len(texts)) if nearest_score[i] < options.novelty]
    if not novel:
        return []
    labels = _cluster_labels(vectors[novel], options.cluster_similarity)
    clusters: dict[int, list[int]] = defaultdict(list)
    for position, label in zip(novel, labels, strict=True):
        clusters[int(label)].append(position)
    found: list[Suggestion] = []
    for members in clusters.values():
        people = [item for i in members for item in groups[keys[i]]]
        conversations = sorted({item.conversation_id for item in people})
        if len(conversations) < options.min_conversations:
            continue
        best = max(members, key=lambda i: (len({s.conversation_id for s in groups[keys[i]]}), -len(texts[i])))
        found.append(
            Suggestion(
                sop_id=sop.id,
                sop_version=str(sop.version),
                step_id=step_id,
                text=texts[best],
                conversations=len(conversations),
                agents=len({item.agent_id for item in people if item.agent_id}),
                nearest_example=example_texts[int(nearest[best])] if example_texts else None,
                nearest_similarity=round(float(similarity[best, nearest[best]]), 3) if example_texts else 0.0,
                variants=tuple(texts[i] for i in sorted(members, key=lambda i: -len(groups[keys[i]]))[:4] if i != best),
                sample_conversations=tuple(conversations[:5]),
            )
        )
    found.sort(key=lambda s: (-s.agents, -s.conversations, s.text))
    return found[: options.per_step]


def _cluster_labels(vectors: np.ndarray, similarity: float) -> np.ndarray:
    """Average-linkage clusters whose members are on average at least ``similarity`` alike (cosine)."""
    if len(vectors) == 1:
        return np.zeros(1, dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage

    distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
    condensed = distances[np.triu_indices(len(vectors), k=1)]
    tree = linkage(condensed, method="average")
    return fcluster(tree, t=1.0 - similarity, criterion="distance")
