"""Would a step scorer with more capacity generalise to SOPs it never saw? (issue 3; measured: no)

The shipped step scorer is a logistic regression over twelve SOP-relative pair features (``FEATURE_NAMES``). This
benchmark builds the training pairs of ``training/step-scorer.yaml`` once (the project corpora and the eleven STAR
tasks, both SOP variants) and predicts every SOP with a model fitted on the others (leave-one-SOP-out, as
``auditor train`` does for its thresholds), for:

- **shipped**: the twelve features, C 1;
- **learned similarity**: the twelve features plus the element-wise product of the text unit's vector and the
  step's nearest description vector (512 more columns, only for steps without examples: a learned, weighted
  cosine between what agents say and how QA leads describe it), C 0.01, the product block down-weighted 0.3;
- **sibling contrast**: the twelve features plus the unit's projection on the direction from the step's nearest
  prototype to its most similar other step's (how far the turn leans to this step rather than its closest
  sibling, e.g. "available" vs "unavailable"), that sibling's similarity, and their product.

Turn F1 is at the evidence threshold chosen on the held-out predictions, as in training; it is a pair-level proxy
of ``bench.star_accuracy`` (no phrase detector, no verdicts). STAR rows are split into *generic* steps (the same
step texts in the SOPs of at least three tasks: hello, ask_name, anything_else, out_of_scope, goodbye_1/2) and
task-specific ones, because leaving one STAR task out does not hide its generic steps from a learner; the project
corpora (four SOPs, English and Chinese, written here) are the check on SOPs in another style.

    HF_HUB_OFFLINE=1 python -m bench.step_scorer_variants [--write]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from unittest import mock

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from auditor.detection.pair_features import FEATURE_NAMES, PairFeatures, pair_features
from auditor.detection.sop_index import SopIndex
from auditor.embeddings.provider import make_embedder
from auditor.sop.loading import resolve_sop
from auditor.text.artifacts import ConversationArtifacts
from auditor.training.manifest import load_manifest
from auditor.training.pairs import LabelledGroup, PairDataset, build_dataset
from auditor.training.step_model import (
    DESCRIPTION_OFFSET,
    HeldOut,
    choose_thresholds,
    held_out_predictions,
    turn_f1,
)
from bench.loto_factory import MANIFEST
from bench.report import replace_section
from bench.star_accuracy import GENERIC_TASKS

NAMED = len(FEATURE_NAMES)


def with_vectors(artifacts: ConversationArtifacts, index: SopIndex, description_offset: float) -> PairFeatures:
    """The pair features with three blocks appended per row: the unit's vector and the step's nearest example and
    description vectors (zeros where the step has none)."""
    pairs = pair_features(artifacts, index, description_offset)
    units = artifacts.unit_vectors[pairs.unit_rows]
    nearest = {"examples": np.zeros_like(units), "description": np.zeros_like(units)}
    for column in np.unique(pairs.step_columns):
        rows = pairs.step_columns == column
        prototypes = index.steps[int(column)]
        for kind, vectors in (
            ("examples", prototypes.example_vectors),
            ("description", prototypes.description_vectors),
        ):
            if len(vectors):
                nearest[kind][rows] = vectors[(units[rows] @ vectors.T).argmax(axis=1)]
    matrix = np.hstack([pairs.matrix, units, nearest["examples"], nearest["description"]]).astype(np.float32)
    return PairFeatures(pairs.turn_indices, pairs.step_columns, pairs.unit_rows, matrix)


def blocks(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(named features, unit vectors, nearest example vectors, nearest description vectors)."""
    dimension = (features.shape[1] - NAMED) // 3
    named = features[:, :NAMED].astype(np.float64)
    unit, examples, description = (features[:, NAMED + k * dimension : NAMED + (k + 1) * dimension] for k in range(3))
    return named, unit, examples, description


def learned_similarity(features: np.ndarray, units: np.ndarray) -> np.ndarray:
    named, unit, _, description = blocks(features)
    no_examples = 1.0 - named[:, [FEATURE_NAMES.index("has_examples")]]
    return np.hstack([named, unit * description * no_examples])


def sibling_contrast(features: np.ndarray, units: np.ndarray) -> np.ndarray:
    named, unit, examples, description = blocks(features)
    description_sim = named[:, FEATURE_NAMES.index("sim_description")] + DESCRIPTION_OFFSET
    by_examples = named[:, FEATURE_NAMES.index("sim_examples")] >= description_sim
    by_examples &= np.abs(examples).sum(axis=1) > 0
    prototype = np.where(by_examples[:, None], examples, description)
    extra = np.zeros((len(features), 3))
    order = np.argsort(units, kind="stable")
    for rows in np.split(order, np.flatnonzero(np.diff(units[order])) + 1):
        if len(rows) < 2:
            continue
        vectors = prototype[rows]
        normed = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)
        similar = normed @ normed.T
        np.fill_diagonal(similar, -2.0)
        direction = vectors - vectors[similar.argmax(axis=1)]
        projection = (unit[rows] * direction).sum(axis=1) / np.maximum(np.linalg.norm(direction, axis=1), 1e-6)
        closeness = similar.max(axis=1)
        extra[rows] = np.column_stack([projection, closeness, projection * closeness])
    return np.hstack([named, extra])


@dataclass(frozen=True)
class Variant:
    name: str
    columns: Callable[[np.ndarray, np.ndarray], np.ndarray]
    c: float
    block_weight: float = 1.0
    """Multiplies the standardised columns after the named ones (a lighter weight regularises them harder)."""


