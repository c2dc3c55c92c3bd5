"""Fit the per-backend semantic calibration (auditor/detection/calibration.json) on the gold-labelled corpora.

For every spoken turn and SOP step: sim (best cosine to examples, or to name/description + offset), margin
(sim minus the best other step's sim) and position gap (the turn's place in the call vs the step's place in
the SOP). A logistic regression maps (sim, margin, gap, has examples) to P(turn performs step).
The description offset and the decision threshold are chosen by leave-one-SOP-out turn-level F1, averaged over
two SOP variants (with examples, description-only), so an SOP never seen in fitting is what is measured.

    python -m bench.calibrate_detection [--backends use-m minilm] [--write]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date

import numpy as np
from sklearn.linear_model import LogisticRegression

from auditor.detection.calibration import SemanticCalibration, load_calibrations, save_calibrations
from auditor.detection.pair_features import FEATURE_NAMES, pair_features
from auditor.detection.sop_index import build_sop_index
from auditor.embeddings.provider import make_embedder
from auditor.evaluation.step_metrics import gold_turns
from auditor.text.artifacts import ArtifactBuilder
from auditor.training.pairs import description_only
from auditor.training.step_model import done_objective, turn_f1
from bench.corpora_data import builtin, corpora_by_sop
from bench.report import replace_section

OFFSETS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.2, 0.85, 0.05))
LANGUAGES = {"use-m": ("en", "zh-Hans", "zh-Hant"), "minilm": ("en",)}


@dataclass
class PairRows:
    """Feature rows for (turn, step) pairs of one SOP variant: columns sim, margin; labels; group ids."""

    sop_id: str
    variant: str
    features: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    """(conversation, step) id of each row, for conversation-level decisions."""


LINEAR_FEATURES = ("sim", "margin", "position_gap", "has_examples")
"""The features the linear calibration uses (auditor/detection/calibration.py), in its weight order."""


def pair_rows(backend: str, offset: float, prepared) -> list[PairRows]:  # type: ignore[no-untyped-def]
    rows = []
    columns = [FEATURE_NAMES.index(name) for name in LINEAR_FEATURES]
    for sop_id, variant, index, artifacts_list in prepared:
        features, labels, groups = [], [], []
        for number, artifacts in enumerate(artifacts_list):
            pairs = pair_features(artifacts, index, offset)
            gold = gold_turns(artifacts.conversation)
            features.append(pairs.matrix[:, columns])
            step_ids = [index.steps[int(c)].step.id for c in pairs.step_columns]
            labels += [int(t) in gold.get(s, set()) for t, s in zip(pairs.turn_indices, step_ids, strict=True)]
            groups += [number * 1000 + int(c) for c in pairs.step_columns]
        rows.append(PairRows(sop_id, variant, np.vstack(features), np.asarray(labels, dtype=int), np.asarray(groups)))
    return rows


def prepare(backend: str):  # type: ignore[no-untyped-def]
    embedder = make_embedder(backend)
    builder = ArtifactBuilder(embedder)
    prepared = []
    for sop_id, conversations in sorted(corpora_by_sop(LANGUAGES[backend]).items()):
        artifacts_list = builder.build_many(conversations)
        for variant, sop in (("examples", builtin(sop_id)), ("description", description_only(builtin(sop_id)))):
            prepared.append((sop_id, variant, build_sop_index(sop, embedder), artifacts_list))
    return embedder, prepared


def held_out_probabilities(rows: list[PairRows]) -> list[np.ndarray]:
    """P(turn performs step) for every row, each SOP predicted by a model fitted on the other SOPs."""
    predicted = []
    for test in rows:
        train = [r for r in rows if r.sop_id != test.sop_id]
        model = LogisticRegression(C=1.0).fit(
            np.vstack([r.features for r in train]), np.concatenate([r.labels for r in train])
        )
        predicted.append(model.predict_proba(test.features)[:, 1])
    return predicted


def leave_one_sop_out(rows: list[PairRows]) -> dict[float, dict[str, float]]:
    """Threshold -> variant -> mean held-out turn F1."""
    scores: dict[float, dict[str, list[float]]] = {t: {"examples": [], "description": []} for t in THRESHOLDS}
    for test, probability in zip(rows, held_out_probabilities(rows), strict=True):
        for threshold in THRESHOLDS:
            scores[threshold][test.variant].append(turn_f1(test.labels, probability >= threshold))
    return {t: {v: float(np.mean(s)) for v, s in by_variant.items()} for t, by_variant in scores.items()}


def choose_done_threshold(rows: list[PairRows]) -> tuple[float, list[str]]:
    """Conversation level: a step is done when its best turn reaches T.

    T maximises the trained scorer's objective (``auditor.training.step_model.done_objective``), averaged over
    the two SOP variants.
    """
    by_threshold: dict[float, list[float]] = {t: [] for t in THRESHOLDS}
    lines = []
    predicted = held_out_probabilities(rows)
    for variant in ("examples", "description"):
        best_prob, gold_done = [], []
        for test, probability in zip(rows, predicted, strict=True):
            if test.variant != variant:
                continue
            for group in np.unique(test.groups):
                mask = test.groups == group
                best_prob.append(probability[mask].max())
                gold_done.append(bool(test.labels[mask].any()))
        best, done = np.asarray(best_prob), np.asarray(gold_done)
        for threshold in THRESHOLDS:
            objective, found_done, found_missing = done_objective(best, done, threshold)
            by_threshold[threshold].append(objective)
            lines.append(f"| {variant} | {threshold:.2f} | {found_done:.3f} | {found_missing:.3f} |")
    chosen = max(THRESHOLDS, key=lambda t: float(np.mean(by_threshold[t])))
    return chosen, lines


def calibrate(backend: str) -> tuple[SemanticCalibration, list[str]]:
    _, prepared = prepare(backend)
    table, best = [], None
    for offset in OFFSETS:
        rows = pair_rows(backend, offset, prepared)
        for threshold, by_variant in leave_one_sop_out(rows).items():
            mean = (by_variant["examples"] + by_variant["description"]) / 2
            table.append((offset, threshold, by_variant["examples"], by_variant["description"], mean))
            if best is None or mean > best[-1]:
                best = (offset, threshold, by_variant["examples"], by_variant["description"], mean)
    assert best is not None
    offset, threshold = best[0], best[1]
    rows = pair_rows(backend, offset, prepared)
    done_threshold, done_lines = choose_done_threshold(rows)
    model = LogisticRegression(C=1.0).fit(
        np.vstack([r.features for r in rows]), np.concatenate([r.labels for r in rows])
    )
    pairs = sum(len(r.labels) for r in rows) // 2
    fitted_on = (
        f"{date.today().isoformat()}: corpora {'+'.join(LANGUAGES[backend])}, {pairs} turn-step pairs; "
        f"leave-one-SOP-out turn F1 {best[2]:.3f} with examples, {best[3]:.3f} description-only"
    )
    calibration = SemanticCalibration(
        backend=backend,
        description_offset=offset,
        w_sim=round(float(model.coef_[0][0]), 4),
        w_margin=round(float(model.coef_[0][1]), 4),
        bias=round(float(model.intercept_[0]), 4),
        threshold=float(threshold),
        fitted_on=fitted_on,
        w_position=round(float(model.coef_[0][2]), 4),
        w_examples=round(float(model.coef_[0][3]), 4),
        done_threshold=float(done_threshold),
    )
    lines = [
        f"| {o:.2f} | {t:.2f} | {e:.3f} | {d:.3f} | {m:.3f} |"
        for o, t, e, d, m in table
        if abs(t - threshold) < 1e-9 or o == offset
    ]
    lines += [
        "",
        "Conversation level (held-out SOPs): share of performed steps called done, share of skipped steps "
        "called missing",
        "",
        "| variant | done threshold | performed -> done | skipped -> missing |",
        "|---|---|---|---|",
        *done_lines,
    ]
    return calibration, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["use-m", "minilm"])
    parser.add_argument("--write", action="store_true", help="save to auditor/detection/calibration.json")
    args = parser.parse_args()
    calibrations = load_calibrations()
    sections = []
    for backend in args.backends:
        embedder_name = make_embedder(backend).name
        calibration, lines = calibrate(backend)
        calibrations[embedder_name] = calibration
        sections.append(
            f"### {backend} ({embedder_name})\n\nchosen: description offset {calibration.description_offset}, "
            f"evidence threshold {calibration.threshold}, done threshold {calibration.done_threshold}; weights "
            f"sim {calibration.w_sim}, margin {calibration.w_margin}, position gap {calibration.w_position}, "
            f"has examples {calibration.w_examples}, bias {calibration.bias}\n\n"
            "Turn level (held-out SOPs; rows at the chosen offset or threshold):\n\n"
            "| description offset | evidence threshold | turn F1 examples | turn F1 description-only | mean |\n"
            "|---|---|---|---|---|\n" + "\n".join(lines)
        )
    text = "\n\n".join(sections)
    print(text)
    if args.write:
        save_calibrations(calibrations)
        replace_section("calibration", "python -m bench.calibrate_detection --write", text)
        print("\nwrote auditor/detection/calibration.json and docs/benchmarks.md")


if __name__ == "__main__":
    main()
