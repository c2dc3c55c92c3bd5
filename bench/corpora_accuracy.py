"""Step-detection and verdict accuracy on the project's gold-labelled corpora, per SOP, language and backend.

Prints tables and, with --write, puts them into docs/benchmarks.md between markers. Description-only rows
use the same SOPs with examples and keywords removed (what a QA lead writes first). Each backend runs with
its default step scorer (the trained one in auditor/models/ when it matches), and the first backend once more with
the fitted linear calibration for comparison. The trained scorer saw these corpora in training: its
held-out (leave-one-SOP-out) figures are in auditor/models/step-scorer/model_card.md and the STAR benchmark.

    python -m bench.corpora_accuracy [--backends use-m minilm] [--write]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from auditor.auditor import Auditor
from auditor.detection.scorers import choose_scorer
from auditor.embeddings.provider import make_embedder
from auditor.evaluation.step_metrics import StepMetrics, score_results
from auditor.training.pairs import description_only
from bench.corpora_data import builtin, corpora_by_sop
from bench.report import replace_section

LANGUAGES = {"use-m": ("en", "zh-Hans", "zh-Hant"), "minilm": ("en",)}


def corpus_lang(conversation_id: str) -> str:
    return {"en": "en", "zhs": "zh-Hans", "zht": "zh-Hant"}[conversation_id.split("-")[0]]


def measure(backend: str, step_model: str | None) -> tuple[list[str], dict[str, list[str]]]:
    embedder = make_embedder(backend)
    scorer = choose_scorer(embedder.name, step_model)
    label = f"{backend}, {scorer.name}"
    rows: list[str] = []
    per_step: dict[str, list[str]] = defaultdict(list)
    for variant in ("examples", "description-only"):
        by_lang: dict[str, list] = defaultdict(list)
        start = time.perf_counter()
        count = 0
        for sop_id, conversations in sorted(corpora_by_sop(LANGUAGES[backend]).items()):
            sop = builtin(sop_id) if variant == "examples" else description_only(builtin(sop_id))
            auditor = Auditor(sop, embedder, scorer=scorer)
            results = auditor.audit_many(conversations)
            count += len(results)
            for conversation, result in zip(conversations, results, strict=True):
                by_lang[corpus_lang(conversation.id)].append((conversation, result))
                by_lang["all"].append((conversation, result))
            if variant == "examples":
                metrics = score_results(zip(conversations, results, strict=True))
                per_step[sop_id] = step_lines(metrics)
        seconds = time.perf_counter() - start
        for lang, pairs in by_lang.items():
            metrics = score_results(pairs)
            turn, conv = metrics.overall("turn"), metrics.overall("conversation")
            rows.append(
                f"| {label} | {variant} | {lang} | {len(pairs)} | {turn.precision:.3f} | {turn.recall:.3f} | "
                f"{turn.f1:.3f} | {conv.precision:.3f} | {conv.recall:.3f} | {conv.f1:.3f} | "
                f"{metrics.status_accuracy:.3f} |"
            )
        rows.append(f"| {label} | {variant} | (time) | {count} | {seconds:.1f} s incl. model load | | | | | | |")
    return rows, per_step


def step_lines(metrics: StepMetrics) -> list[str]:
    lines = []
    for step_id, turn in metrics.turn.items():
        conv = metrics.conversation[step_id]
        lines.append(
            f"| {step_id} | {turn.precision:.2f} | {turn.recall:.2f} | {conv.precision:.2f} | {conv.recall:.2f} |"
        )
    return lines


HEADER = (
    "| backend, step scorer | SOP variant | corpus | conversations | turn P | turn R | turn F1 | conv P | conv R "
    "| conv F1 "
    "| verdict accuracy |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["use-m", "minilm"])
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    table = [HEADER]
    steps_text = []
    runs = [(backend, None) for backend in args.backends] + [(args.backends[0], "linear")]
    for backend, step_model in runs:
        rows, per_step = measure(backend, step_model)
        table += rows
        if backend == args.backends[0] and step_model is None:
            for sop_id, lines in per_step.items():
                steps_text.append(
                    f"\n**{sop_id}** ({backend}, SOP with examples)\n\n| step | turn P | turn R | conv P | conv R |\n"
                    "|---|---|---|---|---|\n" + "\n".join(lines)
                )
    text = "\n".join(table) + "\n\nPer step:\n" + "\n".join(steps_text)
    print(text)
    if args.write:
        replace_section("corpora-accuracy", "python -m bench.corpora_accuracy --write", text)


if __name__ == "__main__":
    main()
