"""`auditor insights`: what audit results say to the SOP owner (completion, outcomes, AHT, FCR, suggestions)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from auditor.cli.common import EXIT_INPUT_PROBLEMS, EXIT_USAGE, app, console, errors
from auditor.reports.terminal import escape_text as escape

if TYPE_CHECKING:
    from collections.abc import Mapping

    from auditor.conversation import Conversation
    from auditor.embeddings.base import CachedEmbedder
    from auditor.insights.report import Insights
    from auditor.sop_format import Sop


@app.command()
def insights(
    results: Annotated[
        list[Path], typer.Argument(help="results.jsonl files, or folders holding them (from `auditor audit`).")
    ],
    sop: Annotated[
        list[str] | None,
        typer.Option("--sop", help="SOP files or built-in ids the results were audited against (for suggestions)."),
    ] = None,
    transcripts: Annotated[
        list[Path] | None,
        typer.Option("--transcripts", help="The audited transcripts: timestamps for handle time and repeat contacts."),
    ] = None,
    outcome: Annotated[
        list[str] | None, typer.Option("--outcome", help="Another metadata field to use as an outcome (repeatable).")
    ] = None,
    repeat_days: Annotated[int, typer.Option(min=1, help="A contact is repeated if the customer returns within.")] = 7,
    customer_field: Annotated[str, typer.Option(help="Metadata field that identifies the customer.")] = "customer_id",
    pool_steps: Annotated[
        bool, typer.Option(help="Also analyse a step id shared by several SOPs across them (stratified by SOP).")
    ] = False,
    embedder: Annotated[
        str, typer.Option(help="Embedder for suggestions: use-m (default), minilm, hashing, or a folder.")
    ] = "use-m",
    top: Annotated[int, typer.Option(min=1, help="Rows shown per table (insights.json has them all).")] = 15,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for insights.json and suggestions.yaml.")] = None,
    suggestions: Annotated[bool, typer.Option(help="Mine new example phrasings from evidence.")] = True,
) -> None:
    """Per step: completion, late and skipped steps, association with outcomes (with intervals), AHT, FCR, and
    suggested example phrasings from high-scoring agents (a file to review; nothing is applied)."""
    from auditor.insights.report import InsightsOptions, build_insights, insights_json
    from auditor.insights.results_files import load_results
    from auditor.insights.suggestion_files import suggestions_yaml
    from auditor.sop.loading import SopError, resolve_sop

    loaded = load_results(results)
    for message in loaded.problems:
        errors.print(f"[red]skipped[/red] {escape(message)}", soft_wrap=True)
    if not loaded.results:
        errors.print("[red]no audit result could be read[/red]")
        raise typer.Exit(EXIT_INPUT_PROBLEMS)
    sops = {}
    for reference in sop or []:
        try:
            checked = resolve_sop(reference)
        except SopError as error:
            for problem in error.problems:
                errors.print(escape(str(problem)), soft_wrap=True)
            raise typer.Exit(EXIT_USAGE) from error
        sops[checked.id] = checked
    audited = {r.sop_id for r in loaded.results}
    if suggestions and not sops:
        from auditor.sop.loading import builtin_sop_paths

        builtin = builtin_sop_paths()
        sops = {sop_id: resolve_sop(sop_id) for sop_id in audited if sop_id in builtin}
    unused = sorted(set(sops) - audited)
    if unused:
        errors.print(f"[yellow]--sop {', '.join(unused)}: no result was audited against it[/yellow]")
    conversations = _conversations(transcripts or [])
    embedding = _embedder(embedder) if suggestions and sops else None
    with console.status(f"analysing {len(loaded.results)} results"):
        report = build_insights(
            loaded.results,
            conversations=conversations,
            sops=sops if suggestions else None,
            embedder=embedding,
            options=InsightsOptions(
                repeat_days=repeat_days,
                customer_field=customer_field,
                extra_outcomes=tuple(outcome or ()),
                pool_steps=pool_steps,
            ),
        )
    _print_report(report, top, sops)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "insights.json").write_text(insights_json(report), encoding="utf-8")
        written = ["insights.json"]
        if report.suggestions:
            path = out / "suggestions.yaml"
            path.write_text(
                suggestions_yaml(report.suggestions, conversations=report.conversations, path=str(path)),
                encoding="utf-8",
            )
            written.append("suggestions.yaml")
        console.print(f"Wrote {', '.join(written)} to [bold]{escape(str(out))}[/bold]")
        if report.suggestions:
            console.print(
                f"Review {escape(str(out / 'suggestions.yaml'))} (set accept: true), then "
                "`auditor sops accept` writes a new SOP version."
            )
    if loaded.problems:
        raise typer.Exit(EXIT_INPUT_PROBLEMS)


def _conversations(paths: list[Path]) -> dict[str, Conversation] | None:
    if not paths:
        return None
    from auditor.transcripts.loaders import load_inputs

    loaded = load_inputs(paths)
    for problem in loaded.problems:
        errors.print(f"[yellow]transcript skipped[/yellow] {escape(str(problem))}", soft_wrap=True)
    return {conversation.id: conversation for conversation in loaded.conversations}


def _embedder(name: str) -> CachedEmbedder:
    from auditor.embeddings.base import ModelUnavailableError
    from auditor.embeddings.provider import make_embedder

    try:
        return make_embedder(name)
    except ModelUnavailableError as error:
        errors.print(f"[red]model unavailable:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_USAGE) from error


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _signed_points(value: float) -> str:
    return f"{value * 100:+.0f}"


def _print_report(report: Insights, top: int, sops: Mapping[str, Sop]) -> None:
    agents = f", {report.agents} agents" if report.agents else ""
    console.print(
        f"[bold]Insights[/bold]: {report.results} results, {report.conversations} conversations, "
        f"SOPs {', '.join(report.sops)}{agents}"
    )
    if report.uncertain_verdicts or report.needs_review:
        console.print(
            f"{report.uncertain_verdicts} step verdict(s) uncertain (a person decides; left out of completion and "
            f"associations: neither done nor missing); {report.needs_review} result(s) need review"
        )
    if report.outcomes:
        outcomes = Table(title="Outcomes found", title_justify="left")
        for column in ("outcome", "from", "known", "mean / rate"):
            outcomes.add_column(column)
        for o in report.outcomes:
            shown = _pct(o.mean) if o.kind == "binary" else f"{o.mean:.2f}"
            outcomes.add_row(escape(o.name), escape(o.source), str(o.known), shown)
        console.print(outcomes)

    _print_completion(report, top)
    _print_associations(report, top)

    if report.no_link:
        names = [f"{sop_id}/{step_id}" for sop_id, step_id, _ in report.no_link]
        console.print(
            f"[bold]No measurable link to any outcome[/bold] (q ≥ 0.05 for every outcome tested; review whether "
            f"they matter): {escape(', '.join(names[:top]))}"
            + (f" and {len(names) - top} more" if len(names) > top else "")
        )
    for by, summaries in report.handle_time.items():
        if by == "agent" and len(summaries) > top:
            summaries = sorted(summaries, key=lambda s: -s.mean)[:top]
        table = Table(title=f"Handle time (seconds) by {by}", title_justify="left")
        for column in (by, "conversations", "mean", "median", "p90"):
            table.add_column(column, justify="left" if column == by else "right")
        for s in summaries:
            table.add_row(escape(s.group), str(s.conversations), f"{s.mean:.0f}", f"{s.median:.0f}", f"{s.p90:.0f}")
        console.print(table)
    if report.repeat_contacts is not None:
        rc = report.repeat_contacts
        low, high = rc.interval
        console.print(
            f"[bold]Repeat contacts[/bold] within {rc.days} days: {rc.repeated} of {rc.contacts} contacts "
            f"({_pct(rc.repeat_rate)}) from {rc.customers} customers; first-contact resolution {_pct(rc.fcr)} "
            f"[{_pct(low)}, {_pct(high)}]" + (f"; {rc.unknown} too recent to tell" if rc.unknown else "")
        )
    _print_suggestions(report, top, sops)
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")


def _step_label(report: Insights, sop_id: str, step_id: str) -> str:
    """The step id alone when the results hold one SOP, else SOP/step."""
    return escape(step_id if len(report.sops) == 1 else f"{sop_id}/{step_id}")


def _print_completion(report: Insights, top: int) -> None:
    rows = report.completion
    title = "Step completion" + (f" ({escape(report.sops[0])})" if len(report.sops) == 1 else "")
    table = Table(title=title, title_justify="left")
    table.add_column("step", overflow="fold", ratio=3)
    for column in ("applies", "done [95% CI]", "late / out of order"):
        table.add_column(column, justify="right")
    uncertain = any(c.uncertain for c in rows)
    if uncertain:
        table.add_column("uncertain", justify="right")
    shown = sorted(rows, key=lambda c: c.rate)[:top] if len(rows) > top else rows
    for c in shown:
        cells = [
            _step_label(report, c.sop_id, c.step_id),
            str(c.applicable),
            escape(f"{_pct(c.rate)} [{_pct(c.rate_low)}-{_pct(c.rate_high)}]"),
            f"{_pct(c.misplaced_rate)}" if c.performed else "-",
        ]
        table.add_row(*cells, *([str(c.uncertain)] if uncertain else []))
    captions = []
    if len(rows) > top:
        captions.append(f"the {top} least completed of {len(rows)} steps; all in insights.json (--out)")
    if uncertain:
        captions.append("applies and done: decided verdicts; uncertain ones are counted apart")
    if captions:
        table.caption = "; ".join(captions)
    console.print(table)
    if report.skipped:
        names = ", ".join(f"{_step_label(report, c.sop_id, c.step_id)} ({_pct(c.rate)})" for c in report.skipped[:top])
        more = f" and {len(report.skipped) - top} more" if len(report.skipped) > top else ""
        console.print(f"[bold]Almost always skipped[/bold] (done in ≤10% of conversations): {names}{more}")
    if report.late:
        names = ", ".join(
            f"{_step_label(report, c.sop_id, c.step_id)} ({_pct(c.misplaced_rate)})" for c in report.late[:top]
        )
        more = f" and {len(report.late) - top} more" if len(report.late) > top else ""
        console.print(f"[bold]Often done late or out of order[/bold] (≥25% of the times done): {names}{more}")


def _print_associations(report: Insights, top: int) -> None:
    by_outcome = defaultdict(list)
    for a in report.associations:
        by_outcome[a.outcome].append(a)
    for name, rows in by_outcome.items():
        rows.sort(key=lambda a: (a.q_value, a.estimate.p_value, -abs(a.estimate.difference)))
        binary = rows[0].kind == "binary"
        table = Table(title=f"Steps and {name}: when done vs when missing", title_justify="left")
        table.add_column("step", overflow="fold", ratio=3)
        table.add_column("n done/missing", justify="right")
        table.add_column("done", justify="right")
        table.add_column("missing", justify="right")
        table.add_column(("points" if binary else "difference") + " [95% CI]", justify="right")
        table.add_column("p", justify="right")
        table.add_column("within")
        for a in rows[:top]:
            e = a.estimate
            if binary:
                done, missing = _pct(a.value_done), _pct(a.value_missing)
                effect = f"{_signed_points(e.difference)} [{_signed_points(e.low)},{_signed_points(e.high)}]"
            else:
                done, missing = f"{a.value_done:.2f}", f"{a.value_missing:.2f}"
                effect = f"{e.difference:+.2f} [{e.low:+.2f},{e.high:+.2f}]"
            effect = escape(effect)
            if a.significant:
                colours: dict[bool | None, str] = {True: "green", False: "red"}
                colour = colours.get(a.better_when_done, "bold")
                effect = f"[{colour}]{effect}*[/{colour}]"
            table.add_row(
                _step_label(report, a.sop_id, a.step_id),
                f"{a.n_done}/{a.n_missing}",
                done,
                missing,
                effect,
                f"{e.p_value:.3f}" if e.p_value >= 0.001 else "<0.001",
                ", ".join(a.adjusted_for) or "-",
            )
        significant = sum(a.significant for a in rows)
        shown = f"the {top} strongest of " if len(rows) > top else ""
        table.caption = (
            f"{shown}{len(rows)} steps; * {significant} significant after Benjamini-Hochberg (q < 0.05); "
            "green: better outcome when done, red: worse; within: compared inside each agent's conversations"
        )
        console.print(table)


def _print_suggestions(report: Insights, top: int, sops: Mapping[str, Sop]) -> None:
    if not report.suggestions:
        return
    table = Table(title="Suggested new examples (phrasings of high-scoring agents the SOP lacks)", title_justify="left")
    table.add_column("step", overflow="fold", ratio=2)
    table.add_column("suggested example", overflow="fold", ratio=4)
    table.add_column("conv. / agents", justify="right")
    table.add_column("closest existing example", overflow="fold", ratio=3)
    for s in report.suggestions[: top * 2]:
        nearest = f"{s.nearest_example} ({s.nearest_similarity:.2f})" if s.nearest_example else "-"
        table.add_row(
            _step_label(report, s.sop_id, s.step_id),
            escape(s.text),
            f"{s.conversations} / {s.agents}",
            escape(nearest),
        )
    if len(report.suggestions) > top * 2:
        table.caption = f"{top * 2} of {len(report.suggestions)}; all in suggestions.yaml (--out)"
    console.print(table)
