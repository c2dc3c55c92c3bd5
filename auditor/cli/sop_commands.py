"""`auditor sops` (list, new, check, test, render, proposals, accept) and `auditor check-sop`: the SOP owner's
commands."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from auditor.cli.common import (
    EXIT_INPUT_PROBLEMS,
    EXIT_USAGE,
    STEP_MODEL_OPTION,
    app,
    console,
    errors,
    make_auditor,
    resolve_sop_or_exit,
    settings_or_exit,
)
from auditor.cli.review_commands import DB_OPTION, open_store_or_exit
from auditor.reports.terminal import escape_text as escape
from auditor.sop.loading import SopError, SopProblem, builtin_sop_paths, load_sop, sop_from_text
from auditor.sop.review_due import review_status
from auditor.sop_format import Sop

if TYPE_CHECKING:
    from auditor.embeddings.base import CachedEmbedder
    from auditor.insights.suggestion_files import Revision
    from auditor.review.proposals import Proposals
    from auditor.sop.authoring import Draft, DraftStep
    from auditor.sop.trial import TrialTurn

sops_app = typer.Typer(
    help="List the built-in SOPs (no subcommand), or author, lint, try out and publish SOPs.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(sops_app, name="sops")

SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


@sops_app.callback()
def sops(ctx: typer.Context) -> None:
    """List the built-in SOPs (with a subcommand: author, check, test, render or accept an SOP)."""
    if ctx.invoked_subcommand is not None:
        return
    table = Table(title="Built-in SOPs", title_justify="left")
    table.add_column("id", no_wrap=True, style="bold")
    table.add_column("name")
    table.add_column("version", justify="right")
    table.add_column("steps", justify="right")
    table.add_column("languages")
    table.add_column("owner")
    table.add_column("review")
    for sop_id, path in builtin_sop_paths(settings_or_exit().rules_folder()).items():  # AUDITOR_RULES_DIR
        try:
            sop = load_sop(path)
        except SopError as error:
            table.add_row(sop_id, f"[red]invalid: {len(error.problems)} problem(s)[/red]", "", "", "", "", "")
            continue
        status = review_status(sop)
        review = "not scheduled" if status.due is None else f"due {status.due}"
        if status.overdue:
            review = f"[yellow]overdue ({status.overdue_days} d)[/yellow]"
        table.add_row(
            sop.id,
            sop.name,
            str(sop.version),
            str(len(sop.steps)),
            ", ".join(sop.languages),
            escape(sop.owner or "-"),
            review,
        )
    console.print(table)


def print_problems(problems: list[SopProblem]) -> None:
    for problem in problems:
        style = SEVERITY_STYLE[problem.severity]
        target = errors if problem.severity == "error" else console
        target.print(f"[{style}]{escape(str(problem))}[/{style}]", highlight=False, soft_wrap=True)


@app.command("check-sop")
def check_sop(files: Annotated[list[Path], typer.Argument(help="SOP files to validate.")]) -> None:
    """Validate SOP files and list every problem (file, step, field); `auditor sops check` also lints."""
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


@sops_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="SOP files (YAML or JSON) to validate and lint.")],
    embedder: Annotated[
        str,
        typer.Option(
            help="Embedder for the confusable-examples checks (examples of two steps, a counter-example and its own "
            "step's example): use-m (default), minilm, hashing, or none."
        ),
    ] = "use-m",
    similarity: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Examples of two steps at least this similar are reported.")
    ] = 0.8,
    counter_similarity: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="A counter-example at least this similar to its own step's example is reported."
        ),
    ] = 0.85,
    strict: Annotated[bool, typer.Option(help="Exit 1 on warnings too, not only on errors.")] = False,
) -> None:
    """Validate and lint SOP files: thin steps, confusable examples, contradictory rules, overdue reviews."""
    from auditor.sop.lint import LintOptions, lint_sop

    embedding = None if embedder == "none" else _embedder_or_exit(embedder)
    failed = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            sop = load_sop(path)
        except (OSError, UnicodeDecodeError) as error:
            failed += 1
            errors.print(f"[red]{escape(str(path))}: cannot read file: {escape(str(error))}[/red]")
            continue
        except SopError as error:
            failed += 1
            print_problems(error.problems)
            errors.print(f"[red]{escape(str(path))}: invalid, {len(error.problems)} error(s)[/red]")
            continue
        options = LintOptions(example_similarity=similarity, counter_example_similarity=counter_similarity)
        findings = lint_sop(sop, source=str(path), text=text, embedder=embedding, options=options)
        print_problems(findings)
        warnings = sum(finding.severity == "warning" for finding in findings)
        hints = len(findings) - warnings
        verdict = "[green]ok[/green]" if not warnings else "[yellow]ok, with warnings[/yellow]"
        console.print(
            f"{verdict} {escape(str(path))}: {sop.id} v{sop.version}, {len(sop.steps)} steps; "
            f"{warnings} warning(s), {hints} hint(s)"
        )
        if strict and warnings:
            failed += 1
    if failed:
        raise typer.Exit(EXIT_INPUT_PROBLEMS)


def _embedder_or_exit(name: str) -> CachedEmbedder:
    from auditor.embeddings.base import ModelUnavailableError
    from auditor.embeddings.provider import make_embedder

    try:
        return make_embedder(name)
    except ModelUnavailableError as error:
        errors.print(f"[red]model unavailable:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_USAGE) from error


@sops_app.command("new")
def new(
    checklist: Annotated[
        Path | None,
        typer.Argument(help="A Markdown / plain-text checklist file, or - for standard input. Omit to be asked."),
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="The checklist itself, e.g. '1. 聆听 2. 感谢 3. 确认理解'.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="SOP file to write (default: ID.yaml here).")] = None,
    sop_id: Annotated[str | None, typer.Option("--id", help="SOP id (default: from the name).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="SOP name (default: the checklist's title).")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who answers for the SOP (责任人).")] = None,
    review_days: Annotated[int, typer.Option(min=1, help="Review interval in days.")] = 90,
    seed: Annotated[
        bool, typer.Option(help="Copy examples from the built-in step with the same id (e.g. 聆听 -> listen).")
    ] = True,
    force: Annotated[bool, typer.Option(help="Overwrite --out if it exists.")] = False,
) -> None:
    """Scaffold a new SOP from a pasted checklist, or by answering questions, and write it as YAML."""
    from auditor.sop.authoring import (
        ChecklistError,
        Draft,
        DraftStep,
        draft_to_sop,
        parse_checklist,
        seed_from_library,
        slug_words,
        step_comments,
    )
    from auditor.sop.lint import lint_sop
    from auditor.sop.writing import sop_to_yaml

    source = _checklist_text(checklist, text)
    if source is None:
        draft = _ask_for_draft(Draft, DraftStep)
    else:
        try:
            draft = parse_checklist(source)
        except ChecklistError as error:
            where = str(checklist) if checklist and str(checklist) != "-" else "checklist"
            errors.print(f"[red]{escape(where)}: {escape(str(error))}[/red]")
            raise typer.Exit(EXIT_USAGE) from error
    if name:
        draft.name = name
    library = [load_sop(path) for path in builtin_sop_paths().values()] if seed else []
    seeds = seed_from_library(draft, library)
    if sop_id is None and out is not None and not slug_words(draft.name):
        sop_id = re.sub(r"[^a-z0-9_-]+", "-", out.stem.lower()).strip("-_") or None
    try:
        sop = draft_to_sop(draft, sop_id=sop_id, owner=owner, review_interval_days=review_days)
    except SopError as error:
        print_problems(error.problems)
        raise typer.Exit(EXIT_USAGE) from error
    target = out or Path(f"{sop.id}.yaml")
    if target.exists() and not force:
        errors.print(f"[red]{escape(str(target))} exists; choose another --out or add --force[/red]")
        raise typer.Exit(EXIT_USAGE)
    header = (
        f"SOP scaffolded by `auditor sops new` on {date.today().isoformat()}.\n"
        "Check it with `auditor sops check` and try it with `auditor sops test` before rollout."
    )
    yaml_text = sop_to_yaml(sop, header=header, step_comments=step_comments(sop, seeds))
    target.write_text(yaml_text, encoding="utf-8")
    console.print(f"Wrote [bold]{escape(str(target))}[/bold]: {sop.id} v{sop.version}, {len(sop.steps)} steps")
    table = Table(show_header=True, header_style="bold")
    for column in ("step id", "name", "examples", "from"):
        table.add_column(column)
    for position, step in enumerate(sop.steps):
        origin = f"{seeds[position].sop_id}/{seeds[position].step_id}" if position in seeds else "checklist"
        table.add_row(step.id, escape(step.name), str(len(step.examples)), origin if step.examples else "-")
    console.print(table)
    print_problems(lint_sop(sop, source=str(target), text=yaml_text))
    console.print(
        f"Next: edit descriptions and examples, then `auditor sops check {target}` and "
        f"`auditor sops test {target} TRANSCRIPTS`."
    )


def _checklist_text(checklist: Path | None, text: str | None) -> str | None:
    if text is not None:
        return text
    if checklist is None:
        return None
    if str(checklist) == "-":
        return sys.stdin.read()
    try:
        return checklist.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        errors.print(f"[red]{escape(str(checklist))}: cannot read the checklist: {escape(str(error))}[/red]")
        raise typer.Exit(EXIT_USAGE) from error


def _split_answer(answer: str) -> list[str]:
    return [part.strip() for part in answer.split("|") if part.strip()]


def _ask_for_draft(draft_type: type[Draft], step_type: type[DraftStep]) -> Draft:
    """Interactive scaffolding: the SOP's name, purpose and owner, then steps until an empty name."""
    from auditor.sop.authoring import PROHIBITION

    draft = draft_type()
    draft.name = typer.prompt("SOP name (SOP 名称)")
    draft.description = typer.prompt("Purpose (目的)", default="", show_default=False)
    draft.owner = typer.prompt("Owner (责任人)", default="", show_default=False) or None
    console.print("Steps, in the order agents do them; an empty name ends the list.")
    while True:
        number = len(draft.steps) + 1
        step_name = typer.prompt(f"Step {number} name (步骤名称)", default="", show_default=False).strip()
        if not step_name:
            if draft.steps:
                break
            console.print("[yellow]an SOP needs at least one step[/yellow]")
            continue
        forbidden = typer.confirm(
            "  something the agent must NEVER say? (禁止：说了即违规)", default=bool(PROHIBITION.match(step_name))
        )
        if forbidden:
            description = typer.prompt("  what must not be said (禁止说明)", default="", show_default=False)
            examples = typer.prompt(
                "  examples of what must not be said, separated by | (违规话术，用 | 分隔)",
                default="",
                show_default=False,
            )
            counter_examples = typer.prompt(
                "  close but NOT a violation, separated by | (不算违规，用 | 分隔)", default="", show_default=False
            )
        else:
            description = typer.prompt("  what the agent does (说明)", default="", show_default=False)
            examples = typer.prompt(
                "  example phrasings, separated by | (参考话术，用 | 分隔)", default="", show_default=False
            )
            counter_examples = typer.prompt(
                "  sounds like it but is NOT it, e.g. a refusal, separated by | (反例/不算完成，用 | 分隔)",
                default="",
                show_default=False,
            )
        required = typer.confirm(
            "  does a violation count in the score? (计入评分)" if forbidden else "  required? (必做)", default=True
        )
        draft.steps.append(
            step_type(
                name=step_name,
                description=description.strip(),
                examples=_split_answer(examples),
                counter_examples=_split_answer(counter_examples),
                forbidden=forbidden,
                required=required,
            )
        )
    from auditor.sop.authoring import detected_languages

    draft.languages = detected_languages(draft)
    return draft


