"""The ``auditor`` command line; one module per command (group), all registered on one typer app."""

from auditor.cli import (  # noqa: F401  (registers)
    audit_command,
    evaluate_command,
    insights_command,
    review_commands,
    serve_command,
    sop_commands,
    train_commands,
)
from auditor.cli.common import app

__all__ = ["app"]