VARIANTS = (
    Variant("shipped (12 features, C 1)", lambda features, units: blocks(features)[0], 1.0),
    Variant("learned similarity (+512 product columns, C 0.01, weight 0.3)", learned_similarity, 0.01, 0.3),
    Variant("sibling contrast (+3 columns, C 1)", sibling_contrast, 1.0),
)


def _weighted(rows: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return rows * scale


def fit(variant: Variant, features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> Pipeline:
    """Standardise, then weight the columns after the named ones by ``variant.block_weight``; logistic regression."""
    scale = np.ones(features.shape[1])
    scale[NAMED:] = variant.block_weight
    model = Pipeline(
        [
            ("scale", StandardScaler()),
            ("weight", FunctionTransformer(_weighted, kw_args={"scale": scale})),
            ("classify", LogisticRegression(C=variant.c, max_iter=3000)),
        ]
    )
    return model.fit(features, labels, classify__sample_weight=weights)


def held_out(dataset: PairDataset, variant: Variant) -> list[HeldOut]:
    columns = [
        LabelledGroup(g.name, g.variant, variant.columns(g.features, g.units), g.labels, g.conversation_steps, g.units)
        for g in dataset.groups
    ]
    return held_out_predictions(PairDataset(columns), functools.partial(fit, variant))


@functools.cache
def step_ids(group_name: str) -> list[str]:
    """Step ids by column for a STAR group ``<set>:<sop id>`` of the manifest."""
    training_set = next(s for s in load_manifest(MANIFEST).sets if s.name == group_name.split(":", 1)[0])
    return [step.id for step in resolve_sop(str(MANIFEST.parent / str(training_set.sop))).steps]


def row_cells(predictions: list[HeldOut], threshold: float, generic: set[str], variants: Sequence[str]) -> list[str]:
    cells = []
    for sop_variant in variants:
        star = [h for h in predictions if h.group.variant == sop_variant and h.group.name.startswith("star-")]
        corpora = [h for h in predictions if h.group.variant == sop_variant and not h.group.name.startswith("star-")]
        for keep in (lambda is_generic: True, lambda is_generic: is_generic, lambda is_generic: not is_generic):
            labels, predicted = [], []
            for h in star:
                ids = step_ids(h.group.name)
                rows = np.asarray([keep(ids[int(c) % 1000] in generic) for c in h.group.conversation_steps])
                labels.append(h.group.labels[rows])
                predicted.append(h.probabilities[rows] >= threshold)
            cells.append(f"{turn_f1(np.concatenate(labels), np.concatenate(predicted)):.3f}")
        per_sop = [turn_f1(h.group.labels, h.probabilities >= threshold) for h in corpora]
        cells.append(" / ".join(f"{value:.2f}" for value in per_sop) if per_sop else "-")
    return cells


def run() -> str:
    start = time.perf_counter()
    plan = load_manifest(MANIFEST)
    embedder = make_embedder(plan.embedder)
    with mock.patch("auditor.training.pairs.pair_features", with_vectors):
        dataset = build_dataset(plan, MANIFEST.parent, embedder, DESCRIPTION_OFFSET)
    star_names = sorted({g.name for g in dataset.groups if g.name.startswith("star-")})
    tasks_by_step = Counter(step for name in star_names for step in set(step_ids(name)))
    generic = {step for step, tasks in tasks_by_step.items() if tasks >= GENERIC_TASKS}
    corpora = sorted({g.name.split(":", 1)[1] for g in dataset.groups if not g.name.startswith("star-")})
    rows = []
    for variant in VARIANTS:
        predictions = held_out(dataset, variant)
        threshold, _ = choose_thresholds(predictions, plan.variants)
        rows.append(
            "| "
            + " | ".join([variant.name, str(threshold), *row_cells(predictions, threshold, generic, plan.variants)])
            + " |"
        )
    header = ["scorer", "threshold"]
    for sop_variant in plan.variants:
        header += [f"{sop_variant}: STAR all", "STAR generic", "STAR task-specific", "corpora per SOP"]
    return (
        f"Leave-one-SOP-out turn F1 (pair level). Generic STAR steps: {', '.join(sorted(generic))}. Corpora SOPs, in "
        f"order: {', '.join(corpora)}. Embedder {embedder.name}; {time.perf_counter() - start:.0f} s.\n\n"
        + "| "
        + " | ".join(header)
        + " |\n|"
        + "---|" * len(header)
        + "\n"
        + "\n".join(rows)
        + "\n"
    )


VERDICT = """
Reading (2026-11-23): the learned similarity lifts STAR description-only turn F1 0.694 -> 0.782, but the lift is
on the generic steps (0.754 -> 0.946), whose descriptions the held-out task shares word for word with the training
tasks; on task-specific steps it is 0.662 -> 0.685, and on the corpora SOPs it goes both ways (0.75 -> 0.70 on
bank-phone-service, 0.49 -> 0.54 on general-inbound-call). Less regularised (the product block at full weight), it
cost the corpora up to 0.14 (complaint-handling 0.63 -> 0.49). The sibling contrast moves task-specific steps by
+0.013 at most. Neither is shipped: what would carry to a new SOP is +0.01 to +0.02 on task-specific steps, with
the corpora going both ways, far from the 0.85 description-only target.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    text = run() + VERDICT
    print(text)
    if args.write:
        replace_section("step-scorer-variants", "python -m bench.step_scorer_variants --write", text)


if __name__ == "__main__":
    main()
