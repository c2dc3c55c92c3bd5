"""Leave-one-task-out step scorers for the STAR benchmark: the trained scorer refitted without the held-out task.

With ``second=True`` (the ``best`` accuracy mode) the pair features also hold the second encoder's
(multilingual-e5-small) similarities, and the same scorer is refitted with them.

The training data is the manifest the shipped model is trained from (training/step-scorer.yaml: the project corpora and
the STAR tasks). For held-out task T, the estimator is fitted on every other SOP; its thresholds are chosen from the
out-of-fold predictions of the other SOPs (each predicted by a model that did not see that SOP). The pair features
are built once per embedder and reused for every task.
"""

from __future__ import annotations

import atexit
from pathlib import Path

import numpy as np

from auditor.auditor import Auditor
from auditor.detection.trained_scorer import ScorerMetadata, TrainedStepScorer, expected_features
from auditor.embeddings.base import CachedEmbedder, Embedder
from auditor.embeddings.provider import make_second_encoder
from auditor.sop_format import Sop
from auditor.training.manifest import load_manifest
from auditor.training.pairs import PairDataset, build_dataset, stack
from auditor.training.step_model import (
    DESCRIPTION_OFFSET,
    HeldOut,
    choose_thresholds,
    fitter_for,
    held_out_predictions,
)

MANIFEST = Path(__file__).resolve().parents[1] / "training" / "step-scorer.yaml"
SECOND_CACHE = Path(__file__).resolve().parents[1] / "out" / "bench-cache" / "e5-vectors.npz"
"""Second-encoder vectors kept between benchmark runs (mE5 embeds ~90 texts/s; the STAR texts do not change)."""


def persistent_second_encoder(path: Path = SECOND_CACHE) -> CachedEmbedder:
    """The second encoder with its text cache loaded from ``path`` and written back when the process exits."""
    encoder = make_second_encoder(cache_entries=500_000)
    if path.exists():
        stored = np.load(path, allow_pickle=False)
        for text, vector in zip(stored["texts"].tolist(), stored["vectors"], strict=True):
            encoder._store(text, vector)
    known = len(encoder)

    def save() -> None:
        if len(encoder) == known:
            return
        texts = list(encoder._slots)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, texts=np.asarray(texts), vectors=encoder.encode(texts))

    atexit.register(save)
    return encoder


class LeaveOneTaskOut:
    """Builds the dataset on first use, then one scorer per held-out STAR task."""

    def __init__(self, manifest: Path = MANIFEST, second: bool = False):
        self.manifest = manifest
        self.second: Embedder | None = None
        self.use_second = second
        self._dataset: PairDataset | None = None
        self._held_out: list[HeldOut] = []
        self._scorers: dict[str, TrainedStepScorer] = {}

    def _prepare(self, embedder: Embedder) -> PairDataset:
        if self._dataset is None:
            plan = load_manifest(self.manifest)
            if self.use_second:
                self.second = persistent_second_encoder()
            self._dataset = build_dataset(
                plan, self.manifest.parent, embedder, DESCRIPTION_OFFSET, second=self.second
            )
            self._held_out = held_out_predictions(self._dataset, fitter_for(self.use_second))
            self.variants = plan.variants
        return self._dataset

    def scorer(self, task: str, embedder: Embedder) -> TrainedStepScorer:
        """The scorer that never saw STAR task ``task``."""
        return self.scorer_without(f"star-{task}:", f"STAR task {task}", embedder)

    def scorer_without(self, held_name: str, label: str, embedder: Embedder) -> TrainedStepScorer:
        """The scorer that never saw the manifest's SOP ``held_name`` (a group name prefix: ``star-<task>:`` or
        ``corpora:<sop id>``)."""
        if held_name not in self._scorers:
            dataset = self._prepare(embedder)
            train = [g for g in dataset.groups if not g.name.startswith(held_name)]
            if len(train) == len(dataset.groups):
                raise SystemExit(f"{label} is not in {self.manifest}; cannot hold it out")
            others = [h for h in self._held_out if not h.group.name.startswith(held_name)]
            threshold, done_threshold = choose_thresholds(others, self.variants)
            metadata = ScorerMetadata(
                embedder=embedder.name,
                description_offset=DESCRIPTION_OFFSET,
                threshold=threshold,
                done_threshold=done_threshold,
                feature_names=expected_features(self.second.name if self.second is not None else None),
                trained_on=f"all SOPs of {self.manifest.name} but {label}",
                created="(benchmark)",
                second_encoder=self.second.name if self.second is not None else None,
            )
            self._scorers[held_name] = TrainedStepScorer(
                fitter_for(self.use_second)(*stack(train)), metadata, second=self.second
            )
        return self._scorers[held_name]


_LOTO = LeaveOneTaskOut()


def leave_one_task_out_auditor(task: str, sop: Sop, embedder: Embedder) -> Auditor:
    """The auditor with a trained scorer that never saw ``task`` (for `--factory leave-one-task-out`)."""
    return Auditor(sop, embedder, scorer=_LOTO.scorer(task, embedder))


_LOTO_BEST = LeaveOneTaskOut(second=True)


def leave_one_task_out_best_auditor(task: str, sop: Sop, embedder: Embedder) -> Auditor:
    """The ``best`` accuracy mode's auditor (USE-m + multilingual-e5-small features) that never saw ``task``."""
    return Auditor(sop, embedder, scorer=_LOTO_BEST.scorer(task, embedder))
