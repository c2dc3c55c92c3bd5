"""Dissatisfaction accuracy: conversation AUROC on STC-3 (zh, en) and turn AUROC on held-out USS-MultiWOZ.

Rows, all in one run on the same conversations:
- **shipped (cross-domain)**: the model in models/dissatisfaction, which never saw STC-3.
- **5-fold in-domain**: the conversation model refitted on STC-3 folds (stratified, seed 0) over the same named
  features plus pooled embeddings; the negativity and turn models stay the shipped ones.
- **embeddings only**: logistic regression on customer-turn USE vectors (mean, max, last), 5-fold, the
  reference from FINDINGS.md.
- **lexicon baselines**: VADER (en) most negative compound, snownlp (zh) lowest positive probability over the
  customer turns. They are not project dependencies: install them into the venv to get these rows
  (``pip install vaderSentiment snownlp``); otherwise the bench prints "baseline skipped".
USS-MultiWOZ rows use only conversations in the held-out fold (never trained on); a turn is positive when its
majority rating is <= 2.

    python -m bench.dissatisfaction_accuracy [--model models/dissatisfaction] [--limit N] [--write]

The model comes from ``python -m bench.dissatisfaction_train`` (or the CLI command the engine wires to
``train_dissatisfaction``).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from auditor.dissatisfaction.features import CONVERSATION_FEATURES
from auditor.dissatisfaction.model import DEFAULT_MODEL_DIR, DissatisfactionOutcome, DissatisfactionScorer
from auditor.dissatisfaction.training import (
    LabelledSet,
    conversation_matrix,
    fit_signed_logistic,
    is_held_out,
    prepare,
    score_turns,
)
from auditor.embeddings.provider import make_embedder
from auditor.text.artifacts import ArtifactBuilder, ConversationArtifacts
from auditor.transcripts.conversation import Conversation
from auditor.transcripts.loaders import load_file
from auditor.transcripts.roles import Role
from bench.report import replace_section

EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"
TARGETS = {"in_domain": 0.93, "cross_domain": 0.85, "uss_turn": 0.85}
SKIPPED = "baseline skipped: package not installed"


def auroc(labels: np.ndarray | list[bool], scores: np.ndarray | list[float]) -> float:
    return float(roc_auc_score(np.asarray(labels), np.asarray(scores)))


def load(name: str, limit: int | None, *, held_out_only: bool = False) -> list[Conversation]:
    conversations = load_file(EXTERNAL / f"{name}.jsonl").conversations
    if held_out_only:
        conversations = [c for c in conversations if is_held_out(c.id)]
    return conversations[:limit] if limit else conversations


def customer_texts(conversation: Conversation) -> list[str]:
    return [t.text for t in conversation.turns if t.role is Role.CUSTOMER and t.text.strip()] or [""]


def vader_scorer():  # type: ignore[no-untyped-def]
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyzer = SentimentIntensityAnalyzer()
    return lambda text: -analyzer.polarity_scores(text)["compound"]


def snownlp_scorer():  # type: ignore[no-untyped-def]
    try:
        from snownlp import SnowNLP
    except ImportError:
        return None
    return lambda text: 1.0 - SnowNLP(text).sentiments if text.strip() else 0.5


def lexicon_auroc(conversations: list[Conversation], labels: np.ndarray, lang: str) -> str:
    """Most negative customer turn per conversation, by VADER (en) or snownlp (zh)."""
    negativity = vader_scorer() if lang == "en" else snownlp_scorer()
    if negativity is None:
        return SKIPPED
    scores = [max(negativity(text) for text in customer_texts(c)) for c in conversations]
    return f"{auroc(labels, scores):.3f}"


def embeddings_only(artifacts: list[ConversationArtifacts], labels: np.ndarray) -> float:
    """FINDINGS.md's reference: LR on customer-turn vectors (mean, max, last), 5-fold."""
    rows = []
    for item in artifacts:
        first = {}
        for row, turn_index in enumerate(item.unit_turn.tolist()):
            first.setdefault(turn_index, row)
        vectors = [item.unit_vectors[first[t.turn.index]] for t in item.by_role(Role.CUSTOMER)]
        stacked = np.stack(vectors) if vectors else np.zeros((1, item.unit_vectors.shape[1]))
        rows.append(np.concatenate([stacked.mean(0), stacked.max(0), stacked[-1]]))
    matrix = np.stack(rows)
    predicted = np.zeros(len(labels))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(matrix, labels):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.0005, max_iter=3000))
        predicted[test] = model.fit(matrix[train], labels[train]).predict_proba(matrix[test])[:, 1]
    return auroc(labels, predicted)


