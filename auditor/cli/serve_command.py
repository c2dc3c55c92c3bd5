"""`auditor serve` (the HTTP API under uvicorn) and `auditor api-key` (a new key and the hash to configure)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import EXIT_USAGE, app, console, errors


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 exposes it to the network).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    embedder: Annotated[str | None, typer.Option(help="Embedding backend (default: AUDITOR_EMBEDDER, use-m).")] = None,
    sop_dir: Annotated[
        list[Path] | None, typer.Option("--sop-dir", help="Extra folder of SOP files; repeat for several.")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Review store URL (default: AUDITOR_DATABASE_URL or sqlite:///audits.db)."),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Accept requests without an API key (local use only).")
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    rules_dir: Annotated[
        Path | None, typer.Option(help="Folder of the built-in SOPs (default: AUDITOR_RULES_DIR, the shipped ones).")
    ] = None,
    models_dir: Annotated[
        Path | None, typer.Option(help="Folder of the models (default: AUDITOR_MODELS_DIR, the shipped ones).")
    ] = None,
) -> None:
    """Serve the HTTP API: audits, SOPs, live sessions (HTTP and WebSocket), /metrics; docs at /docs.

    Settings come from AUDITOR_* environment variables (AUDITOR_API_KEYS, AUDITOR_MAX_SESSIONS, ...); these
    options override them.
    """
    from pydantic import ValidationError

    from auditor.api.app import create_app
    from auditor.api.server import serve as serve_app
    from auditor.api.settings import Settings

    overrides: dict[str, object] = {}
    if embedder:
        overrides["embedder"] = embedder
    if sop_dir:
        overrides["sop_dirs"] = sop_dir
    if no_auth:
        overrides["auth_disabled"] = True
    if db:
        overrides["database_url"] = db
    if rules_dir:
        overrides["rules_dir"] = rules_dir
    if models_dir:
        overrides["models_dir"] = models_dir
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        for item in error.errors():
            name = "AUDITOR_" + str(item["loc"][0]).upper() if item["loc"] else "settings"
            errors.print(f"[red]{name}:[/red] {item['msg']}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
    if problem := settings.auth_problem():
        errors.print(f"[red]cannot start:[/red] {problem}", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    for missing in [folder for folder in settings.sop_dirs if not folder.is_dir()]:
        errors.print(f"[red]--sop-dir {missing}: not a folder[/red]", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    if settings.auth_disabled:
        errors.print("[yellow]authentication is off: every request is accepted (local use only)[/yellow]")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # bounded connections (a whole request head within AUDITOR_HEADER_TIMEOUT_SECONDS) and every log line redacted,
    # access-log lines without their query string: see api/server.py
    serve_app(create_app(settings), settings, host, port, log_level)


@app.command("api-key")
def api_key() -> None:
    """Make a new API key: give the key to the client, put the hash in AUDITOR_API_KEYS (keys are stored hashed)."""
    from auditor.api.settings import hash_key

    key = "sa_" + secrets.token_urlsafe(32)
    console.print(f"key (give it to the client; it is not stored): [bold]{key}[/bold]", highlight=False)
    console.print(f"hash (add it to AUDITOR_API_KEYS, comma-separated): sha256:{hash_key(key)}", highlight=False)
