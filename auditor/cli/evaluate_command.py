"""`auditor evaluate`: step detection measured against gold labels."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.common import (
    EXIT_INPUT_PROBLEMS,
    EXIT_USAGE,
    STEP_MODEL_OPTION,
    app,
    console,
    errors,
    make_auditor,
    progress_bar,
    resolve_sop_or_exit,
)

if TYPE_CHECKING:
    from auditor.evaluation.skipped_steps import SkipMetrics
    from auditor.evaluation.step_metrics import StepMetrics


@app.command()
def evaluate(
    inputs: Annotated[list[Path], typer.Argument(help="Gold-labelled transcripts (files or folders).")],
    sop: Annotated[str, typer.Option("--sop", help="Built-in SOP id or a path to an SOP file.")],
    label_field: Annotated[
        str, typer.Option(help="Turn field holding gold labels: 'steps' (a list) or e.g. STAR's 'action_label'.")
    ] = "steps",
    label_map: Annotated[
        Path | None, typer.Option(help="YAML/JSON mapping of label -> step id (null drops a label).")
    ] = None,
    skipped: Annotated[bool, typer.Option(help="Also measure skipped-step detection (re-audits).")] = True,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON here.")] = None,
    embedder: Annotated[str, typer.Option(help="Embedding backend (see `auditor audit --help`).")] = "use-m",
    step_model: Annotated[str | None, STEP_MODEL_OPTION] = None,
) -> None:
    """Measure step detection against gold labels: per-step precision / recall / F1 and skipped-step detection."""
    import json

    from auditor.evaluation.gold_labels import LabelMapError, has_gold, load_label_map, with_gold_from_field
    from auditor.evaluation.skipped_steps import measure_skipped_steps
    from auditor.evaluation.step_metrics import score_results
    from auditor.evaluation.summary import evaluation_json, evaluation_table
    from auditor.transcripts.loaders import load_inputs

    checked_sop = resolve_sop_or_exit(sop)
    try:
        mapping = load_label_map(label_map) if label_map else None
    except LabelMapError as error:
        errors.print(str(error), markup=False)
        raise typer.Exit(EXIT_USAGE) from error
    loaded = load_inputs(inputs)
    for problem in loaded.problems:
        errors.print(f"[red]skipped[/red] {problem}", highlight=False)
    conversations = loaded.conversations
    if label_field != "steps" or mapping is not None:
        conversations = [with_gold_from_field(c, label_field, mapping) for c in conversations]
    labelled = [c for c in conversations if has_gold(c)]
    if not labelled:
        errors.print(f"[red]no conversation carries gold labels in '{label_field}'[/red]")
        raise typer.Exit(EXIT_INPUT_PROBLEMS)
    auditor = make_auditor(checked_sop, embedder, step_model)
    with progress_bar() as progress:
        task = progress.add_task("auditing", total=len(labelled))
        results = []
        for start in range(0, len(labelled), 32):
            results += auditor.audit_many(labelled[start : start + 32])
            progress.advance(task, min(32, len(labelled) - start))
        skips = None
        if skipped:
            progress.add_task("re-auditing with each performed step removed", total=None)
            skips = measure_skipped_steps(auditor, labelled)
    metrics = score_results(zip(labelled, results, strict=True), [step.id for step in checked_sop.steps])
    console.print(evaluation_table(metrics, skips, f"{checked_sop.name}: {len(labelled)} labelled conversations"))
    if metrics.status_total:
        console.print(f"verdict accuracy against gold_statuses: {metrics.status_accuracy:.3f}")
    console.print(_uncertain_line(metrics, skips))
    if json_out:
        payload = evaluation_json(
            metrics, skips, sop_id=checked_sop.id, conversations=len(labelled), models=auditor.models
        )
        json_out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(f"Wrote {json_out}")
    if loaded.problems:
        raise typer.Exit(EXIT_INPUT_PROBLEMS)


def _uncertain_line(metrics: StepMetrics, skips: SkipMetrics | None) -> str:
    """How many verdicts the auditor left to a person: undecided, so neither done nor missing in the figures."""
    line = f"uncertain (left out of the figures, neither done nor missing): {metrics.uncertain_total} step verdict(s)"
    if skips:
        total = skips.overall()
        line += (
            f"; in the skipped-step re-audits {total.uncertain_removed} of {total.removed} removed steps and "
            f"{total.uncertain_intact} of {total.intact} intact ones"
        )
    return line