@sops_app.command("test")
def test(
    sop: Annotated[str, typer.Argument(help="SOP file, or a built-in SOP id.")],
    transcripts: Annotated[list[Path], typer.Argument(help="Sample transcript files or folders.")],
    step: Annotated[list[str] | None, typer.Option("--step", help="Only these step ids (repeatable).")] = None,
    show: Annotated[int, typer.Option(min=1, help="Evidence turns shown per step.")] = 5,
    embedder: Annotated[
        str, typer.Option(help="Embedding backend: use-m (default), minilm, hashing, or a folder.")
    ] = "use-m",
    step_model: Annotated[str | None, STEP_MODEL_OPTION] = None,
) -> None:
    """Show, per step, which turns of sample transcripts count as evidence, and the near misses."""
    from auditor.sop.trial import trial_sop
    from auditor.transcripts.loaders import load_inputs

    checked = resolve_sop_or_exit(sop)
    unknown = sorted(set(step or []) - {s.id for s in checked.steps})
    if unknown:
        errors.print(
            f"[red]no step {', '.join(unknown)} in {checked.id} (steps: {', '.join(s.id for s in checked.steps)})"
        )
        raise typer.Exit(EXIT_USAGE)
    loaded = load_inputs(transcripts)
    for problem in loaded.problems:
        errors.print(f"[red]skipped[/red] {escape(str(problem))}")
    if not loaded.conversations:
        errors.print("[red]no conversation could be loaded[/red]")
        raise typer.Exit(EXIT_INPUT_PROBLEMS)
    auditor = make_auditor(checked, embedder, step_model, anomalies=False)
    with console.status(f"auditing {len(loaded.conversations)} conversations against {checked.id}"):
        trials = trial_sop(auditor, loaded.conversations)
    wanted = [t for t in trials if not step or t.step_id in step]
    summary = Table(
        title=f"{checked.name} ({checked.id} v{checked.version}) on {len(loaded.conversations)} conversations"
    )
    any_forbidden = any(trial.forbidden for trial in wanted)
    columns = ["step", "done", "late / out of order", "missing", "n/a"] + (["violated"] if any_forbidden else [])
    for column in [*columns, "evidence turns"]:
        summary.add_column(column, justify="left" if column == "step" else "right")
    for trial in wanted:
        summary.add_row(
            trial.step_id + (" (forbidden)" if trial.forbidden else ""),
            f"{trial.statuses['done']}",
            f"{trial.statuses['late'] + trial.statuses['out_of_order']}",
            f"{trial.statuses['missing']}",
            f"{trial.statuses['not_applicable']}",
            *([f"{trial.statuses['violated']}"] if any_forbidden else []),
            str(len(trial.evidence)),
        )
    console.print(summary)
    for trial in wanted:
        table = Table(
            title=f"{trial.step_id}: {escape(trial.name)}", title_justify="left", show_lines=False, expand=False
        )
        for column in ("", "conversation", "turn", "conf.", "method", "text"):
            table.add_column(column, overflow="fold")
        kind = "[red]violation[/red]" if trial.forbidden else "[green]evidence[/green]"
        for turn in trial.evidence[:show]:
            table.add_row(kind, *_turn_cells(turn))
        if len(trial.evidence) > show:
            table.add_row("", f"... {len(trial.evidence) - show} more", "", "", "", "")
        for turn in trial.near_misses[:show]:
            table.add_row("[yellow]near miss[/yellow]", *_turn_cells(turn))
        if not trial.evidence and not trial.near_misses:
            hint = (
                "no turn came close to a violation"
                if trial.forbidden
                else "no turn came close: add examples in the agents' words"
            )
            table.add_row("[green]none[/green]" if trial.forbidden else "[red]none[/red]", "", "", "", "", hint)
        console.print(table)
    if loaded.problems:
        raise typer.Exit(EXIT_INPUT_PROBLEMS)


