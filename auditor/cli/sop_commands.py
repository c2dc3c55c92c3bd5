"""`auditor sops` and `auditor check-sop`: list the built-in SOPs, validate SOP files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from auditor.cli.common import EXIT_INPUT_PROBLEMS, app, console, errors
from auditor.sop.loading import SopError, builtin_sop_paths, load_sop


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
