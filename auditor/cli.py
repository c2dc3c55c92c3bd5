"""The ``auditor`` command line: audit transcripts against an SOP, list and check SOPs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from auditor.sop.loading import SopError, builtin_sop_paths, load_sop, resolve_sop

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

app = typer.Typer(
    help="Audit customer-service conversations against SOP checklists (English and Chinese).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)

EXIT_INPUT_PROBLEMS = 1
EXIT_USAGE = 2
STEP_MODEL_OPTION = typer.Option(
    "--step-model",
    help="Step scorer: a folder made by `auditor train`, or 'linear' for the fitted calibration. "
    "Default: models/step-scorer when it matches the embedder.",
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

    checked_sop = _resolve_sop_or_exit(sop)
    loaded = load_inputs(inputs)
    for problem in loaded.problems:
        errors.print(f"[red]skipped[/red] {problem}", highlight=False, markup=True, soft_wrap=True)
    if not loaded.conversations:
        errors.print("[red]no conversation could be loaded[/red]")
        raise typer.Exit(EXIT_INPUT_PROBLEMS)
    # anomalies are scored once the whole audit is in (a large audit is its own baseline), not per batch
    auditor = _make_auditor(checked_sop, embedder, step_model, anomalies=False)

    from auditor.reports.files import ResultsWriter

    results = []
    out.mkdir(parents=True, exist_ok=True)
    conversations = loaded.conversations
    with ResultsWriter(out / "results.jsonl") as writer, _progress() as progress:
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

    detector = detector_for_batch(conversations, results, _anomaly_baseline())
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

    checked_sop = _resolve_sop_or_exit(sop)
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
    auditor = _make_auditor(checked_sop, embedder, step_model)
    with _progress() as progress:
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
    if json_out:
        payload = evaluation_json(
            metrics, skips, sop_id=checked_sop.id, conversations=len(labelled), models=auditor.models
        )
        json_out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(f"Wrote {json_out}")
    if loaded.problems:
        raise typer.Exit(EXIT_INPUT_PROBLEMS)


@app.command()
def sops() -> None:
    """List the built-in SOPs."""
    table = Table(title="Built-in SOPs", title_justify="left")
    table.add_column("id", no_wrap=True, style="bold")
    table.add_column("name")
    table.add_column("version", justify="right")
    table.add_column("steps")
    table.add_column("languages")
    for sop_id, path in builtin_sop_paths().items():
        try:
            sop = load_sop(path)
        except SopError as error:
            table.add_row(sop_id, f"[red]invalid: {len(error.problems)} problem(s)[/red]", "", "", "")
            continue
        table.add_row(sop.id, sop.name, str(sop.version), ", ".join(s.id for s in sop.steps), ", ".join(sop.languages))
    console.print(table)


@app.command("check-sop")
def check_sop(files: Annotated[list[Path], typer.Argument(help="SOP files to validate.")]) -> None:
    """Validate SOP files and list every problem (file, step, field)."""
    bad = 0
    for path in files:
        try:
            sop = load_sop(path)
        except SopError as error:
            bad += 1
            for problem in error.problems:
                errors.print(str(problem), highlight=False, markup=False)
            continue
        console.print(f"[green]ok[/green] {path}: {sop.id} v{sop.version}, {len(sop.steps)} steps")
    if bad:
        raise typer.Exit(EXIT_INPUT_PROBLEMS)


def _anomaly_baseline():  # type: ignore[no-untyped-def]
    """The shipped anomaly baseline, or None when absent; an unusable file is a usage error naming it."""
    from auditor.anomaly.detector import ModelFileError, load_default_detector

    try:
        return load_default_detector()
    except ModelFileError as error:
        errors.print(f"[red]model unavailable:[/red] {error}")
        raise typer.Exit(EXIT_USAGE) from error


def _dissatisfaction_model(embedder_name: str):  # type: ignore[no-untyped-def]
    """The shipped dissatisfaction model when it exists and fits the embedder; None (and a note) otherwise."""
    from auditor.dissatisfaction.model import DEFAULT_MODEL_DIR, DissatisfactionModelError, DissatisfactionScorer

    if not DEFAULT_MODEL_DIR.exists():
        return None
    try:
        scorer = DissatisfactionScorer.load(DEFAULT_MODEL_DIR)
        scorer.check_embedder(embedder_name)
    except DissatisfactionModelError as error:
        errors.print(f"[yellow]dissatisfaction not scored:[/yellow] {error}")
        return None
    return scorer


def _make_auditor(sop, embedder: str, step_model: str | None, anomalies: bool = True):  # type: ignore[no-untyped-def]
    """Build the Auditor, turning a missing or unusable model into a usage error that names it."""
    from auditor.detection.scorers import choose_scorer
    from auditor.detection.trained_scorer import ModelFileError
    from auditor.embeddings.base import ModelUnavailableError
    from auditor.embeddings.provider import make_embedder
    from auditor.engine import Auditor

    try:
        embedding = make_embedder(embedder)
        scorer = choose_scorer(embedding.name, step_model)
    except (ModelUnavailableError, ModelFileError) as error:
        errors.print(f"[red]model unavailable:[/red] {error}")
        raise typer.Exit(EXIT_USAGE) from error
    return Auditor(
        sop,
        embedding,
        scorer=scorer,
        anomaly_detector=_anomaly_baseline() if anomalies else None,
        dissatisfaction=_dissatisfaction_model(embedding.name),
    )


@app.command()
def train(
    manifest: Annotated[
        Path, typer.Option(help="Training manifest (YAML): labelled transcripts and their SOPs.")
    ] = Path("models/training.yaml"),
    out: Annotated[Path, typer.Option(help="Folder for the model, its metadata and model card.")] = Path(
        "models/step-scorer"
    ),
    embedder: Annotated[str | None, typer.Option(help="Embedding backend (default: the manifest's).")] = None,
) -> None:
    """Train the step scorer from labelled transcripts; measure it on SOPs held out; save it with a model card."""
    from auditor.embeddings.provider import make_embedder
    from auditor.training.manifest import ManifestError, load_manifest
    from auditor.training.pairs import build_dataset
    from auditor.training.step_model import DESCRIPTION_OFFSET, model_card, train_step_scorer

    try:
        plan = load_manifest(manifest)
    except ManifestError as error:
        errors.print(str(error), markup=False)
        raise typer.Exit(EXIT_USAGE) from error
    embedding = make_embedder(embedder or plan.embedder)
    with _progress() as progress:
        task = progress.add_task("collecting labelled pairs", total=None)
        dataset = build_dataset(
            plan,
            manifest.parent,
            embedding,
            DESCRIPTION_OFFSET,
            progress=lambda text: progress.update(task, description=text),
        )
    for name in dataset.skipped_sets:
        errors.print(f"[yellow]skipped set {name}: its transcripts are not on this machine[/yellow]")
    if len({g.name for g in dataset.groups}) < 2:
        errors.print("[red]need labelled data for at least two SOPs (one is held out to measure)[/red]")
        raise typer.Exit(EXIT_INPUT_PROBLEMS)
    scorer = train_step_scorer(dataset, embedding.name, plan.variants)
    scorer.save(out, model_card(scorer, manifest.read_text(encoding="utf-8")))
    table = Table(title="Leave-one-SOP-out (SOPs the model never saw)", title_justify="left")
    for column in ("variant", "turn F1", "performed -> done", "skipped -> missing", "ECE"):
        table.add_column(column)
    for variant, m in scorer.metadata.metrics["leave_one_sop_out"].items():
        table.add_row(
            variant,
            f"{m['turn_f1']:.3f}",
            f"{m['performed_called_done']:.3f}",
            f"{m['skipped_called_missing']:.3f}",
            f"{m['ece']:.3f}",
        )
    console.print(table)
    console.print(f"Wrote {out} (step_scorer.skops, metadata.json, model_card.md)")


@app.command("train-dissatisfaction")
def train_dissatisfaction_command(
    plan: Annotated[Path, typer.Option(help="Training plan (YAML).")] = Path("models/dissatisfaction/training.yaml"),
    out: Annotated[Path, typer.Option(help="Folder for the model, metadata and model card.")] = Path(
        "models/dissatisfaction"
    ),
) -> None:
    """Train the dissatisfaction scorer (per customer turn and per conversation) from a training plan."""
    from auditor.dissatisfaction.training import TrainingPlanError, load_plan, model_card, train_dissatisfaction
    from auditor.embeddings.provider import make_embedder

    try:
        training_plan = load_plan(plan)
    except (TrainingPlanError, OSError) as error:
        errors.print(str(error), markup=False)
        raise typer.Exit(EXIT_USAGE) from error
    with _progress() as progress:
        task = progress.add_task("training", total=None)
        scorer = train_dissatisfaction(
            training_plan,
            make_embedder(training_plan.embedder),
            progress=lambda text: progress.update(task, description=text),
        )
    scorer.save(out, model_card(scorer, training_plan.text))
    console.print(f"Wrote {out} (model, metadata.json, model_card.md)")


@app.command("train-anomaly")
def train_anomaly_command(
    results: Annotated[list[Path], typer.Argument(help="results.jsonl files of audits to use as the baseline.")],
    transcripts: Annotated[list[Path], typer.Option(help="The transcripts those results came from.")],
    out: Annotated[Path, typer.Option(help="Folder for the detector and its model card.")] = Path("models/anomaly"),
) -> None:
    """Fit the anomaly baseline on audited conversations (your own calls make the best baseline)."""
    from auditor.anomaly.training import train_from_audit

    try:
        detector, unmatched = train_from_audit(results, transcripts, out)
    except ValueError as error:
        errors.print(f"[red]cannot fit the baseline:[/red] {error}")
        raise typer.Exit(EXIT_INPUT_PROBLEMS) from error
    if unmatched:
        errors.print(f"[yellow]{len(unmatched)} results had no transcript and were left out[/yellow]")
    console.print(f"Wrote {out}: {len(detector.feature_names)} features modelled ({detector.summary})")


def _resolve_sop_or_exit(reference: str):  # type: ignore[no-untyped-def]
    try:
        return resolve_sop(reference)
    except SopError as error:
        for problem in error.problems:
            errors.print(str(problem), highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from error


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=False,
    )


if __name__ == "__main__":
    app()
