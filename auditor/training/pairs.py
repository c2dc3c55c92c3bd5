"""Labelled (turn, step) pair features from a training manifest: the learning problem of the step scorer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from auditor.conversation import Conversation
from auditor.detection.pair_features import pair_features, second_encoder_columns
from auditor.detection.sop_index import build_sop_index
from auditor.embeddings.base import Embedder
from auditor.evaluation.gold_labels import has_gold, with_gold_from_field
from auditor.evaluation.step_metrics import gold_turns
from auditor.sop.loading import resolve_sop
from auditor.sop_format import Sop
from auditor.text.artifacts import ArtifactBuilder, ConversationArtifacts
from auditor.training.manifest import TrainingManifest, TrainingSet
from auditor.transcripts.loaders import load_inputs


def description_only(sop: Sop) -> Sop:
    """The SOP as a QA lead first writes it: names and descriptions only (the zero-shot case)."""
    return sop.model_copy(update={"steps": [s.model_copy(update={"examples": [], "keywords": []}) for s in sop.steps]})


SOP_VARIANTS: dict[str, Callable[[Sop], Sop]] = {"examples": lambda sop: sop, "description": description_only}


@dataclass
class LabelledGroup:
    """Pairs of one SOP in one variant: the unit held out together when measuring generalisation."""

    name: str
    variant: str
    features: np.ndarray
    labels: np.ndarray
    conversation_steps: np.ndarray
    """Same value for the rows of one (conversation, step), for conversation-level decisions."""
    units: np.ndarray
    """Same value for rows that lean on the same text unit (the detector keeps one step per unit)."""


@dataclass
class PairDataset:
    groups: list[LabelledGroup] = field(default_factory=list)
    skipped_sets: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(group.labels) for group in self.groups)


def _matches(conversation: Conversation, where: dict) -> bool:
    return all(conversation.metadata.get(key) == value for key, value in where.items())


def labelled_conversations(training_set: TrainingSet, base: Path) -> dict[str, list[Conversation]]:
    """SOP reference -> the set's labelled conversations (filtered, limited per SOP)."""
    paths = [base / path for path in training_set.transcripts]
    if not any(path.exists() for path in paths):
        return {}
    loaded = load_inputs(paths)
    by_sop: dict[str, list[Conversation]] = {}
    for conversation in loaded.conversations:
        if not _matches(conversation, training_set.where):
            continue
        if training_set.label_field != "steps":
            conversation = with_gold_from_field(conversation, training_set.label_field)
        if not has_gold(conversation):
            continue
        if training_set.sop:
            reference = str(base / training_set.sop)
        else:
            reference = str(conversation.metadata.get(str(training_set.sop_field), ""))
        chosen = by_sop.setdefault(reference, [])
        if training_set.limit is None or len(chosen) < training_set.limit:
            chosen.append(conversation)
    return by_sop


def build_dataset(
    manifest: TrainingManifest,
    base: Path,
    embedder: Embedder,
    description_offset: float,
    progress: Callable[[str], None] | None = None,
    second: Embedder | None = None,
) -> PairDataset:
    """Feature rows and gold labels for every set, SOP and variant in the manifest (with ``second``, a second
    encoder, its ``SECOND_FEATURE_NAMES`` columns after the others)."""
    dataset = PairDataset()
    builder = ArtifactBuilder(embedder)
    for training_set in manifest.sets:
        by_sop = labelled_conversations(training_set, base)
        if not by_sop:
            dataset.skipped_sets.append(training_set.name)
            continue
        for reference, conversations in sorted(by_sop.items()):
            sop = resolve_sop(reference)
            if progress:
                progress(f"{training_set.name}: {sop.id} ({len(conversations)} conversations)")
            artifacts = builder.build_many(conversations)
            for variant in manifest.variants:
                dataset.groups.append(
                    _group(
                        f"{training_set.name}:{sop.id}",
                        variant,
                        SOP_VARIANTS[variant](sop),
                        artifacts,
                        embedder,
                        description_offset,
                        second,
                    )
                )
    return dataset


def _group(name, variant, sop, artifacts_list, embedder, description_offset, second=None) -> LabelledGroup:
    return labelled_group(name, variant, sop, artifacts_list, embedder, description_offset, second=second)


def labelled_group(
    name: str,
    variant: str,
    sop: Sop,
    artifacts_list: Sequence[ConversationArtifacts],
    embedder: Embedder,
    description_offset: float,
    steps: Sequence[set[str]] | None = None,
    second: Embedder | None = None,
) -> LabelledGroup:
    """Pair features and gold labels of the conversations against ``sop``.

    ``steps`` (one set per conversation) keeps only the rows of those steps: the labelled ones, when only some
    steps of a conversation were labelled (coach verdicts).
    """
    index = build_sop_index(sop, embedder)
    features, labels, conversation_steps, units = [], [], [], []
    for number, artifacts in enumerate(artifacts_list):
        pairs = pair_features(artifacts, index, description_offset)
        gold = gold_turns(artifacts.conversation)
        step_ids = [index.steps[int(column)].step.id for column in pairs.step_columns]
        keep = np.asarray([steps is None or step_id in steps[number] for step_id in step_ids], dtype=bool)
        matrix = pairs.matrix
        if second is not None:
            matrix = np.hstack([matrix, second_encoder_columns(pairs, second)])
        features.append(matrix[keep] if len(keep) else matrix)
        labels += [
            int(turn) in gold.get(step_id, set())
            for turn, step_id, kept in zip(pairs.turn_indices, step_ids, keep, strict=True)
            if kept
        ]
        conversation_steps += [number * 1000 + int(c) for c, kept in zip(pairs.step_columns, keep, strict=True) if kept]
        units += [number * 100_000 + int(u) for u, kept in zip(pairs.unit_rows, keep, strict=True) if kept]
    return LabelledGroup(
        name,
        variant,
        np.vstack(features),
        np.asarray(labels, dtype=int),
        np.asarray(conversation_steps),
        np.unique(np.asarray(units), return_inverse=True)[1],
    )


def stack(groups: Sequence[LabelledGroup]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and per-row weights that give every SOP the same total weight."""
    features = np.vstack([g.features for g in groups])
    labels = np.concatenate([g.labels for g in groups])
    weights = np.concatenate([np.full(len(g.labels), 1.0 / len(g.labels)) for g in groups])
    return features, labels, weights * len(labels) / weights.sum()
