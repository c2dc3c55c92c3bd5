"""Fit the anomaly detector on a deployment's own audited conversations (``auditor train-anomaly``-like entry).

The baseline is what "normal" means, so the best baseline is the team's own recent conversations: audit them
(``auditor audit calls/ --sop ID --out out/``), then fit on ``out/results.jsonl`` joined with the transcripts by
conversation id. The dissatisfaction score is taken from each result's ``dissatisfaction`` block when present.

    python -m auditor.anomaly.training out/results.jsonl --transcripts calls/ --out auditor/models/anomaly
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from auditor.anomaly.detector import AnomalyDetector, fit_anomaly_detector, model_card
from auditor.anomaly.features import conversation_features
from auditor.conversation import Conversation
from auditor.model_files import ANOMALY
from auditor.result import ConversationResult
from auditor.results_file import iter_results

DEFAULT_OUT = ANOMALY.folder()
"""Where a trained baseline goes unless told: the shipped one."""


def feature_rows(
    conversations: Iterable[Conversation], results: Iterable[ConversationResult]
) -> tuple[list[dict[str, float]], list[str]]:
    """Features of every result whose conversation is known, joined by id; also the ids of unmatched results."""
    by_id = {conversation.id: conversation for conversation in conversations}
    rows: list[dict[str, float]] = []
    unmatched: list[str] = []
    for result in results:
        conversation = by_id.get(result.conversation_id)
        if conversation is None:
            unmatched.append(result.conversation_id)
            continue
        dissatisfaction = result.dissatisfaction.score if result.dissatisfaction is not None else None
        rows.append(conversation_features(conversation, result, dissatisfaction_score=dissatisfaction))
    return rows, unmatched


def read_results(paths: Iterable[Path]) -> list[ConversationResult]:
    """Read ``results.jsonl`` files written by ``auditor audit`` (a bad line raises ``ResultLineError`` naming it)."""
    results: list[ConversationResult] = []
    for path in paths:
        results.extend(iter_results(Path(path)))
    return results


def train_from_audit(
    results_files: Sequence[Path], transcripts: Sequence[Path], out: Path = DEFAULT_OUT
) -> tuple[AnomalyDetector, list[str]]:
    """Fit on audited conversations, save to ``out`` with a model card; returns the detector and unmatched ids."""
    from auditor.transcripts.loaders import load_inputs

    loaded = load_inputs(list(transcripts))
    results = read_results(results_files)
    rows, unmatched = feature_rows(loaded.conversations, results)
    sources = ", ".join(str(path) for path in results_files)
    detector = fit_anomaly_detector(rows, trained_on=f"audited conversations from {sources}")
    detector.save(out, model_card(detector))
    return detector, unmatched


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, help="results.jsonl files written by `auditor audit`")
    parser.add_argument("--transcripts", nargs="+", type=Path, required=True, help="the audited transcripts")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the model and its card")
    args = parser.parse_args(argv)
    try:
        detector, unmatched = train_from_audit(args.results, args.transcripts, args.out)
    except ValueError as error:
        sys.stderr.write(f"cannot fit the anomaly detector: {error}\n")
        return 1
    if unmatched:
        sys.stderr.write(f"{len(unmatched)} results had no transcript (first: {unmatched[0]}); left out\n")
    meta = detector.metadata
    sys.stdout.write(
        f"Fitted on {meta.n_baseline} conversations, {len(meta.feature_names)} features modelled;"
        f" wrote {args.out} (model, metadata.json, model_card.md)\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
