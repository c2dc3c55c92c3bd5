"""Refit the step scorer with coach verdicts: the reviewed steps join the labelled data, and the done threshold
moves toward what the coaches decided.

- Estimator: every reviewed SOP becomes one more training group (``reviews:<sop>``), weighted like a whole SOP
  of the labelled data times ``review_weight``, so a few dozen verdicts are not drowned by 100,000 corpus pairs.
- Thresholds: the evidence threshold is chosen on held-out predictions as in plain training. The done threshold
  maximises ``(1 - share) * held-out objective + share * coach objective``, where the coach objective is the same
  objective (performed steps called done weigh twice skipped steps called missing) over the coaches' decisions,
  predicted by the refitted model, and ``share = n / (n + PRIOR_DECISIONS)`` grows with the number ``n`` of
  coach decisions: one verdict nudges, a hundred decide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from auditor.detection.semantic import best_step_per_unit
from auditor.detection.trained_scorer import TrainedStepScorer
from auditor.embeddings.base import Embedder
from auditor.review.examples import ReviewExamples
from auditor.sop.loading import SopError, builtin_sop_paths, load_sop
from auditor.sop_format import Sop
from auditor.text.artifacts import ArtifactBuilder
from auditor.training.pairs import LabelledGroup, PairDataset, labelled_group
from auditor.training.step_model import (
    THRESHOLDS,
    HeldOut,
    conversation_decisions,
    done_objective,
    fit_estimator,
    held_out_predictions,
    train_step_scorer,
)

REVIEWS = "reviews:"
PRIOR_DECISIONS = 20
"""How many coach decisions weigh as much as the held-out labelled data when choosing the done threshold."""


@dataclass
class ReviewGroups:
    groups: list[LabelledGroup] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    decisions: int = 0


def review_groups(
    examples: ReviewExamples,
    embedder: Embedder,
    description_offset: float,
    sops: Mapping[str, Sop] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReviewGroups:
    """Pair features of the reviewed steps, one group per SOP; an SOP that cannot be found is skipped, named."""
    built = ReviewGroups(skipped=list(examples.skipped))
    builder = ArtifactBuilder(embedder)
    for sop_id, items in sorted(examples.by_sop().items()):
        sop = (sops or {}).get(sop_id)
        builtin = builtin_sop_paths()
        if sop is None and sop_id in builtin:
            try:
                sop = load_sop(builtin[sop_id])
            except SopError:
                sop = None
        if sop is None:
            built.skipped.append(
                f"{len(items)} reviewed conversation(s) of SOP {sop_id!r}: no such SOP here (give --sop-dir)"
            )
            continue
        if progress:
            progress(f"coach verdicts: {sop_id} ({len(items)} conversations)")
        artifacts = builder.build_many([item.conversation for item in items])
        steps = [set(item.steps) & {step.id for step in sop.steps} for item in items]
        built.groups.append(
            labelled_group(f"{REVIEWS}{sop_id}", "examples", sop, artifacts, embedder, description_offset, steps)
        )
        built.decisions += sum(len(kept) for kept in steps)
    return built


def weighted_stack(groups: Sequence[LabelledGroup], review_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like ``pairs.stack`` (each group the same total weight), review groups times ``review_weight``."""
    features = np.vstack([g.features for g in groups])
    labels = np.concatenate([g.labels for g in groups])
    scale = [review_weight if g.name.startswith(REVIEWS) else 1.0 for g in groups]
    weights = np.concatenate([np.full(len(g.labels), s / len(g.labels)) for g, s in zip(groups, scale, strict=True)])
    return features, labels, weights * len(labels) / weights.sum()


def retrain_with_reviews(
    dataset: PairDataset,
    reviews: ReviewGroups,
    embedder_name: str,
    variants: Sequence[str],
    review_weight: float = 1.0,
) -> TrainedStepScorer:
    """The step scorer refitted on the labelled data plus the coaches' verdicts (see the module docstring)."""
    if not reviews.groups:
        raise ValueError("no usable coach verdicts: review some steps first (their transcripts must be stored)")
    labelled = [g for g in dataset.groups if not g.name.startswith(REVIEWS)]
    plain = PairDataset(labelled, dataset.skipped_sets)
    held = held_out_predictions(plain)
    base = train_step_scorer(plain, embedder_name, variants, held)
    model = fit_estimator(*weighted_stack(labelled + reviews.groups, review_weight))
    coach = [HeldOut(g, best_step_per_unit(model.predict_proba(g.features)[:, 1], g.units)) for g in reviews.groups]
    best, performed = conversation_decisions(coach)
    share = len(best) / (len(best) + PRIOR_DECISIONS)

    def held_out_objective(threshold: float) -> float:
        by_variant = [[h for h in held if h.group.variant == v] for v in variants]
        return float(np.mean([done_objective(*conversation_decisions(items), threshold)[0] for items in by_variant]))

    def blended(threshold: float) -> tuple[float, float]:
        mixed = (1 - share) * held_out_objective(threshold) + share * done_objective(best, performed, threshold)[0]
        return round(mixed, 6), -abs(threshold - base.done_threshold)  # ties: stay near the plain choice

    done_threshold = max(THRESHOLDS, key=blended)
    before_best, _ = conversation_decisions(
        [
            HeldOut(g, best_step_per_unit(base.estimator.predict_proba(g.features)[:, 1], g.units))
            for g in reviews.groups
        ]
    )
    plain_done = base.done_threshold
    metadata = dataclasses.replace(base.metadata, done_threshold=done_threshold, metrics=dict(base.metadata.metrics))
    metadata.trained_on += f" + coach verdicts on {len(best)} steps ({', '.join(g.name for g in reviews.groups)})"
    metadata.metrics["coach_verdicts"] = {
        "decisions": len(best),
        "performed": int(performed.sum()),
        "review_weight": review_weight,
        "threshold_share": round(share, 4),
        "done_threshold_without_verdicts": plain_done,
        "agreement_before": _agreement(before_best, performed, plain_done),
        "agreement_after": _agreement(best, performed, done_threshold),
        "skipped": reviews.skipped,
    }
    return TrainedStepScorer(model, metadata)


def _agreement(best: np.ndarray, performed: np.ndarray, threshold: float) -> float:
    """Share of coach decisions (performed or not) the scorer reproduces, in sample."""
    return round(float(((best >= threshold) == performed).mean()), 4) if len(best) else 0.0