def in_domain_matrix(
    scorer: DissatisfactionScorer, artifacts: list[ConversationArtifacts], *, pooled: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Conversation rows (shipped negativity and turn models) and labels, for refitting the conversation model."""
    items = prepare(scorer, LabelledSet("in-domain", Path("."), conversation_label="dissatisfied"), artifacts)
    score_turns(scorer, items)
    meta = scorer.metadata
    matrix = conversation_matrix(items, meta.negative_threshold, meta.trajectory_margin, pooled=pooled)
    return matrix, np.asarray([bool(item.conversation_label) for item in items])


def in_domain(matrix: np.ndarray, labels: np.ndarray, *, pooled: bool) -> float:
    """Refit only the conversation model on 4/5 of the data, score the fifth; AUROC over all folds."""
    predicted = np.zeros(len(labels))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(matrix, labels):
        model = fit_signed_logistic(matrix[train], labels[train], pooled=pooled)
        predicted[test] = model.predict_proba(matrix[test])[:, 1]
    return auroc(labels, predicted)


def dialogue_key(conversation_id: str) -> str:
    """STC-3 ids end in the source dialogue's number, shared by a Chinese dialogue and its English translation."""
    return conversation_id.rsplit("_", 1)[-1]


def in_domain_both_languages(runs: dict[str, tuple[np.ndarray, np.ndarray, list[str]]]) -> dict[str, float]:
    """5 folds over dialogues (a dialogue and its translation share a fold), trained on zh and en together."""
    keys = sorted({dialogue_key(i) for _, _, ids in runs.values() for i in ids})
    fold = dict(zip(keys, np.random.RandomState(0).randint(0, 5, len(keys)).tolist(), strict=True))
    results = {}
    for name, (matrix, labels, ids) in runs.items():
        folds = np.asarray([fold[dialogue_key(i)] for i in ids])
        predicted = np.zeros(len(labels))
        for k in range(5):
            train_rows = [
                (m[[fold[dialogue_key(i)] != k for i in other_ids]], y[[fold[dialogue_key(i)] != k for i in other_ids]])
                for m, y, other_ids in runs.values()
            ]
            model = fit_signed_logistic(
                np.vstack([m for m, _ in train_rows]), np.concatenate([y for _, y in train_rows]), pooled=True
            )
            predicted[folds == k] = model.predict_proba(matrix[folds == k])[:, 1]
        results[name] = auroc(labels, predicted)
    return results


def flag_quality(outcomes: list[DissatisfactionOutcome], labels: np.ndarray) -> str:
    flagged = np.asarray([o.block.flagged for o in outcomes])
    tp = int((flagged & labels).sum())
    precision = tp / flagged.sum() if flagged.any() else 0.0
    recall = tp / labels.sum() if labels.any() else 0.0
    return f"flags {flagged.mean():.0%} (precision {precision:.2f}, recall {recall:.2f}, base rate {labels.mean():.0%})"


def trajectory_line(outcomes: list[DissatisfactionOutcome], labels: np.ndarray) -> str:
    parts = []
    for value, name in ((True, "dissatisfied"), (False, "satisfied")):
        kinds = Counter(o.trajectory.kind for o, label in zip(outcomes, labels, strict=True) if label == value)
        total = sum(kinds.values()) or 1
        parts.append(f"{name}: " + ", ".join(f"{k} {kinds[k] / total:.0%}" for k in ("recovered", "flat", "worsened")))
    return "; ".join(parts)


def stc3_rows(
    scorer: DissatisfactionScorer, builder: ArtifactBuilder, limit: int | None
) -> tuple[list[str], list[str]]:
    rows, notes = [], []
    pooled_runs: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}
    for name, lang in (("stc3_zh_dev", "zh"), ("stc3_en_dev", "en")):
        conversations = load(name, limit)
        start = time.perf_counter()
        artifacts = builder.build_many(conversations)
        outcomes = scorer.score_many(artifacts)
        seconds = time.perf_counter() - start
        labels = np.asarray([bool(c.metadata.get("dissatisfied")) for c in conversations])
        shipped = auroc(labels, [o.block.score for o in outcomes])
        pooled_matrix, _ = in_domain_matrix(scorer, artifacts, pooled=True)
        pooled_runs[name] = (pooled_matrix, labels, [c.id for c in conversations])
        pooled = in_domain(pooled_matrix, labels, pooled=True)
        named = in_domain(pooled_matrix[:, : len(CONVERSATION_FEATURES)], labels, pooled=False)
        reference = embeddings_only(artifacts, labels)
        lexicon = lexicon_auroc(conversations, labels, lang)
        rows += [
            f"| {name} | {len(labels)} | shipped model, never saw STC-3 (cross-domain) | {shipped:.3f} | "
            f">= {TARGETS['cross_domain']} |",
            f"| {name} | {len(labels)} | 5-fold in-domain: named features + pooled embeddings | {pooled:.3f} | "
            f">= {TARGETS['in_domain']} |",
            f"| {name} | {len(labels)} | 5-fold in-domain: named features only | {named:.3f} | |",
            f"| {name} | {len(labels)} | 5-fold in-domain: embeddings only (mean, max, last) | {reference:.3f} | |",
            f"| {name} | {len(labels)} | lexicon: {'VADER' if lang == 'en' else 'snownlp'} most negative turn | "
            f"{lexicon} | |",
        ]
        notes.append(f"- {name}: shipped threshold {scorer.threshold}: {flag_quality(outcomes, labels)}")
        notes.append(f"- {name}: trajectory {trajectory_line(outcomes, labels)}")
        notes.append(f"- {name}: {seconds:.0f} s to build artifacts and score {len(labels)} conversations")
    for name, value in in_domain_both_languages(pooled_runs).items():
        rows.append(
            f"| {name} | {len(pooled_runs[name][1])} | 5-fold in-domain, zh + en trained together (folds by "
            f"dialogue, a translation never crosses folds) | {value:.3f} | >= {TARGETS['in_domain']} |"
        )
    return rows, notes


