"""The ``auditor`` command line; one module per command (group), all registered on one typer app."""

from auditor.cli import audit_command, evaluate_command, serve_command, sop_commands, train_commands  # noqa: F401
from auditor.cli.common import app

__all__ = ["app"]
