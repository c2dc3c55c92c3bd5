"""Train the dissatisfaction scorer from seed utterances and labelled transcripts; measure it out of fold.

The plan (``training/dissatisfaction.yaml``) names the seed utterances the project wrote, turn-labelled
sets (customer turns rated 1-5, dissatisfied at or below a rating) and conversation-labelled sets (a boolean
field, or every annotator's rating of the whole conversation). Where the individual annotators' ratings are
given (``turn_ratings``, ``conversation_ratings``), the models learn the share of annotators who rated at or
below the threshold (a soft label) rather than the majority alone: the majority of 3-7 annotators is a noisy
label, and the share keeps how sure they were. Conversations whose id hashes into the held-out fold are never
used, so a benchmark can measure the shipped model on them. STC-3 is for evaluation only and must not appear in a
plan.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from auditor.conversation import Conversation
from auditor.dissatisfaction.features import (
    CONVERSATION_FEATURES,
    TURN_BLOCKS,
    TURN_FEATURES,
    UNSIGNED_FEATURES,
    conversation_row,
    turn_rows,
)
from auditor.dissatisfaction.model import (
    DissatisfactionMetadata,
    DissatisfactionScorer,
    apology_turns,
)
from auditor.dissatisfaction.signals import SignalContext, SignalHit, detect_signals
from auditor.dissatisfaction.trajectory import DEFAULT_MARGIN, trajectory
from auditor.embeddings.base import Embedder
from auditor.text.artifacts import ArtifactBuilder, ConversationArtifacts
from auditor.text.normalise import normalise_text
from auditor.transcripts.loaders import load_file

HELD_OUT_FOLDS = 5
"""One conversation in this many (by a hash of its id) is held out of training for benchmarks."""
TURN_C = 0.1
TURN_EMBEDDING_C = 0.0003
"""The turn model regularises its named features with C=TURN_C and its embedding blocks as if with
C=TURN_EMBEDDING_C (the blocks are shrunk inside the scaler): 2,000+ embedding dimensions against ~500 dissatisfied
turns need strong regularisation, the ~40 named features much less. Chosen by grouped 5-fold CV on the USS training
conversations (named C from 0.03 to 3 made no difference; embedding C 0.0001 / 0.0003 / 0.001)."""
CONVERSATION_C = 1.0
POOLED_CONVERSATION_C = 0.01
POOLED_BLOCK_WEIGHT = 0.2
NEGATIVITY_C = (0.3, 1.0, 3.0, 10.0)
MAX_GAP_SECONDS = 10.0
FLAG_BETA = 0.5
FORBIDDEN_SOURCES = ("stc3",)
ANGRY_LABELS = ("angry", "frustrated", "churn", "escalation")
"""Labels of a labelled-turn file that mean the customer is unhappy with the service."""


class TrainingPlanError(ValueError):
    """A training plan that cannot be used; the message names the file and the field."""


@dataclass
class LabelledSet:
    """One labelled transcript file: a per-turn rating field and/or a per-conversation boolean field."""

    name: str
    path: Path
    turn_label: str | None = None
    conversation_label: str | None = None
    dissatisfied_at_most: float = 2
    limit: int | None = None
    turn_ratings: str | None = None
    conversation_ratings: str | None = None


@dataclass
class TrainingPlan:
    """Seed utterances plus labelled sets; ``embedder`` is the backend name the model is trained for."""

    seeds: Path
    sets: list[LabelledSet]
    embedder: str = "use-m"
    text: str = ""
    labelled_turns: list[Path] = field(default_factory=list)
    """Files of labelled customer turns (``text``, ``label``) added to the seeds: labels in ``ANGRY_LABELS`` are
    negative, the rest other (the project's development turn set)."""


@dataclass
class SeedUtterances:
    """Project-written customer utterances labelled negative or other, and repetition pairs."""

    negative: list[str]
    other: list[str]
    repetition_pairs: list[tuple[str, str, bool]]

    @classmethod
    def load(cls, path: Path, labelled_turns: Sequence[Path] = ()) -> SeedUtterances:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        pairs = [(p["earlier"], p["later"], bool(p["repeat"])) for p in document.get("repetition_pairs", [])]
        seeds = cls(
            negative=[t for texts in document["negative"].values() for t in texts],
            other=[t for texts in document["other"].values() for t in texts],
            repetition_pairs=pairs,
        )
        for turns in labelled_turns:
            for position, entry in enumerate(yaml.safe_load(Path(turns).read_text(encoding="utf-8")) or []):
                if not isinstance(entry, dict) or not entry.get("text") or not entry.get("label"):
                    raise TrainingPlanError(f"{turns}: entry {position}: needs text and label")
                (seeds.negative if entry["label"] in ANGRY_LABELS else seeds.other).append(str(entry["text"]))
        return seeds


def is_held_out(conversation_id: str, folds: int = HELD_OUT_FOLDS) -> bool:
    """Whether a conversation belongs to the held-out fold (stable across runs and machines)."""
    digest = hashlib.blake2b(conversation_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % folds == 0


def load_plan(path: Path) -> TrainingPlan:
    """Read a YAML plan; paths are relative to the plan's folder; every problem is named at once."""
    path = Path(path)
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems: list[str] = []
    base = path.parent
    sets: list[LabelledSet] = []
    for position, entry in enumerate(document.get("sets") or []):
        where = f"{path}: sets[{position}]"
        if not entry.get("name") or not entry.get("transcripts"):
            problems.append(f"{where}: needs name and transcripts")
            continue
        if (
            not entry.get("turn_label")
            and not entry.get("conversation_label")
            and not entry.get("conversation_ratings")
        ):
            problems.append(
                f"{where}: needs turn_label (a 1-5 rating field) and/or conversation_label (a boolean) or "
                "conversation_ratings (a list of 1-5 ratings)"
            )
            continue
        if entry.get("turn_ratings") and not entry.get("turn_label"):
            problems.append(f"{where}.turn_ratings: needs turn_label (the majority rating) as well")
            continue
        if any(word in str(entry["transcripts"]).lower() for word in FORBIDDEN_SOURCES):
            problems.append(f"{where}.transcripts: STC-3 is for evaluation only, never for training")
            continue
        sets.append(
            LabelledSet(
                name=entry["name"],
                path=(base / entry["transcripts"]).resolve(),
                turn_label=entry.get("turn_label"),
                conversation_label=entry.get("conversation_label"),
                dissatisfied_at_most=float(entry.get("dissatisfied_at_most", 2)),
                limit=entry.get("limit"),
                turn_ratings=entry.get("turn_ratings"),
                conversation_ratings=entry.get("conversation_ratings"),
            )
        )
    if not document.get("seeds"):
        problems.append(f"{path}: seeds: missing (the seed utterances file)")
    labelled_turns = [(base / name).resolve() for name in document.get("labelled_turns") or []]
    problems += [
        f"{path}: labelled_turns: {turns} does not exist" for turns in labelled_turns if not turns.is_file()
    ]
    problems += [
        f"{path}: labelled_turns: {turns} is a held-out test set, never for training"
        for turns in labelled_turns
        if turns.parent.name == "test"
    ]
    if problems:
        raise TrainingPlanError("\n".join(problems))
    return TrainingPlan(
        seeds=(base / document["seeds"]).resolve(),
        sets=sets,
        embedder=document.get("embedder", "use-m"),
        text=path.read_text(encoding="utf-8"),
        labelled_turns=labelled_turns,
    )


@dataclass
class Scored:
    """A training conversation with its context, signal hits and labels (turn labels aligned to customer turns).

    ``turn_targets`` and ``conversation_target`` are what the models learn: the share of annotators who rated at
    or below the threshold where their ratings are given, else the 0/1 label. ``turn_labels`` (-1: unrated) and
    ``conversation_label`` are the majority labels that metrics and the flag threshold use.
    """

    set_name: str
    artifacts: ConversationArtifacts
    context: SignalContext
    hits: list[SignalHit]
    turn_matrix: np.ndarray
    turn_labels: np.ndarray | None
    conversation_label: bool | None
    turn_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    turn_targets: np.ndarray | None = None
    conversation_target: float | None = None


def fit_negativity(vectors: np.ndarray, labels: np.ndarray) -> tuple[LogisticRegression, dict[str, float]]:
    """Logistic regression on seed-utterance vectors; C by 5-fold accuracy on the seeds themselves."""
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    accuracy: dict[float, float] = {}
    for c in NEGATIVITY_C:
        correct = 0
        for train, test in folds.split(vectors, labels):
            model = LogisticRegression(C=c, max_iter=2000).fit(vectors[train], labels[train])
            correct += int((model.predict(vectors[test]) == labels[test]).sum())
        accuracy[c] = correct / len(labels)
    best = max(NEGATIVITY_C, key=lambda c: (accuracy[c], -c))
    model = LogisticRegression(C=best, max_iter=2000).fit(vectors, labels)
    return model, {"C": best, "cv_accuracy": round(accuracy[best], 4)}


def choose_repetition_threshold(embedder: Embedder, pairs: Sequence[tuple[str, str, bool]]) -> tuple[float, float]:
    """The cosine threshold that best separates repeated from different requests in the seed pairs, and its accuracy."""
    if not pairs:
        from auditor.dissatisfaction.signals import DEFAULT_REPETITION_THRESHOLD

        return DEFAULT_REPETITION_THRESHOLD, float("nan")
    earlier = embedder.encode([normalise_text(p[0]) for p in pairs])
    later = embedder.encode([normalise_text(p[1]) for p in pairs])
    cosines = (earlier * later).sum(axis=1)
    repeat = np.asarray([p[2] for p in pairs])
    ordered = np.sort(cosines)
    candidates = (ordered[:-1] + ordered[1:]) / 2

    def accuracy(threshold: float) -> float:
        return float(((cosines >= threshold) == repeat).mean())

    best = max(candidates, key=lambda t: (accuracy(t), t))
    return round(float(best), 3), round(accuracy(best), 4)


def turn_labels_of(artifacts: ConversationArtifacts, label: str, at_most: float) -> np.ndarray:
    """1 where a customer turn's rating is at most ``at_most``, 0 above it, -1 where it has no rating."""
    labels = []
    for turn in artifacts.turns:
        if turn.turn.role.value != "customer":
            continue
        value = turn.turn.extra.get(label)
        labels.append(-1 if not isinstance(value, int | float) else int(value <= at_most))
    return np.asarray(labels, dtype=np.int64)


def rating_share(ratings: object, at_most: float) -> float | None:
    """Share of a list of annotators' ratings at or below ``at_most``; None when there are no numeric ratings."""
    if not isinstance(ratings, list | tuple):
        return None
    values = [r for r in ratings if isinstance(r, int | float) and not isinstance(r, bool)]
    return sum(value <= at_most for value in values) / len(values) if values else None


def turn_targets_of(
    artifacts: ConversationArtifacts, labels: np.ndarray, ratings: str | None, at_most: float
) -> np.ndarray:
    """Per customer turn: the share of annotators rating at most ``at_most`` (from ``ratings``), else the 0/1 label;
    -1 where the turn is unrated."""
    targets = labels.astype(np.float64)
    if ratings is None:
        return targets
    customers = [t for t in artifacts.turns if t.turn.role.value == "customer"]
    for position, turn in enumerate(customers):
        share = rating_share(turn.turn.extra.get(ratings), at_most)
        if labels[position] >= 0 and share is not None:
            targets[position] = share
    return targets


def load_training_conversations(labelled: LabelledSet) -> list[Conversation]:
    """The set's conversations outside the held-out fold (first ``limit`` of them when a limit is given)."""
    conversations = [c for c in load_file(labelled.path).conversations if not is_held_out(c.id)]
    return conversations[: labelled.limit] if labelled.limit else conversations


def prepare(
    scorer: DissatisfactionScorer,
    labelled: LabelledSet,
    artifacts: Sequence[ConversationArtifacts],
) -> list[Scored]:
    """Contexts, signal hits and turn rows for one set's conversations."""
    prepared = []
    for item in artifacts:
        context = scorer.context(item)
        hits = detect_signals(context, scorer.detectors)
        rows = turn_rows(context, hits)
        at_most = labelled.dissatisfied_at_most
        turn_labels = turn_labels_of(item, labelled.turn_label, at_most) if labelled.turn_label else None
        turn_targets = (
            turn_targets_of(item, turn_labels, labelled.turn_ratings, at_most) if turn_labels is not None else None
        )
        metadata = item.conversation.metadata
        share = (
            rating_share(metadata.get(labelled.conversation_ratings), at_most)
            if labelled.conversation_ratings
            else None
        )
        value = metadata.get(labelled.conversation_label) if labelled.conversation_label else None
        if share is not None:
            conversation_label: bool | None = share >= 0.5
            conversation_target: float | None = share
        else:
            conversation_label = bool(value) if isinstance(value, bool) else None
            conversation_target = None if conversation_label is None else float(conversation_label)
        prepared.append(
            Scored(
                labelled.name,
                item,
                context,
                hits,
                rows.matrix,
                turn_labels,
                conversation_label,
                turn_targets=turn_targets,
                conversation_target=conversation_target,
            )
        )
    return prepared


def score_turns(scorer: DissatisfactionScorer, items: Sequence[Scored]) -> None:
    """Fill each item's turn scores with the scorer's turn model (for data it was not trained on)."""
    model = scorer.estimators["turn"]
    for item in items:
        item.turn_scores = model.predict_proba(item.turn_matrix)[:, 1] if len(item.turn_matrix) else np.zeros(0)


def soft_logistic(
    scaled: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None, *, c: float, max_iter: int = 5000
) -> LogisticRegression:
    """Logistic regression on targets in [0, 1]: each row once as dissatisfied (weight t) and once as not (1 - t).

    With 0/1 targets this is the ordinary fit; with annotator shares it minimises the cross-entropy to the share.
    """
    targets = np.asarray(targets, dtype=np.float64)
    base = np.ones(len(targets)) if weights is None else np.asarray(weights, dtype=np.float64)
    rows = np.concatenate([scaled, scaled])
    labels = np.concatenate([np.ones(len(targets), dtype=bool), np.zeros(len(targets), dtype=bool)])
    sample = np.concatenate([base * targets, base * (1.0 - targets)])
    keep = sample > 0
    return LogisticRegression(C=c, max_iter=max_iter).fit(rows[keep], labels[keep], sample_weight=sample[keep])


def fit_turn_pipeline(matrix: np.ndarray, targets: np.ndarray) -> Pipeline:
    """Standardised logistic regression over turn rows; the embedding blocks are shrunk inside the scaler so they
    are regularised as if with C=TURN_EMBEDDING_C while the named features get C=TURN_C."""
    scaler = StandardScaler().fit(matrix)
    scaler.scale_[: matrix.shape[1] - len(TURN_FEATURES)] /= (TURN_EMBEDDING_C / TURN_C) ** 0.5
    classify = soft_logistic(scaler.transform(matrix), targets, c=TURN_C)
    return Pipeline([("scale", scaler), ("classify", classify)])


def fit_signed_logistic(
    matrix: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    pooled: bool,
    targets: np.ndarray | None = None,
) -> Pipeline:
    """Standardised logistic regression whose oriented named features may only push towards dissatisfied.

    Named features other than ``UNSIGNED_FEATURES`` get non-negative weights (active set: a feature that comes
    out negative is dropped and the rest refitted), so a model trained on one kind of dialogue cannot learn that
    complaints or negativity mean a happy customer. Without pooled embeddings (the shipped, cross-domain model)
    the unsigned features are left out; with them, the embedding block is down-weighted by
    ``POOLED_BLOCK_WEIGHT`` inside the scaler so it is regularised harder than the named features. ``targets``
    (shares of annotators in [0, 1]) replace the 0/1 ``labels`` as what is learned when given.
    """
    named = len(CONVERSATION_FEATURES)
    scaler = StandardScaler().fit(matrix, sample_weight=weights)
    if pooled:
        scaler.scale_[named:] /= POOLED_BLOCK_WEIGHT
    scaled = scaler.transform(matrix)
    signed = np.zeros(matrix.shape[1], dtype=bool)
    signed[:named] = [name not in UNSIGNED_FEATURES for name in CONVERSATION_FEATURES]
    keep = np.ones(matrix.shape[1], dtype=bool)
    if not pooled:
        keep[:named] = signed[:named]
        keep[named:] = False
    c = POOLED_CONVERSATION_C if pooled else CONVERSATION_C
    coefficients = np.zeros(matrix.shape[1])
    intercept = np.zeros(1)
    learned = np.asarray(labels, dtype=np.float64) if targets is None else np.asarray(targets, dtype=np.float64)
    for _ in range(matrix.shape[1]):
        model = soft_logistic(scaled[:, keep], learned, weights, c=c)
        coefficients = np.zeros(matrix.shape[1])
        coefficients[keep] = model.coef_[0]
        intercept = model.intercept_
        wrong = signed & (coefficients < 0)
        if not wrong.any():
            break
        keep &= ~wrong
    classify = LogisticRegression(C=c, max_iter=5000)
    classify.classes_ = np.asarray([False, True])
    classify.coef_ = coefficients[None, :]
    classify.intercept_ = np.asarray(intercept, dtype=np.float64)
    classify.n_features_in_ = matrix.shape[1]
    classify.n_iter_ = np.asarray([0], dtype=np.int32)
    return Pipeline([("scale", scaler), ("classify", classify)])


def source_weights(names: Sequence[str]) -> np.ndarray:
    """Sample weights giving every training source the same total weight (mean weight 1)."""
    counts = {name: names.count(name) for name in set(names)}
    weights = np.asarray([1.0 / counts[name] for name in names])
    return weights / weights.mean()


def fit_turn_model(items: Sequence[Scored]) -> tuple[Pipeline, dict[str, Any]]:
    """Fit on rated customer turns; give every rated conversation out-of-fold turn scores (by conversation)."""
    rated = [i for i, item in enumerate(items) if item.turn_labels is not None and (item.turn_labels >= 0).any()]
    if not rated:
        raise TrainingPlanError("no rated customer turns: the turn model needs a set with a turn_label")
    matrix = np.concatenate([items[i].turn_matrix for i in rated])
    labels = np.concatenate([items[i].turn_labels for i in rated])
    targets = np.concatenate([items[i].turn_targets for i in rated])
    groups = np.concatenate([np.full(len(items[i].turn_matrix), i) for i in rated])
    keep = labels >= 0
    out_of_fold = np.zeros(len(labels))
    for train, test in GroupKFold(5).split(matrix, labels, groups):
        train = train[keep[train]]
        out_of_fold[test] = fit_turn_pipeline(matrix[train], targets[train]).predict_proba(matrix[test])[:, 1]
    model = fit_turn_pipeline(matrix[keep], targets[keep])
    offset = 0
    for i in rated:
        count = len(items[i].turn_matrix)
        items[i].turn_scores = out_of_fold[offset : offset + count]
        offset += count
    for item in items:
        if item.turn_scores.shape[0] != len(item.turn_matrix):
            item.turn_scores = model.predict_proba(item.turn_matrix)[:, 1] if len(item.turn_matrix) else np.zeros(0)
    metrics = {
        "turns": int(keep.sum()),
        "dissatisfied_turns": int(labels[keep].sum()),
        "soft_targets": bool(np.any((targets[keep] > 0) & (targets[keep] < 1))),
        "out_of_fold_auroc": round(float(roc_auc_score(labels[keep], out_of_fold[keep])), 4),
    }
    return model, metrics


def conversation_matrix(
    items: Sequence[Scored], negative_threshold: float, margin: float, *, pooled: bool
) -> np.ndarray:
    """Conversation rows from each item's turn scores (out of fold where the item was in the turn training)."""
    rows = []
    for item in items:
        curve = [(t.turn.index, float(s)) for t, s in zip(item.context.customer_turns, item.turn_scores, strict=True)]
        path = trajectory(curve, apology_turns(item.artifacts), margin)
        rows.append(
            conversation_row(item.context, item.hits, item.turn_scores, path.delta, negative_threshold, pooled=pooled)
        )
    return np.stack(rows)


def best_threshold(
    labels: np.ndarray, scores: np.ndarray, beta: float = FLAG_BETA
) -> tuple[float, float, float, float]:
    """Threshold with the best F-beta on out-of-fold scores, with its precision, recall and F-beta.

    beta 0.5 weighs precision twice recall: a flag sends a conversation to a coach, and a flag on most
    conversations is no flag at all (best F1 flagged ~60% of the training conversations at a 25% base rate).
    """
    best = (0.5, 0.0, 0.0, 0.0)
    for threshold in np.unique(np.round(scores, 3)):
        predicted = scores >= threshold
        tp = int((predicted & labels).sum())
        if not tp:
            continue
        precision, recall = tp / int(predicted.sum()), tp / int(labels.sum())
        score = (1 + beta**2) * precision * recall / (beta**2 * precision + recall)
        if score > best[3]:
            best = (float(threshold), precision, recall, score)
    return best


def fit_conversation_model(
    items: Sequence[Scored], negative_threshold: float, margin: float, *, pooled: bool
) -> tuple[Pipeline, float, dict[str, Any]]:
    """Fit on labelled conversations (sources weighted equally); threshold and metrics from 5-fold out-of-fold."""
    labelled = [item for item in items if item.conversation_label is not None]
    if len({item.conversation_label for item in labelled}) < 2:
        raise TrainingPlanError("need conversations labelled both dissatisfied and not")
    matrix = conversation_matrix(labelled, negative_threshold, margin, pooled=pooled)
    labels = np.asarray([bool(item.conversation_label) for item in labelled])
    targets = np.asarray([float(item.conversation_target) for item in labelled])  # type: ignore[arg-type]
    names = [item.set_name for item in labelled]
    weights = source_weights(names)
    out_of_fold = np.zeros(len(labels))
    strata = [f"{name}:{label}" for name, label in zip(names, labels, strict=True)]
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(matrix, strata):
        model = fit_signed_logistic(matrix[train], labels[train], weights[train], pooled=pooled, targets=targets[train])
        out_of_fold[test] = model.predict_proba(matrix[test])[:, 1]
    threshold, precision, recall, f_beta = best_threshold(labels, out_of_fold)
    per_set = {}
    for name in sorted(set(names)):
        rows = np.asarray([n == name for n in names])
        if len(set(labels[rows])) == 2:
            per_set[name] = round(float(roc_auc_score(labels[rows], out_of_fold[rows])), 4)
    metrics = {
        "conversations": len(labels),
        "dissatisfied": int(labels.sum()),
        "out_of_fold_auroc": round(float(roc_auc_score(labels, out_of_fold)), 4),
        "out_of_fold_auroc_per_set": per_set,
        "threshold_precision": round(precision, 4),
        "threshold_recall": round(recall, 4),
        "threshold_f_beta": round(f_beta, 4),
        "threshold_flag_rate": round(float((out_of_fold >= threshold).mean()), 4),
    }
    return fit_signed_logistic(matrix, labels, weights, pooled=pooled, targets=targets), threshold, metrics


def train_dissatisfaction(
    plan: TrainingPlan,
    embedder: Embedder,
    *,
    pooled_embeddings: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DissatisfactionScorer:
    """Fit negativity on the seeds, the turn model on rated turns, the conversation model on labelled conversations."""
    say = progress or (lambda _text: None)
    say("seed utterances")
    seeds = SeedUtterances.load(plan.seeds, plan.labelled_turns)
    seed_vectors = embedder.encode([normalise_text(t) for t in seeds.negative + seeds.other])
    seed_labels = np.asarray([1] * len(seeds.negative) + [0] * len(seeds.other))
    negativity, negativity_metrics = fit_negativity(seed_vectors, seed_labels)
    repetition_threshold, repetition_accuracy = choose_repetition_threshold(embedder, seeds.repetition_pairs)
    metadata = DissatisfactionMetadata(
        embedder=embedder.name,
        threshold=0.5,
        negative_threshold=0.5,
        repetition_threshold=repetition_threshold,
        max_gap_seconds=MAX_GAP_SECONDS,
        trajectory_margin=DEFAULT_MARGIN,
        pooled_embeddings=pooled_embeddings,
        turn_features=list(TURN_FEATURES),
        conversation_features=list(CONVERSATION_FEATURES),
        trained_on="",
        created=date.today().isoformat(),
        versions={name: version(name) for name in ("scikit-learn", "skops", "numpy")}
        | {"python": platform.python_version()},
    )
    placeholder = Pipeline([("classify", LogisticRegression())])
    scorer = DissatisfactionScorer(
        {"negativity": negativity, "turn": placeholder, "conversation": placeholder}, metadata
    )
    builder = ArtifactBuilder(embedder)
    items: list[Scored] = []
    skipped: list[str] = []
    for labelled in plan.sets:
        if not labelled.path.exists():
            skipped.append(labelled.name)
            continue
        say(f"embedding {labelled.name}")
        conversations = load_training_conversations(labelled)
        items += prepare(scorer, labelled, builder.build_many(conversations))
    say("fitting the turn model")
    turn_model, turn_metrics = fit_turn_model(items)
    say("fitting the conversation model")
    conversation_model, threshold, conversation_metrics = fit_conversation_model(
        items, metadata.negative_threshold, metadata.trajectory_margin, pooled=pooled_embeddings
    )
    metadata.threshold = round(threshold, 4)
    counts = {s.name: sum(1 for item in items if item.set_name == s.name) for s in plan.sets}
    metadata.trained_on = f"{len(seeds.negative) + len(seeds.other)} seed utterances; " + ", ".join(
        f"{name} ({count} conversations)" for name, count in counts.items() if count
    )
    metadata.metrics = {
        "negativity_seeds": negativity_metrics | {"utterances": len(seed_labels)},
        "repetition_pairs": {"pairs": len(seeds.repetition_pairs), "accuracy": repetition_accuracy},
        "turn_model": turn_metrics,
        "conversation_model": conversation_metrics,
        "skipped_sets": skipped,
        "held_out": f"ids hashing into fold 0 of {HELD_OUT_FOLDS} (blake2b) are never trained on",
    }
    estimators = {"negativity": negativity, "turn": turn_model, "conversation": conversation_model}
    return DissatisfactionScorer(estimators, metadata)


def model_card(scorer: DissatisfactionScorer, plan_text: str = "", benchmark: str = "") -> str:
    """A short model card: what the three models are, what they were trained on, how they did out of fold."""
    meta = scorer.metadata
    metrics = meta.metrics
    turn, conversation = metrics["turn_model"], metrics["conversation_model"]
    coefficients = scorer.estimators["conversation"].named_steps["classify"].coef_[0]
    weights = "\n".join(
        f"| {name} | {value:+.3f} |" for name, value in zip(CONVERSATION_FEATURES, coefficients, strict=False)
    )
    per_set = ", ".join(f"{name} {value:.3f}" for name, value in conversation["out_of_fold_auroc_per_set"].items())
    return f"""# Dissatisfaction scorer

Three scikit-learn models over the **{meta.embedder}** embeddings of customer turns, stored with skops
(`DissatisfactionScorer.load(folder)`, explicit trusted-type list, never pickle):

1. **negativity**: logistic regression from a customer turn's embedding to P(unhappy stance), fitted on
   {metrics["negativity_seeds"]["utterances"]} customer utterances the project wrote (English, simplified and
   traditional Chinese, many service domains; `dissatisfaction-seeds.yaml`). C={metrics["negativity_seeds"]["C"]},
   5-fold accuracy on the seeds {metrics["negativity_seeds"]["cv_accuracy"]:.3f}. Fires the `negative` signal at
   {meta.negative_threshold}.
2. **turn**: standardised logistic regression from [{", ".join(TURN_BLOCKS)} embeddings;
   {", ".join(TURN_FEATURES)}] to P(customer dissatisfied at this turn), fitted on {turn["turns"]} rated
   customer turns ({turn["dissatisfied_turns"]} rated <= 2 by the majority){
        "; it learns the share of annotators who rated the turn <= 2" if turn.get("soft_targets") else ""
    }. The embedding blocks are regularised as if with C={TURN_EMBEDDING_C}, the named features with C={TURN_C}.
   Out-of-fold AUROC (by conversation, majority label): {turn["out_of_fold_auroc"]:.3f}. Opening turns score low:
   USS annotators rate how the service is going, and an opening request has had no service yet; an angry opener
   shows in its `negative`, `complaint` and `escalation` signals and in the conversation score instead.
3. **conversation**: standardised logistic regression over the named conversation features below (turn-score
   curve, negativity, signal counts, endings, recovery after the apology){
        " plus pooled embeddings" if meta.pooled_embeddings else ""
    }, fitted on {conversation["conversations"]} labelled conversations ({conversation["dissatisfied"]}
   dissatisfied; every source weighted equally), with turn scores predicted out of fold. Every oriented feature
   may only push towards "dissatisfied" (non-negative weight, active set), and the unsigned length/shape
   features ({", ".join(UNSIGNED_FEATURES)}) are {"free" if meta.pooled_embeddings else "left out"}: the
   training labels tie them to how long each corpus's dialogues are, which does not carry over to other data.
   Out-of-fold AUROC {conversation["out_of_fold_auroc"]:.3f} ({per_set}).

- Created: {meta.created}; versions: {", ".join(f"{k} {v}" for k, v in meta.versions.items())}
- Trained on: {meta.trained_on}. Skipped (absent) sets: {", ".join(metrics["skipped_sets"]) or "none"}.
  Labels: USS-MultiWOZ customer turns, the share of their 3-7 annotators who rated the turn <= 2 (one annotator
  predicts the others' mean rating <= 2.5 with AUROC ~0.65, so a majority label alone is noisy), and
  conversations, the share of annotators who rated the whole dialogue <= 2 (`overall_ratings`; "any turn <= 2",
  the data's `dissatisfied`, marks 41% of dialogues and is a weaker label); STAR's `dissatisfied` (annoyed, agent
  not calm/helpful, or a task answer false).
- Held out: {metrics["held_out"]}. STC-3 is never used for training (evaluation only).
- **Flag threshold {meta.threshold}**: the score with the best F0.5 (precision weighs twice recall: each flag
  costs a coach a review) on out-of-fold predictions for the training conversations: precision
  {conversation["threshold_precision"]:.3f}, recall {conversation["threshold_recall"]:.3f}, flags
  {conversation["threshold_flag_rate"]:.0%} of them.
  Probabilities are calibrated to the training data's base rate; on other data rank by score, or re-choose the
  threshold on a labelled sample.
- Repetition threshold {meta.repetition_threshold} (cosine to an earlier customer turn), chosen on
  {metrics["repetition_pairs"]["pairs"]} project-written pairs (accuracy {metrics["repetition_pairs"]["accuracy"]}).
- Long silence: more than {meta.max_gap_seconds:g} s before the agent answers. Trajectory margin
  {meta.trajectory_margin}.

## Conversation model weights (standardised features)

| feature | weight |
|---|---|
{weights}
{benchmark}
## Training plan

```yaml
{plan_text.strip()}
```
"""