def rated_turn_scores(
    conversations: Sequence[Conversation], outcomes: Sequence[DissatisfactionOutcome]
) -> tuple[list[bool], list[float], list[str]]:
    """For every customer turn with a USS rating and a score: (rated <= 2, its score, its text)."""
    labels, scores, texts = [], [], []
    for conversation, outcome in zip(conversations, outcomes, strict=True):
        by_turn = {t.turn_index: t.score for t in outcome.block.turns}
        for turn in conversation.turns:
            rating = turn.extra.get("satisfaction")
            if turn.role is Role.CUSTOMER and isinstance(rating, int) and turn.index in by_turn:
                labels.append(rating <= 2)
                scores.append(by_turn[turn.index])
                texts.append(turn.text)
    return labels, scores, texts


def uss_rows(scorer: DissatisfactionScorer, builder: ArtifactBuilder, limit: int | None) -> list[str]:
    conversations = load("uss_mwoz", limit, held_out_only=True)
    outcomes = scorer.score_many(builder.build_many(conversations))
    turn_labels, turn_scores, texts = rated_turn_scores(conversations, outcomes)
    conversation_labels = np.asarray([bool(c.metadata.get("dissatisfied")) for c in conversations])
    vader = vader_scorer()
    vader_auroc = f"{auroc(turn_labels, [vader(t) for t in texts]):.3f}" if vader else SKIPPED
    count = f"{len(conversations)} conv / {len(turn_labels)} turns"
    return [
        f"| uss_mwoz held-out turns | {count} | shipped model, turn score | {auroc(turn_labels, turn_scores):.3f} | "
        f">= {TARGETS['uss_turn']} |",
        f"| uss_mwoz held-out turns | {count} | lexicon: VADER compound | {vader_auroc} | |",
        f"| uss_mwoz held-out conversations | {len(conversations)} | shipped model (label: any turn <= 2) | "
        f"{auroc(conversation_labels, [o.block.score for o in outcomes]):.3f} | |",
    ]


HEADER = "| data | n | model | AUROC | target |\n|---|---|---|---|---|"


def run(model: Path, limit: int | None, backend: str = "use-m") -> str:
    scorer = DissatisfactionScorer.load(model)
    embedder = make_embedder(backend)
    scorer.check_embedder(embedder.name)
    builder = ArtifactBuilder(embedder)
    start = time.perf_counter()
    rows, notes = stc3_rows(scorer, builder, limit)
    rows += uss_rows(scorer, builder, limit)
    notes.append(f"- total {time.perf_counter() - start:.0f} s; model: {scorer.summary}")
    if limit:
        notes.append(f"- limited to the first {limit} conversations of each file")
    return "\n".join([HEADER, *rows]) + "\n\n" + "\n".join(notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--embedder", default="use-m", help="the backend the model was trained with")
    parser.add_argument("--limit", type=int, default=None, help="first N conversations of each file")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    text = run(args.model, args.limit, args.embedder)
    print(text)
    if args.write:
        replace_section("dissatisfaction", "python -m bench.dissatisfaction_accuracy --write", text)


if __name__ == "__main__":
    main()