def _turn_cells(turn: TrialTurn) -> tuple[str, str, str, str, str]:
    text = turn.text if len(turn.text) <= 160 else turn.text[:157] + "..."
    return escape(turn.conversation_id), str(turn.turn_index), f"{turn.confidence:.2f}", turn.method, escape(text)


@sops_app.command("render")
def render(
    sop: Annotated[str, typer.Argument(help="Built-in SOP id or SOP file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the documents.")] = Path("training"),
    lang: Annotated[
        list[str] | None, typer.Option("--lang", help="en or zh (repeatable); default: the SOP's languages.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html or both.")] = "both",
) -> None:
    """Write the SOP as a training document for agents (Markdown and HTML) in its languages."""
    from auditor.sop.render import SUPPORTED_LANGUAGES, document_languages, render_training

    checked = resolve_sop_or_exit(sop)
    formats = {"md": ["md"], "html": ["html"], "both": ["md", "html"]}.get(fmt)
    if formats is None:
        errors.print(f"[red]--format must be md, html or both, not {escape(fmt)!r}[/red]")
        raise typer.Exit(EXIT_USAGE)
    languages = lang or document_languages(checked)
    bad = [code for code in languages if code not in SUPPORTED_LANGUAGES]
    if bad:
        errors.print(
            f"[red]--lang {', '.join(bad)}: training documents exist in {', '.join(SUPPORTED_LANGUAGES)}[/red]"
        )
        raise typer.Exit(EXIT_USAGE)
    out.mkdir(parents=True, exist_ok=True)
    for code in languages:
        for kind in formats:
            path = out / f"{checked.id}.{code}.{kind}"
            path.write_text(render_training(checked, code, kind), encoding="utf-8")  # type: ignore[arg-type]
            console.print(f"Wrote [bold]{escape(str(path))}[/bold]")
    status = review_status(checked)
    if status.message:
        console.print(f"[yellow]{checked.id}: {escape(status.message)}[/yellow]")


