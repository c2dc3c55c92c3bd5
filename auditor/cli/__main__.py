"""`python -m auditor.cli`."""

from auditor.cli import app

if __name__ == "__main__":  # not when a worker process started with spawn imports this module as __mp_main__
    app()
