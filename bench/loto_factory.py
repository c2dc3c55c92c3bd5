"""Leave-one-task-out step scorers for the STAR benchmark: the trained scorer refitted without the held-out task.

The training data is the manifest the shipped model is trained from (models/training.yaml: the project corpora and
the STAR tasks). For held-out task T, the estimator is fitted on every other SOP; its thresholds are chosen from the
out-of-fold predictions of the other SOPs (each predicted by a model that did not see that SOP). The pair features
are built once per embedder and reused for every task.
"""

from __future__ import annotations

from pathlib import Path

from auditor.detection.trained_scorer import ScorerMetadata, TrainedStepScorer
from auditor.embeddings.base import Embedder
from auditor.engine import Auditor
from auditor.sop.schema import Sop
from auditor.training.manifest import load_manifest
from auditor.training.pairs import PairDataset, build_dataset, stack
from auditor.training.step_model import (
    DESCRIPTION_OFFSET,
    FEATURE_NAMES,
    HeldOut,
    choose_thresholds,
    fit_estimator,
    held_out_predictions,
)

MANIFEST = Path(__file__).resolve().parents[1] / "models" / "training.yaml"


class LeaveOneTaskOut:
    """Builds the dataset on first use, then one scorer per held-out STAR task."""

    def __init__(self, manifest: Path = MANIFEST):
        self.manifest = manifest
        self._dataset: PairDataset | None = None
        self._held_out: list[HeldOut] = []
        self._scorers: dict[str, TrainedStepScorer] = {}

    def _prepare(self, embedder: Embedder) -> PairDataset:
        if self._dataset is None:
            plan = load_manifest(self.manifest)
            self._dataset = build_dataset(plan, self.manifest.parent, embedder, DESCRIPTION_OFFSET)
            self._held_out = held_out_predictions(self._dataset)
            self.variants = plan.variants
        return self._dataset

    def scorer(self, task: str, embedder: Embedder) -> TrainedStepScorer:
        if task not in self._scorers:
            dataset = self._prepare(embedder)
            held_name = f"star-{task}:"
            train = [g for g in dataset.groups if not g.name.startswith(held_name)]
            if len(train) == len(dataset.groups):
                raise SystemExit(f"task {task!r} is not in {self.manifest}; cannot hold it out")
            others = [h for h in self._held_out if not h.group.name.startswith(held_name)]
            threshold, done_threshold = choose_thresholds(others, self.variants)
            metadata = ScorerMetadata(
                embedder=embedder.name,
                description_offset=DESCRIPTION_OFFSET,
                threshold=threshold,
                done_threshold=done_threshold,
                feature_names=list(FEATURE_NAMES),
                trained_on=f"all SOPs of {self.manifest.name} but STAR task {task}",
                created="(benchmark)",
            )
            self._scorers[task] = TrainedStepScorer(fit_estimator(*stack(train)), metadata)
        return self._scorers[task]


_LOTO = LeaveOneTaskOut()


def leave_one_task_out_auditor(task: str, sop: Sop, embedder: Embedder) -> Auditor:
    """The auditor with a trained scorer that never saw ``task`` (for `--factory leave-one-task-out`)."""
    return Auditor(sop, embedder, scorer=_LOTO.scorer(task, embedder))
