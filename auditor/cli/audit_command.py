"""`auditor audit`: audit transcripts against an SOP and write results and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import (
    EXIT_INPUT_PROBLEMS,
    STEP_MODEL_OPTION,
    anomaly_baseline,
    app,
    console,
    errors,
    make_auditor,
    progress_bar,
    resolve_sop_or_exit,
)


@app.command()
def audit(
    inputs: Annotated[
        list[Path], typer.Argument(help="Transcript files or folders (jsonl, json, csv, txt, vtt, srt).")
    ],
    sop: Annotated[str, typer.Option("--sop", help="Built-in SOP id (see `auditor sops`) or a path to an SOP file.")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for results.jsonl, agents.csv, steps.csv, report.html.")
    ] = Path("audit-out"),
    embedder: Annotated[
        str,
        typer.Option(help="Embedding backend: use-m (multilingual, default), minilm (English), hashing, or a folder."),
    ] = "use-m",
    batch_size: Annotated[int, typer.Option(min=1, help="Conversations embedded per batch.")] = 32,
    step_model: Annotated[str | None, STEP_MODEL_OPTION] = None,
) -> None:
    """Audit transcripts; write results.jsonl, agents.csv, steps.csv and report.html to --out."""
    from auditor.transcripts.loaders import load_inputs

    checked_sop = resolve_sop_or_exit(sop)
    loaded = load_inputs(inputs)
    for problem in loaded.problems:
        errors.print(f"[red]skipped[/red] {problem}", highlight=False, markup=True, soft_wrap=True)
    if not loaded.conversations:
        errors.print("[red]no conversation could be loaded[/red]")
        raise typer.Exit(EXIT_INPUT_PROBLEMS)
    # anomalies are scored once the whole audit is in (a large audit is its own baseline), not per batch
    auditor = make_auditor(checked_sop, embedder, step_model, anomalies=False)

    from auditor.reports.files import ResultsWriter

    results = []
    out.mkdir(parents=True, exist_ok=True)
    conversations = loaded.conversations
    with ResultsWriter(out / "results.jsonl") as writer, progress_bar() as progress:
        task = progress.add_task(f"auditing against {checked_sop.id}", total=len(conversations))
        for start in range(0, len(conversations), batch_size):
            batch = auditor.audit_many(conversations[start : start + batch_size])
            writer.write(batch)
            results.extend(batch)
            progress.advance(task, len(batch))

    results = _with_anomalies(conversations, results, out / "results.jsonl")
    _write_reports(out, results, {c.id: c for c in conversations}, checked_sop.name, [str(p) for p in loaded.problems])
    console.print(
        f"Wrote {len(results)} results to [bold]{out}[/bold] (results.jsonl, agents.csv, steps.csv, agent_steps.csv, "
        "report.html)"
    )
    if loaded.problems:
        errors.print(f"[yellow]{len(loaded.problems)} input problem(s); see above[/yellow]")
        raise typer.Exit(EXIT_INPUT_PROBLEMS)


def _with_anomalies(conversations, results, path: Path):  # type: ignore[no-untyped-def]
    """Score anomalies once every conversation is audited (a large audit is its own baseline), then rewrite
    results.jsonl with them; the file written batch by batch stays valid until the atomic replace."""
    from auditor.anomaly.attach import detector_for_batch, with_anomalies
    from auditor.reports.files import ResultsWriter

    detector = detector_for_batch(conversations, results, anomaly_baseline())
    if detector is None:
        return results
    results = with_anomalies(detector, conversations, results)
    partial = path.with_suffix(".jsonl.partial")
    with ResultsWriter(partial) as writer:
        writer.write(results)
    partial.replace(path)
    return results


def _write_reports(out, results, conversations, sop_name, problems) -> None:  # type: ignore[no-untyped-def]
    from auditor.anomaly.agent_steps import agent_step_deviations, flagged_deviations
    from auditor.reports.aggregates import summarise_agents, summarise_steps
    from auditor.reports.console import agents_table, deviations_table, flagged_table, steps_table
    from auditor.reports.files import write_agent_steps_csv, write_agents_csv, write_steps_csv
    from auditor.reports.html import render_report, write_report

    agents = summarise_agents(results)
    steps = summarise_steps(results)
    cells = agent_step_deviations(results)
    coach = flagged_deviations(cells)
    write_agents_csv(out / "agents.csv", agents)
    write_steps_csv(out / "steps.csv", steps)
    write_agent_steps_csv(out / "agent_steps.csv", cells)
    html = render_report(
        results,
        agents,
        steps,
        conversations,
        sop_name=sop_name,
        problems=problems,
        deviations=coach,
        deviation_cells=len(cells),
    )
    write_report(out / "report.html", html)
    passed = sum(r.passed for r in results)
    console.print(
        f"\n[bold]{sop_name}[/bold]: {len(results)} conversation{'s' if len(results) != 1 else ''}, {passed} passed "
        f"({passed / len(results):.0%}), mean score {sum(r.score for r in results) / len(results):.2f}"
    )
    console.print(agents_table(agents))
    console.print(steps_table(steps))
    if coach:
        console.print(deviations_table(coach, len(cells)))
    else:
        console.print(f"No agent misses a step significantly more than peers ({len(cells)} agent x step cells tested).")
    for table in (
        flagged_table(results, "dissatisfaction", "Most dissatisfied customers"),
        flagged_table(results, "anomaly", "Most unusual conversations"),
    ):
        if table is not None:
            console.print(table)
