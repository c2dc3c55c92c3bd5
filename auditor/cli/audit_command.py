"""`auditor audit`: audit transcripts against an SOP and write results and reports, at any scale.

The work is ``auditor.batch.runner.start_batch``: conversations stream from the inputs, are audited in batches (in
this process or on Dask), and are appended to results.jsonl as they are done, so ``--resume`` picks up an
interrupted run; ``finish`` then scores anomalies over the whole audit, rewrites results.jsonl with them and writes
the reports. This module only maps
options, draws the progress bar and prints the tables and the closing summary.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from auditor.cli.common import (
    ACCURACY_OPTION,
    EXIT_INPUT_PROBLEMS,
    EXIT_USAGE,
    MODELS_DIR_OPTION,
    REDACT_KINDS_OPTION,
    REDACT_OPTION,
    RULES_DIR_OPTION,
    STEP_MODEL_OPTION,
    UNCERTAIN_BAND_OPTION,
    app,
    console,
    errors,
    lazy_anomaly_baseline,
    redaction_policy,
    resolve_sop_or_exit,
    settings_or_exit,
    uncertain_band_or_exit,
)
from auditor.reports.terminal import markup_safe
from auditor.transcripts.limits import MAX_CONVERSATION_CHARS, MAX_TURN_CHARS, MAX_TURNS

if TYPE_CHECKING:
    from auditor.batch.engines import Engine
    from auditor.batch.runner import BatchOutcome
    from auditor.conversation import Role
    from auditor.reports.summary import AuditSummary
    from auditor.settings import AuditorSettings
    from auditor.sop_format import Sop
    from auditor.transcripts.options import ReadOptions


class EngineName(StrEnum):
    local = "local"
    dask = "dask"


class ReportLang(StrEnum):
    """Languages of report.html (``auditor.reports.html.REPORT_LANGUAGES``)."""

    en = "en"
    zh_hans = "zh-Hans"
    zh_hant = "zh-Hant"


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
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an interrupted audit in --out: conversations already in results.jsonl are skipped.",
        ),
    ] = False,
    engine: Annotated[
        EngineName, typer.Option(help="Where to audit: this process (local) or Dask distributed (dask).")
    ] = EngineName.local,
    scheduler: Annotated[
        str | None,
        typer.Option(help="With --engine dask: a running scheduler (tcp://host:8786); default: a local cluster."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Audit processes. Local engine: by default one per core (at most 4) for audits of 256 "
            "conversations or more, else 1 (this process). With --engine dask and no --scheduler: the local "
            "cluster's workers (default 2).",
        ),
    ] = None,
    threads: Annotated[
        int, typer.Option(min=1, help="Embedding (BLAS) threads per audit process; parallelism comes from workers.")
    ] = 1,
    device: Annotated[
        str, typer.Option(help="Where a sentence-transformers embedder runs: cpu, cuda, cuda:1 (USE-m is CPU-only).")
    ] = "cpu",
    redact: Annotated[bool, REDACT_OPTION] = True,
    redact_kinds: Annotated[str | None, REDACT_KINDS_OPTION] = None,
    uncertain_band: Annotated[str | None, UNCERTAIN_BAND_OPTION] = None,
    accuracy: Annotated[str | None, ACCURACY_OPTION] = None,
    rules_dir: Annotated[Path | None, RULES_DIR_OPTION] = None,
    models_dir: Annotated[Path | None, MODELS_DIR_OPTION] = None,
    max_turn_chars: Annotated[
        int,
        typer.Option(
            min=1,
            help="Longest turn audited, in characters. A conversation with a longer turn is not audited: it is named "
            "as path:line: turns\\[N].text, and the others go on. Turns over 10,000 characters are embedded in pieces "
            "of whole sentences; their evidence is the whole turn, never cut.",
        ),
    ] = MAX_TURN_CHARS,
    max_conversation_chars: Annotated[
        int,
        typer.Option(min=1, help="Most characters of text in one conversation; a larger one is named, not audited."),
    ] = MAX_CONVERSATION_CHARS,
    max_turns: Annotated[
        int, typer.Option(min=1, help="Most turns in one conversation; a longer one is named, not audited.")
    ] = MAX_TURNS,
    speaker_map: Annotated[
        str | None,
        typer.Option(
            "--speaker-map",
            help="Roles of speaker labels, e.g. 'Speaker 1=agent,Speaker 2=customer' (overrides role names and the "
            "roles inferred for diarized labels).",
        ),
    ] = None,
    csv_columns: Annotated[
        str | None,
        typer.Option(
            "--csv-columns",
            help="CSV headers for the contract columns, e.g. 'conversation_id=通话编号,text=话术内容' (common English "
            "and Chinese names such as 通话ID, 坐席工号, 角色, 内容 are recognised without it).",
        ),
    ] = None,
    id_pattern: Annotated[
        str | None,
        typer.Option(
            "--id-pattern",
            help="Ids from the names of .vtt, .srt and .txt files, e.g. '{agent_id}_{conversation_id}' (fields: "
            "conversation_id, agent_id, lang, started_at, any other name as metadata, {_} ignored). An id in the "
            "file or its <name>.meta.json sidecar wins.",
        ),
    ] = None,
    agent_id: Annotated[
        str | None,
        typer.Option("--agent-id", help="Agent of every conversation that names none (in its file, sidecar or name)."),
    ] = None,
    report_lang: Annotated[
        ReportLang,
        typer.Option(
            "--report-lang",
            envvar="AUDITOR_REPORT_LANG",
            help="Language of report.html: headings, statuses, flags, chart labels and step names (from the SOP's "
            "translations); transcripts show as written.",
        ),
    ] = ReportLang.en,
) -> None:
    """Audit transcripts; write results.jsonl, agents.csv, steps.csv, agent_steps.csv and report.html to --out.

    A conversation that cannot be audited (a bad record, one over the size limits, or one whose audit fails) is named
    on stderr as path:line: reason and the exit status is 1; every other conversation is still audited and written.
    """
    from auditor.batch.engines import BATCH_CACHE_ENTRIES, WorkersDiedError, expected_identity
    from auditor.batch.resume import ResumeError
    from auditor.batch.runner import start_batch
    from auditor.embeddings.base import ModelUnavailableError
    from auditor.transcripts.limits import SizeLimits

    if scheduler is not None and engine is not EngineName.dask:
        errors.print("[red]--scheduler needs --engine dask[/red]")
        raise typer.Exit(EXIT_USAGE)
    checked_sop = resolve_sop_or_exit(sop, rules_dir)
    redaction_policy(redact, redact_kinds)  # a bad kind or band is a usage error saying how to write it
    uncertain_band_or_exit(uncertain_band)
    read_options = _read_options_or_exit(csv_columns, id_pattern, agent_id, speaker_map)
    spec = settings_or_exit(
        embedder=embedder,
        step_model=step_model,
        embedder_threads=threads,
        cache_entries=BATCH_CACHE_ENTRIES,
        device=device,
        redact=redact,
        redact_kinds=redact_kinds,
        uncertain_band=uncertain_band,
        accuracy=accuracy,
        rules_dir=rules_dir,
        models_dir=models_dir,
    )
    # unset options mean the defaults (all kinds, the measured band), not AUDITOR_REDACT_KINDS / _UNCERTAIN_BAND
    spec = spec.model_copy(update={"redact_kinds": redact_kinds, "uncertain_band": uncertain_band})
    try:
        identity = expected_identity(checked_sop, spec)
    except ModelUnavailableError as error:
        errors.print(f"[red]model unavailable:[/red] {markup_safe(str(error))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
    progress = _AuditProgress("auditing")
    try:
        with progress.bar:
            with start_batch(
                inputs,
                checked_sop,
                lambda remaining: _start_engine(engine, checked_sop, spec, scheduler, workers, remaining),
                out=out,
                identity=identity,
                stored_id=spec.redaction_policy().redact_identifier,
                resume=resume,
                batch_size=batch_size,
                fallback_detector=lambda: lazy_anomaly_baseline(spec),
                progress=progress,
                limits=SizeLimits(max_turn_chars, max_conversation_chars, max_turns),
                read_options=read_options,
                report_lang=report_lang.value,
            ) as run:
                for _ in run:  # each batch is in results.jsonl, without anomaly blocks yet
                    pass
                outcome = run.finish()  # the anomaly blocks, then the reports
    except ResumeError as error:
        errors.print(f"[red]cannot resume:[/red] {markup_safe(error)}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
    except WorkersDiedError as error:  # what was audited is in results.jsonl; --resume goes on from there
        errors.print(f"[red]audit stopped:[/red] {markup_safe(error)}", highlight=False)
        raise typer.Exit(EXIT_INPUT_PROBLEMS) from error
    if outcome.summary.total == 0:
        errors.print("[red]no conversation could be loaded[/red]")
        raise typer.Exit(EXIT_INPUT_PROBLEMS)
    _print_tables(outcome, checked_sop.name)
    _print_summary(outcome)
    if outcome.problems:
        errors.print(f"[yellow]{len(outcome.problems)} input problem(s); see above[/yellow]")
        raise typer.Exit(EXIT_INPUT_PROBLEMS)


def _speaker_map_or_exit(text: str | None) -> dict[str, Role] | None:
    """The ``--speaker-map`` option read, or a usage error saying how to write it."""
    from auditor.transcripts.speaker_roles import parse_speaker_map

    if text is None:
        return None
    try:
        return parse_speaker_map(text)
    except ValueError as error:
        errors.print(f"[red]--speaker-map:[/red] {markup_safe(str(error))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error


def _read_options_or_exit(
    csv_columns: str | None, id_pattern: str | None, agent_id: str | None, speaker_map: str | None
) -> ReadOptions:
    """``--csv-columns``, ``--id-pattern`` and ``--agent-id`` read, or a usage error saying how to write them."""
    from auditor.transcripts.csv_files import parse_column_mapping
    from auditor.transcripts.file_ids import IdPattern
    from auditor.transcripts.options import ReadOptions

    try:
        columns = parse_column_mapping(csv_columns) if csv_columns else {}
    except ValueError as error:
        errors.print(f"[red]--csv-columns:[/red] {markup_safe(str(error))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
    try:
        pattern = IdPattern(id_pattern) if id_pattern else None
    except ValueError as error:
        errors.print(f"[red]--id-pattern:[/red] {markup_safe(str(error))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
    return ReadOptions(
        csv_columns=columns,
        id_pattern=pattern,
        agent_id=(agent_id or "").strip() or None,
        speaker_map=_speaker_map_or_exit(speaker_map),
    )


def _start_engine(
    engine: EngineName,
    sop: Sop,
    spec: AuditorSettings,
    scheduler: str | None,
    workers: int | None,
    remaining: int,
) -> Engine:
    """Load the models where the audit runs; a missing model or an unreachable cluster is a usage error.

    ``remaining``: conversations left to audit (as estimated), which sets the local engine's processes when
    ``--workers`` is not given."""
    from auditor.batch.engines import LocalEngine
    from auditor.embeddings.base import ModelUnavailableError
    from auditor.model_files import ModelFileError

    try:
        if engine is EngineName.dask:
            from auditor.batch.dask_engine import DEFAULT_WORKERS, DaskEngine, DaskSetupError

            try:
                return DaskEngine.start(sop, spec, scheduler=scheduler, workers=workers or DEFAULT_WORKERS)
            except DaskSetupError as error:
                errors.print(f"[red]dask:[/red] {markup_safe(str(error))}", highlight=False)
                raise typer.Exit(EXIT_USAGE) from error
        local: Engine
        if workers is None:
            from auditor.batch.process_engine import auto_workers

            workers = auto_workers(remaining)
            if workers > 1:
                note = f"auditing on {workers} worker processes, one per core (--workers 1: in this process)"
                errors.print(f"[dim]{markup_safe(note)}[/dim]")
        if workers > 1:
            from auditor.batch.process_engine import ProcessEngine, WorkerSetupError

            try:
                local, notes = ProcessEngine.start(sop, spec, workers)
            except WorkerSetupError as error:
                errors.print(f"[red]model unavailable:[/red] {markup_safe(str(error))}", highlight=False)
                raise typer.Exit(EXIT_USAGE) from error
        else:
            local, notes = LocalEngine.start(sop, spec)
    except (ModelUnavailableError, ModelFileError) as error:
        errors.print(f"[red]model unavailable:[/red] {markup_safe(str(error))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
    for note in notes:
        errors.print(f"[yellow]{markup_safe(note)}[/yellow]")
    return local


class _RateColumn(ProgressColumn):
    """Conversations per second: over the last 30 s while auditing, over the whole audit once done."""

    def render(self, task: Task) -> Text:
        speed = task.completed / task.elapsed if task.finished and task.elapsed else task.speed
        return Text(f"{speed:,.1f} conv/s" if speed else "- conv/s", style="progress.data.speed")


class _AuditProgress:
    """The batch runner's progress, drawn with rich on stderr: count, rate, elapsed, ETA; problems above it."""

    def __init__(self, description: str):
        self.description = description
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=errors,
            transient=False,
        )
        self.task: TaskID | None = None

    def started(self, total: int, resumed: int) -> None:
        if resumed:
            errors.print(f"resuming: {resumed:,} conversation(s) already in results.jsonl are not audited again")
        self.task = self.bar.add_task(self.description, total=total)

    def advanced(self, audited: int, total: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, advance=audited, total=total)

    def problem(self, problem: object) -> None:

        # ids and file names are the user's: shown as text ("[/bold]" is no closing tag, ESC no escape sequence)
        errors.print(f"[red]skipped[/red] {markup_safe(problem)}", highlight=False, markup=True, soft_wrap=True)

    def phase(self, description: str) -> None:
        if self.task is not None:
            completed = self.bar.tasks[self.task].completed
            self.bar.update(self.task, total=completed, description=description)