@sops_app.command("proposals")
def proposals(
    sop: Annotated[str, typer.Argument(help="SOP file, or a built-in SOP id, whose reviewed conversations to read.")],
    db: Annotated[str | None, DB_OPTION] = None,
    embedder: Annotated[
        str,
        typer.Option(
            help="Embedder that picks a turn's best sentence and drops near-duplicates: use-m (default), minilm, "
            "hashing, or none (longest sentence, exact duplicates only)."
        ),
    ] = "use-m",
    per_step: Annotated[
        int | None, typer.Option(min=1, help="At most this many proposals per step (best supported first).")
    ] = None,
) -> None:
    """Example phrasings proposed from confirmed evidence: turns coaches confirmed perform a step (numbered)."""
    checked = resolve_sop_or_exit(sop)
    found = _proposals_or_exit(checked, db, embedder, per_step)
    table = Table(title=f"Proposed examples for {checked.id} v{checked.version}", title_justify="left")
    for column in ("#", "step", "proposed example", "convs", "nearest example (cosine)"):
        table.add_column(column, overflow="fold", justify="right" if column in ("#", "convs") else "left")
    for item in found.proposals:
        nearest = f"{escape(item.nearest_example)} ({item.similarity:.2f})" if item.nearest_example else "-"
        table.add_row(str(item.number), item.step_id, escape(item.text), str(item.support), nearest)
    console.print(table)
    for reason, count in found.skipped.most_common():
        console.print(f"[dim]{count} confirmed turn(s) proposed nothing: {escape(reason)}[/dim]")
    if found.proposals:
        where = sop if Path(sop).exists() else "YOUR-SOP.yaml"
        console.print(
            f"Accept with `auditor sops accept --sop {escape(where)} --proposal N [--proposal M ...]` (same --db and "
            "--embedder), or `--step STEP --example TEXT`: it writes a new SOP version."
        )
    else:
        console.print("No proposals: review conversations of this SOP first (confirm steps at a turn).")


