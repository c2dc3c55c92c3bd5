"""Train the shipped dissatisfaction model from training/dissatisfaction.yaml and write its model card.

Until the CLI wires ``train_dissatisfaction`` this is how auditor/models/dissatisfaction is made. With ``--evaluate``
the card also gets the benchmark table (STC-3 cross-domain and in-domain, held-out USS turns).

    python -m bench.dissatisfaction_train [--plan training/dissatisfaction.yaml] [--out DIR] [--evaluate]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from auditor.dissatisfaction.training import load_plan, model_card, train_dissatisfaction
from auditor.embeddings.provider import make_embedder
from auditor.model_files import DISSATISFACTION

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", type=Path, default=REPO / "training" / "dissatisfaction.yaml")
    parser.add_argument("--out", type=Path, default=DISSATISFACTION.folder())
    parser.add_argument("--evaluate", action="store_true", help="run the benchmark and put its table in the card")
    args = parser.parse_args()
    plan = load_plan(args.plan)
    embedder = make_embedder(plan.embedder)
    start = time.perf_counter()
    scorer = train_dissatisfaction(
        plan, embedder, progress=lambda text: print(f"[{time.perf_counter() - start:5.0f}s] {text}")
    )
    scorer.save(args.out, model_card(scorer, plan.text))
    print(json.dumps(scorer.metadata.metrics, indent=2))
    if args.evaluate:
        from bench.dissatisfaction_accuracy import run

        table = run(args.out, None, plan.embedder)
        print(table)
        section = (
            "\n## Evaluation on data it never trained on\n\n`python -m bench.dissatisfaction_accuracy`:\n\n"
            + table
            + "\n"
        )
        scorer.save(args.out, model_card(scorer, plan.text, section))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
