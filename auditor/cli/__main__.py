"""`python -m auditor.cli`."""

from auditor.cli import app

app()
