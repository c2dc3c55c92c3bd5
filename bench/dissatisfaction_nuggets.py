"""Do STC-3's per-turn nugget labels, learned as an auxiliary task, lift the 5-fold in-domain AUROC? (issue 4; no)

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

    HF_HUB_OFFLINE=1 python -m bench.dissatisfaction_nuggets [--sets stc3_zh_dev stc3_en_dev] [--limit N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from unittest import mock

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, StratifiedKFold

from auditor.dissatisfaction import training
from auditor.dissatisfaction.features import CONVERSATION_FEATURES
from auditor.dissatisfaction.model import DEFAULT_MODEL_DIR, DissatisfactionScorer
from auditor.embeddings.provider import make_embedder
from auditor.text.artifacts import ArtifactBuilder, ConversationArtifacts
from auditor.transcripts.roles import Role
from bench.dissatisfaction_accuracy import auroc, in_domain, in_domain_matrix, load

NUGGETS = {True: ("CNUG*", "CNaN", "CNUG0"), False: ("HNUG*", "HNaN")}
"""Nugget kinds learned, for customer turns (True) and helpdesk turns (False)."""
GOAL_COLUMNS = [0, 3, 6, 8]
"""The CNUG* and HNUG* columns of ``nugget_rows`` (highest and last each)."""
ALPHA = 10.0

Turn = tuple[bool, np.ndarray, dict[str, float]]


def labelled_turns(artifacts: ConversationArtifacts) -> list[Turn]:
    """(is a customer turn, whole-turn vector, share of annotators per nugget kind) for every spoken turn."""
    first: dict[int, int] = {}
    for row, turn_index in enumerate(artifacts.unit_turn.tolist()):
        first.setdefault(turn_index, row)
    turns = []
    for spoken in artifacts.turns:
        votes = spoken.turn.extra.get("nugget_votes") or {}
        total = sum(votes.values()) or 1
        shares = {kind: count / total for kind, count in votes.items()}
        turns.append((spoken.turn.role is Role.CUSTOMER, artifacts.unit_vectors[first[spoken.turn.index]], shares))
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


def with_nuggets(
    matrix: np.ndarray, labels: np.ndarray, targets: np.ndarray, turns: list[list[Turn]], columns: list[int]
) -> float:
    named = len(CONVERSATION_FEATURES)
    predicted = np.zeros(len(labels))
    extended = CONVERSATION_FEATURES + tuple(f"nugget_{c}" for c in columns)
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(matrix, labels):
        inner = np.zeros((len(train), 10))
        for fit_rows, predict_rows in KFold(5, shuffle=True, random_state=1).split(train):
            models = fit_nuggets([turns[i] for i in train[fit_rows]])
            inner[predict_rows] = nugget_rows(models, [turns[i] for i in train[predict_rows]])
        outer = nugget_rows(fit_nuggets([turns[i] for i in train]), [turns[i] for i in test])
        train_matrix = np.hstack([matrix[train][:, :named], -inner[:, columns], matrix[train][:, named:]])
        test_matrix = np.hstack([matrix[test][:, :named], -outer[:, columns], matrix[test][:, named:]])
        with mock.patch.object(training, "CONVERSATION_FEATURES", extended):
            model = training.fit_signed_logistic(train_matrix, labels[train], pooled=True, targets=targets[train])
        predicted[test] = model.predict_proba(test_matrix)[:, 1]
    return auroc(labels, predicted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["stc3_zh_dev", "stc3_en_dev"])
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    scorer = DissatisfactionScorer.load(DEFAULT_MODEL_DIR)
    builder = ArtifactBuilder(make_embedder("use-m"))
    print("| data | 5-fold in-domain, as shipped | + goal nuggets (CNUG*, HNUG*) | + all five nugget kinds |")
    print("|---|---|---|---|")
    for name in args.sets:
        start = time.perf_counter()
        artifacts = builder.build_many(load(name, args.limit))
        matrix, labels, targets = in_domain_matrix(scorer, artifacts, pooled=True)
        turns = [labelled_turns(a) for a in artifacts]
        base = in_domain(matrix, labels, targets, pooled=True)
        goal = with_nuggets(matrix, labels, targets, turns, GOAL_COLUMNS)
        every = with_nuggets(matrix, labels, targets, turns, list(range(10)))
        print(f"| {name} | {base:.3f} | {goal:.3f} | {every:.3f} |  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
