"""`auditor review import|queue` (the coach review store) and `auditor agreement` (auditor vs coaches, coaches vs
each other). The store is AUDITOR_DATABASE_URL, or ``--db``; SQLite ``audits.db`` in this folder by default."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from auditor.cli.common import EXIT_INPUT_PROBLEMS, EXIT_USAGE, app, console, errors, resolve_sop_or_exit
from auditor.reports.terminal import cell, escape_text

if TYPE_CHECKING:
    from auditor.review.agreement import Agreement
    from auditor.review.sampling import RateEstimate
    from auditor.store.database import Store

review_app = typer.Typer(
    help="The coach review store: import audits, list the review queue, export reviewed results.", no_args_is_help=True
)
app.add_typer(review_app, name="review")

DB_OPTION = typer.Option(
    "--db",
    help="Database URL: sqlite:///audits.db (default, or AUDITOR_DATABASE_URL), postgresql+psycopg://user@host/db.",
)


def database_url(option: str | None) -> str:
    """``--db``, else ``AUDITOR_DATABASE_URL`` (the library settings), else SQLite ``audits.db`` here."""
    from auditor.settings import AuditorSettings

    return option or AuditorSettings().database_url


def open_store_or_exit(option: str | None) -> Store:
    from auditor.store.database import StoreError, open_store

    try:
        return open_store(database_url(option))
    except StoreError as error:
        errors.print(f"[red]{escape_text(error)}[/red]", highlight=False, markup=True)
        raise typer.Exit(EXIT_USAGE) from error


@review_app.command("import")
def import_results(
    results: Annotated[list[Path], typer.Argument(help="results.jsonl files written by `auditor audit`.")],
    transcripts: Annotated[
        list[Path] | None,
        typer.Option(
            "--transcripts", help="Transcript files or folders (default: the files the results name as their source)."
        ),
    ] = None,
    sop: Annotated[
        list[str] | None,
        typer.Option(
            "--sop",
            help="SOPs the results were audited against (built-in id or file; repeat for several): their step weights "
            "and pass score score the reviewed verdicts (default: a built-in SOP's, else weight 1 and pass score 0.8).",
        ),
    ] = None,
    db: Annotated[str | None, DB_OPTION] = None,
) -> None:
    """Load audit results and their transcripts into the review store; importing the same audit again is a no-op."""
    from auditor.review.importing import load_for_import
    from auditor.store.audits import save_results

    for path in results:
        if not path.is_file():
            errors.print(f"[red]{escape_text(path)}: no such file[/red]", highlight=False)
            raise typer.Exit(EXIT_USAGE)
    sops = {found.id: found for found in (resolve_sop_or_exit(reference) for reference in sop or [])}
    batch = load_for_import(results, transcripts or [])
    for result in batch.results:
        given = sops.get(result.sop_id)
        if given is not None and str(given.version) != str(result.sop_version):
            errors.print(
                f"[yellow]--sop {escape_text(given.id)} is version {given.version}; "
                f"{escape_text(result.conversation_id)} was audited against version {result.sop_version}: its "
                "reviewed verdicts are scored with the "
                "built-in SOP's rules or weight 1 each[/yellow]",
                highlight=False,
            )
            break
    for problem in batch.problems:
        errors.print(f"[red]skipped[/red] {escape_text(problem)}", highlight=False)
    store = open_store_or_exit(db)
    try:
        with store.session() as session:
            saved = save_results(session, batch.results, batch.conversations, sops=sops)
    finally:
        store.close()
    created = sum(item.created for item in saved)
    console.print(
        f"Stored {len(saved)} audit(s) in {escape_text(store.url)}: {created} new, {len(saved) - created} already "
        f"there (refreshed); {len(batch.conversations)} with their transcript."
    )
    missing = batch.without_transcript
    if missing:
        errors.print(
            f"[yellow]{len(missing)} result(s) without a transcript (e.g. {escape_text(missing[0])}): give "
            "--transcripts[/yellow]"
        )
    if batch.problems:
        raise typer.Exit(EXIT_INPUT_PROBLEMS)


@review_app.command("queue")
def show_queue(
    db: Annotated[str | None, DB_OPTION] = None,
    agent: Annotated[str | None, typer.Option(help="Only this agent's conversations.")] = None,
    sop: Annotated[str | None, typer.Option(help="Only audits against this SOP id.")] = None,
    step: Annotated[str | None, typer.Option(help="Only where the auditor flagged this step or was unsure.")] = None,
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date, inclusive (YYYY-MM-DD).")] = None,
    state: Annotated[str, typer.Option(help="todo (not reviewed yet), reviewed or all.")] = "todo",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """The review queue: audits that need review (steps the auditor could not decide) first, then riskiest first:
    critical misses, then dissatisfied customers, then unusual calls."""
    from auditor.outcome import OUTCOME_LABELS
    from auditor.review.queue import QueueFilters, review_queue

    if state not in {"todo", "reviewed", "all"}:
        errors.print(f"[red]--state {escape_text(state)}: use todo, reviewed or all[/red]", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    filters = QueueFilters(agent, sop, step, _date(since, "--since"), _date(until, "--until"), state)  # type: ignore[arg-type]
    store = open_store_or_exit(db)
    try:
        with store.session() as session:
            page = review_queue(session, filters, limit=limit)
    finally:
        store.close()
    title = f"Review queue ({page.total} audit(s), needing review first, then riskiest first)"
    table = Table(title=title, title_justify="left")
    for column in ("audit", "conversation", "agent", "SOP", "outcome", "risk"):
        table.add_column(column, no_wrap=True)
    table.add_column("why", overflow="fold")
    for item in page.items:
        outcome = OUTCOME_LABELS[item.outcome]
        if item.reviewed and item.automatic_outcome is not None:  # final after review; the auditor's beside it
            outcome += f" (reviewed; auditor: {OUTCOME_LABELS[item.automatic_outcome]})"
        table.add_row(
            str(item.audit_id),
            cell(item.conversation_id),
            cell(item.agent_id or "-"),
            cell(item.sop_id),
            f"[blue]{outcome}[/blue]" if item.outcome == "needs_review" else outcome,
            f"{item.risk:.2f}",
            cell("; ".join(item.reasons) or "-"),
        )
    console.print(table)


@review_app.command("export")
def export_reviewed(
    db: Annotated[str | None, DB_OPTION] = None,
    sop: Annotated[str | None, typer.Option(help="Only audits against this SOP id.")] = None,
    agent: Annotated[str | None, typer.Option(help="Only this agent's conversations.")] = None,
    state: Annotated[str, typer.Option(help="all, reviewed or todo (not reviewed yet).")] = "all",
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    out: Annotated[Path | None, typer.Option(help="Write to this file (default: print).")] = None,
) -> None:
    """The newest audit of each conversation with its final outcome, score and step verdicts (the coaches' once
    reviewed) beside the auditor's, and whether and when it was reviewed."""
    from auditor.review.rollups import audits_csv, exported_audits

    if state not in {"all", "reviewed", "todo"} or fmt not in {"csv", "json"}:
        errors.print("[red]--state: all, reviewed or todo; --format: csv or json[/red]", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    store = open_store_or_exit(db)
    try:
        with store.session() as session:
            audits = exported_audits(session, sop_id=sop, agent_id=agent, state=state)  # type: ignore[arg-type]
    finally:
        store.close()
    text = (
        audits_csv(audits)
        if fmt == "csv"
        else json.dumps([asdict(a) for a in audits], ensure_ascii=False, indent=2, default=str) + "\n"
    )
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    reviewed = sum(a.reviewed for a in audits)
    console.print(f"Wrote {len(audits)} audit(s), {reviewed} reviewed, to {escape_text(out)}.")


@review_app.command("sample")
def draw_review_sample(
    coaches: Annotated[str, typer.Option(help="The coaches to assign the sample to, comma-separated: Mei,Ana.")],
    size: Annotated[int, typer.Option(min=1, max=2000, help="How many audits to draw.")] = 40,
    random_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="The share drawn uniformly at random from below the queue's top.")
    ] = 0.3,
    seed: Annotated[int | None, typer.Option(min=0, max=2**31 - 1, help="Reproduce a draw (default: random).")] = None,
    by: Annotated[str, typer.Option("--by", help="Who draws the sample (recorded as assigned by).")] = "cli",
    db: Annotated[str | None, DB_OPTION] = None,
    sop: Annotated[str | None, typer.Option(help="Only audits against this SOP id.")] = None,
    agent: Annotated[str | None, typer.Option(help="Only this agent's conversations.")] = None,
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date, inclusive (YYYY-MM-DD).")] = None,
) -> None:
    """Draw audits for review from the newest audits: the top of the risk-ranked queue plus a random share of the rest
    (so compliance estimated from the reviews is unbiased), and assign them to the coaches by load."""
    from auditor.review.sampling import SampleError, SampleFilters, draw_sample

    names = [name.strip() for name in coaches.split(",") if name.strip()]
    filters = SampleFilters(sop, agent, _date(since, "--since"), _date(until, "--until"))
    store = open_store_or_exit(db)
    try:
        with store.session() as session:
            sample = draw_sample(
                session, filters, size=size, random_share=random_share, coaches=names, drawn_by=by, seed=seed
            )
    except SampleError as error:
        errors.print(f"[red]{escape_text(error)}[/red]", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
    finally:
        store.close()
    console.print(
        f"Sample {sample.sample_id}: {len(sample.assignments)} of {sample.population} audit(s), "
        f"{sample.risk_ranked} from the top of the queue and {sample.random_drawn} at random (seed {sample.seed})."
    )
    table = Table(title="Assignments", title_justify="left")
    for column in ("coach", "audit", "conversation", "agent", "SOP", "entered as", "inclusion p"):
        table.add_column(column, no_wrap=True)
    for item in sample.assignments:
        table.add_row(
            cell(item.coach),
            str(item.audit_id),
            cell(item.conversation_id),
            cell(item.agent_id or "-"),
            cell(item.sop_id),
            item.how.replace("_", "-"),
            f"{item.inclusion_probability:.3f}",
        )
    console.print(table)
    console.print(", ".join(f"{escape_text(name)}: {count}" for name, count in sample.per_coach.items()))


@review_app.command("estimate")
def sample_estimate(
    sample_id: Annotated[int | None, typer.Argument(help="The sample (default: the newest).")] = None,
    db: Annotated[str | None, DB_OPTION] = None,
) -> None:
    """Compliance estimated from a sample's reviewed audits: unbiased (stratified, Horvitz-Thompson weights) with
    95% Wilson intervals, beside the naive rate of the reviewed calls."""
    from auditor.review.sampling import estimate, latest_sample_id

    store = open_store_or_exit(db)
    try:
        with store.session() as session:
            chosen = sample_id if sample_id is not None else latest_sample_id(session)
            found = estimate(session, chosen) if chosen is not None else None
    finally:
        store.close()
    if found is None:
        errors.print("[red]No such sample: draw one with `auditor review sample`.[/red]", highlight=False)
        raise typer.Exit(EXIT_USAGE)

    def shown(rate: RateEstimate) -> str:
        value = "-" if rate.value is None else f"{rate.value:.1%}"
        return f"{value} (95% CI {rate.low:.1%} to {rate.high:.1%}, n={rate.n})"

    sample = found.sample
    console.print(
        f"Sample {sample.sample_id}: {found.reviewed} of {len(sample.assignments)} reviewed "
        f"({sample.risk_ranked} risk-ranked, {sample.random_drawn} random, of {sample.population})."
    )
    console.print(f"Pass rate: {shown(found.pass_rate)}")
    console.print(f"Reviewed calls counted alike (biased): {shown(found.naive_pass_rate)}")
    table = Table(title="Done rate per step", title_justify="left")
    table.add_column("step")
    table.add_column("estimate")
    for step_id, rate in found.step_done.items():
        table.add_row(cell(step_id), shown(rate))
    console.print(table)
    console.print(f"Method: {escape_text(found.pass_rate.method)}")


@app.command()
def agreement(
    db: Annotated[str | None, DB_OPTION] = None,
    sop: Annotated[str | None, typer.Option(help="Only this SOP's reviews.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Agreement per step between the auditor and the coaches (Cohen's kappa, accuracy), and between coaches who
    reviewed the same conversations (calibration sessions)."""
    from auditor.review.agreement import agreement_report

    store = open_store_or_exit(db)
    try:
        with store.session() as session:
            report = agreement_report(session, sop)
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps(asdict(report), ensure_ascii=False))
        return
    if not report.reviews:
        console.print("No coach verdicts yet: review conversations at /review (auditor serve).")
        return
    console.print(
        f"{report.reviews} step verdict(s) on {report.reviewed_conversations} conversation(s) by "
        f"{len(report.reviewers)} coach(es): {', '.join(report.reviewers)}"
    )
    console.print(
        _agreement_table("Auditor vs coaches (the newest audit's status against each verdict)", report.auditor)
    )
    if report.coaches:
        console.print(_agreement_table("Coach vs coach (same conversations and steps)", report.coaches, pairs=True))
    else:
        console.print("No step was reviewed by two coaches yet, so there is no coach-vs-coach agreement.")


def _agreement_table(title: str, rows: list[Agreement], pairs: bool = False) -> Table:
    table = Table(title=title, title_justify="left")
    undecided = any(row.undecided for row in rows)
    columns = ["SOP", "step", *(("raters",) if pairs else ()), "n", "accuracy", "kappa", "disagreements"]
    columns += ["uncertain, decided by coaches"] if undecided else []
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        kappa = "-" if row.kappa is None else f"{row.kappa:.2f}"
        differ = ", ".join(f"{k} x{v}" for k, v in sorted(row.disagreements.items(), key=lambda kv: -kv[1])[:3])
        raters = (f"{row.first} / {row.second}",) if pairs else ()
        cells = [row.sop_id, row.step_id, *raters, str(row.n), f"{row.accuracy:.0%}", kappa, differ or "-"]
        if undecided:
            decided = ", ".join(f"{k} x{v}" for k, v in sorted(row.decided_as.items(), key=lambda kv: -kv[1]))
            cells.append(f"{row.undecided}: {decided}" if row.undecided else "-")
        table.add_row(*(cell(text) for text in cells))
    if undecided:
        table.caption = "n, accuracy and kappa: the auditor's decided verdicts; its uncertain steps are counted apart"
    return table


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        errors.print(f"[red]{option} {escape_text(value)}: not a date (YYYY-MM-DD)[/red]", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
