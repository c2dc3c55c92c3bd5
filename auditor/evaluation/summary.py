"""Evaluation results as a rich table and as JSON: per step and overall, turn and conversation level, skips."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from auditor.evaluation.skipped_steps import SkipCounts, SkipMetrics
from auditor.evaluation.step_metrics import Counts, StepMetrics

OVERALL = "(all steps)"


def _prf(counts: Counts) -> dict[str, float | int]:
    return {
        "precision": round(counts.precision, 4),
        "recall": round(counts.recall, 4),
        "f1": round(counts.f1, 4),
        "tp": counts.tp,
        "fp": counts.fp,
        "fn": counts.fn,
    }


def evaluation_json(metrics: StepMetrics, skips: SkipMetrics | None, **context: Any) -> dict[str, Any]:
    """Everything the evaluation measured, machine-readable."""
    steps: dict[str, Any] = {}
    for step_id, turn in metrics.turn.items():
        steps[step_id] = {
            "turn": _prf(turn),
            "conversation": _prf(metrics.conversation[step_id]),
            "uncertain": metrics.uncertain[step_id],
        }
        if skips and step_id in skips.per_step:
            steps[step_id]["skipped"] = _skipped(skips.per_step[step_id])
    overall: dict[str, Any] = {
        "turn": _prf(metrics.overall("turn")),
        "conversation": _prf(metrics.overall("conversation")),
        "uncertain": metrics.uncertain_total,
    }
    if metrics.status_total:
        overall["verdict_accuracy"] = round(metrics.status_accuracy, 4)
    if skips:
        overall["skipped"] = _skipped(skips.overall())
    return {**context, "overall": overall, "steps": steps}


def _skipped(s: SkipCounts) -> dict[str, Any]:
    return {
        "recall": round(s.recall, 4),
        "false_missing_rate": round(s.false_missing_rate, 4),
        "removed": s.removed,
        "intact": s.intact,
        "uncertain_removed": s.uncertain_removed,
        "uncertain_intact": s.uncertain_intact,
    }


def evaluation_table(metrics: StepMetrics, skips: SkipMetrics | None, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("step", overflow="fold", min_width=12, ratio=1)
    for column in ("turn\nP", "turn\nR", "turn\nF1", "conv\nP", "conv\nR", "conv\nF1"):
        table.add_column(column, justify="right", no_wrap=True)
    uncertain = metrics.uncertain_total > 0
    if uncertain:
        table.add_column("un-\ncertain", justify="right", no_wrap=True)
    if skips:
        table.add_column("skip\nrecall", justify="right", no_wrap=True)
        table.add_column("false\nmissing", justify="right", no_wrap=True)
    rows = [
        (step_id, metrics.turn[step_id], metrics.conversation[step_id], skips.per_step.get(step_id) if skips else None)
        for step_id in metrics.turn
    ]
    rows.append((OVERALL, metrics.overall("turn"), metrics.overall("conversation"), skips.overall() if skips else None))
    for step_id, turn, conv, skip in rows:
        cells = [
            f"{turn.precision:.2f}",
            f"{turn.recall:.2f}",
            f"{turn.f1:.2f}",
            f"{conv.precision:.2f}",
            f"{conv.recall:.2f}",
            f"{conv.f1:.2f}",
        ]
        if uncertain:
            cells.append(str(metrics.uncertain_total if step_id == OVERALL else metrics.uncertain[step_id]))
        if skips:
            cells += [
                f"{skip.recall:.2f}" if skip and skip.removed else "-",
                f"{skip.false_missing_rate:.1%}" if skip and skip.intact else "-",
            ]
        table.add_row(step_id, *cells, style="bold" if step_id == OVERALL else "")
    if uncertain:
        table.caption = (
            "uncertain: conversations where the auditor left the step to a person; they are left out of P/R/F1 "
            "(neither detected nor missed)"
        )
    return table
