"""Write benchmark tables into docs/benchmarks.md, each between its own markers, with the command that made it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
TITLE = "# Benchmarks\n\nEvery table below is written by the command shown above it; rerun it to reproduce.\n"


def replace_section(name: str, command: str, body: str, path: Path = BENCHMARKS) -> None:
    """Replace (or append) the section ``name`` of docs/benchmarks.md."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    section = f"{begin}\n## {name}\n\n`{command}` ({date.today().isoformat()}, 2-core CPU)\n\n{body}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table: the header, its rule, one line per row (cells already formatted)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