def _proposals_or_exit(sop: Sop, db: str | None, embedder: str, per_step: int | None) -> Proposals:
    from auditor.review.examples import review_examples
    from auditor.review.proposals import ProposalOptions, evidence_from_reviews, propose_examples

    store = open_store_or_exit(db)
    try:
        with store.session() as session:
            evidence = evidence_from_reviews(review_examples(session, sop.id))
    finally:
        store.close()
    embedding = None if embedder == "none" else _embedder_or_exit(embedder)
    return propose_examples(sop, evidence, embedding, ProposalOptions(per_step=per_step))


@sops_app.command("accept")
def accept(
    suggestions: Annotated[
        Path | None,
        typer.Argument(
            help="suggestions.yaml from `auditor insights --out`, reviewed; omit it with --proposal or --step and "
            "--example."
        ),
    ] = None,
    sop: Annotated[Path | None, typer.Option("--sop", help="The SOP file to revise.")] = None,
    proposal: Annotated[
        list[int] | None,
        typer.Option("--proposal", help="Number of a proposal `auditor sops proposals` listed (repeatable)."),
    ] = None,
    step: Annotated[str | None, typer.Option("--step", help="Step to add --example to.")] = None,
    example: Annotated[
        list[str] | None, typer.Option("--example", help="Example phrasing to add to --step (repeatable).")
    ] = None,
    db: Annotated[str | None, DB_OPTION] = None,
    embedder: Annotated[
        str, typer.Option(help="With --proposal: the embedder `auditor sops proposals` used (same numbers).")
    ] = "use-m",
    out: Annotated[
        Path | None, typer.Option("--out", help="File for the new version (default: NAME.vVERSION.yaml beside it).")
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Write the new version over the SOP file (its # comments are lost).")
    ] = False,
    force: Annotated[bool, typer.Option(help="Overwrite --out if it exists.")] = False,
) -> None:
    """Add examples to an SOP as a new version (version + 1): suggestions marked `accept: true`, proposals from
    confirmed evidence (--proposal N), or your own (--step S --example TEXT)."""
    from auditor.insights.suggestion_files import SuggestionFileError, apply_accepted, read_accepted

    sources = sum([suggestions is not None, bool(proposal), bool(step or example)])
    if sop is None or sources != 1 or bool(step) != bool(example):
        errors.print(
            "[red]give --sop and one of: a suggestions file, --proposal N, or --step STEP --example TEXT[/red]"
        )
        raise typer.Exit(EXIT_USAGE)
    if in_place and out is not None:
        errors.print("[red]--in-place writes over --sop; leave out --out[/red]")
        raise typer.Exit(EXIT_USAGE)
    try:
        current = load_sop(sop)
    except SopError as error:
        print_problems(error.problems)
        raise typer.Exit(EXIT_USAGE) from error
    if suggestions is None:
        revision = _accept_examples_or_exit(current, proposal or [], step, example or [], db, embedder)
        origin = f"proposals {', '.join(map(str, proposal))}" if proposal else "the command line"
    else:
        try:
            accepted = read_accepted(suggestions)
        except SuggestionFileError as error:
            errors.print(f"[red]{escape(str(error))}[/red]")
            raise typer.Exit(EXIT_USAGE) from error
        mine = [item for item in accepted if item.sop_id == current.id]
        if not mine:
            others = sorted({item.sop_id for item in accepted})
            hint = (
                f" (accepted ones are for: {', '.join(others)})"
                if others
                else " (set accept: true on the ones you want)"
            )
            errors.print(f"[red]{escape(str(suggestions))}: no accepted suggestion for SOP {current.id!r}{hint}[/red]")
            raise typer.Exit(EXIT_USAGE)
        stale = sorted(
            {item.sop_version for item in mine if item.sop_version and item.sop_version != str(current.version)}
        )
        if stale:
            console.print(
                f"[yellow]suggestions were mined against version {', '.join(stale)}; {current.id} is now "
                f"v{current.version}: check they still fit[/yellow]"
            )
        revision = apply_accepted(current, mine)
        origin = suggestions.name
    _write_revision(current, revision, sop, out, in_place, force, origin)


def _accept_examples_or_exit(
    current: Sop, numbers: list[int], step: str | None, examples: list[str], db: str | None, embedder: str
) -> Revision:
    from auditor.review.proposals import accept_examples

    if numbers:
        found = _proposals_or_exit(current, db, embedder, None)
        known = {item.number: item for item in found.proposals}
        unknown = [number for number in numbers if number not in known]
        if unknown:
            errors.print(
                f"[red]no proposal {', '.join(map(str, unknown))} for {current.id} v{current.version} "
                f"({len(known)} proposal(s); list them with `auditor sops proposals`)[/red]"
            )
            raise typer.Exit(EXIT_USAGE)
        pairs = [(known[number].step_id, known[number].text) for number in numbers]
    else:
        pairs = [(step or "", text) for text in examples if text.strip()]
        if not pairs:
            errors.print("[red]--example must not be empty[/red]")
            raise typer.Exit(EXIT_USAGE)
    return accept_examples(current, pairs)


def _write_revision(
    current: Sop, revision: Revision, sop: Path, out: Path | None, in_place: bool, force: bool, origin: str
) -> None:
    """Report what the revision adds, then write it as a new version (checked to load first)."""
    from auditor.sop.writing import sop_to_yaml

    for item in revision.unknown_steps:
        errors.print(f"[yellow]step {item.step_id!r} is not in {current.id}; skipped {item.example!r}[/yellow]")
    for item in revision.already_there:
        console.print(f"already an example of {item.step_id}: {escape(item.example)}")
    if not revision.added:
        errors.print("[red]nothing new to add; no new version written[/red]")
        raise typer.Exit(EXIT_USAGE)
    target = sop if in_place else out or sop.with_name(f"{sop.stem}.v{revision.sop.version}{sop.suffix or '.yaml'}")
    if target.exists() and not force and not in_place:
        errors.print(f"[red]{escape(str(target))} exists; choose another --out or add --force[/red]")
        raise typer.Exit(EXIT_USAGE)
    header = (
        f"Version {revision.sop.version} of {current.id}: {len(revision.added)} example(s) accepted from "
        f"{origin} on {date.today().isoformat()}."
    )
    text = sop_to_yaml(revision.sop, header=header)
    try:  # an accepted example may repeat a counter-example: never write a version that does not load
        sop_from_text(text, source=str(target))
    except SopError as error:
        print_problems(error.problems)
        errors.print("[red]the new version would be invalid; nothing written[/red]")
        raise typer.Exit(EXIT_USAGE) from error
    target.write_text(text, encoding="utf-8")
    for item in revision.added:
        console.print(f"[green]+[/green] {item.step_id}: {escape(item.example)}")
    kept = "it was replaced" if in_place else f"{escape(str(sop))} is unchanged"
    console.print(
        f"Wrote [bold]{escape(str(target))}[/bold]: {current.id} v{current.version} -> v{revision.sop.version} "
        f"({len(revision.added)} new example(s)); {kept}."
    )