def _print_tables(outcome: BatchOutcome, sop_name: str) -> None:
    from auditor.reports.console import agents_table, deviations_table, flagged_table, steps_table

    summary = outcome.summary
    console.print(
        f"Wrote {summary.total} results to [bold]{markup_safe(outcome.out)}[/bold] (results.jsonl, agents.csv, "
        "steps.csv, agent_steps.csv, report.html)"
    )
    if outcome.shown_in_report < summary.total:
        console.print(f"report.html shows the {outcome.shown_in_report:,} lowest-scoring conversations in full.")
    console.print(f"\n[bold]{markup_safe(sop_name)}[/bold]: {_outcome_line(summary)}")
    console.print(agents_table(outcome.agents))
    console.print(steps_table(outcome.steps))
    cells = len(outcome.deviations)
    if outcome.coach:
        console.print(deviations_table(outcome.coach, cells))
    else:
        console.print(f"No agent misses a step significantly more than peers ({cells} agent x step cells tested).")
    for table in (
        flagged_table(summary.flagged("dissatisfaction"), "dissatisfaction", "Most dissatisfied customers"),
        flagged_table(summary.flagged("anomaly"), "anomaly", "Most unusual conversations"),
    ):
        if table is not None:
            console.print(table)


def _print_summary(outcome: BatchOutcome) -> None:
    """The closing line: audited (and resumed), bad inputs, flagged, time."""
    summary, seconds = outcome.summary, outcome.seconds
    rate = f" ({outcome.audited / seconds:,.1f} conversations/s)" if outcome.audited and seconds > 0 else ""
    parts = [f"audited {outcome.audited:,} conversation{'s' if outcome.audited != 1 else ''} in {seconds:,.1f} s{rate}"]
    if outcome.resumed:
        parts.append(f"{outcome.resumed:,} already audited before the resume")
    if outcome.kept_without_input:
        parts.append(f"{outcome.kept_without_input:,} earlier results kept whose input was not given")
    parts.append(f"{len(outcome.problems)} bad input{'s' if len(outcome.problems) != 1 else ''}")
    parts.append(
        f"flagged: {summary.failed:,} failed, {summary.needs_review:,} needs review, "
        f"{summary.dissatisfied:,} dissatisfied, {summary.anomalous:,} unusual"
    )
    console.print("\n[bold]Summary[/bold]: " + "; ".join(parts))


def _outcome_line(summary: AuditSummary) -> str:
    """'16 conversations: 10 passed, 4 failed, 2 need review (pass rate 71% of the 14 decided; 3 uncertain steps to
    decide), mean score 0.83'; the pass rate is of the conversations decided (passed or failed)."""
    total = summary.total
    line = f"{total:,} conversation{'s' if total != 1 else ''}: {summary.passed:,} passed, {summary.failed:,} failed"
    line += f", {summary.needs_review:,} need{'s' if summary.needs_review == 1 else ''} review"
    decided = summary.passed + summary.failed
    notes = []
    if summary.pass_rate is not None:
        notes.append(
            f"pass rate {summary.pass_rate:.0%}" + (f" of the {decided:,} decided" if summary.needs_review else "")
        )
    if summary.uncertain_steps:
        steps = summary.uncertain_steps
        notes.append(f"{steps:,} uncertain step{'s' if steps != 1 else ''} to decide")
    if summary.violated_steps:
        steps = summary.violated_steps
        notes.append(f"{steps:,} forbidden step{'s' if steps != 1 else ''} said")
    line += f" ({'; '.join(notes)})" if notes else ""
    return line + f", mean score {summary.mean_score:.2f}"
