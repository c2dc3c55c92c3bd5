"""Read audit results (``results.jsonl`` written by `auditor audit`) for insights, naming every bad line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from auditor.result import ConversationResult
from auditor.results_file import RESULTS_FILE, scan_results


@dataclass
class LoadedResults:
    results: list[ConversationResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def result_files(inputs: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """Files named directly, and every ``results.jsonl`` under folders (recursively, sorted)."""
    files: list[Path] = []
    problems: list[str] = []
    for path in inputs:
        if path.is_dir():
            found = sorted(path.rglob(RESULTS_FILE))
            if not found:
                problems.append(f"{path}: no {RESULTS_FILE} in this folder (run `auditor audit --out {path}` first)")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    return list(dict.fromkeys(files)), problems


def load_results(inputs: Sequence[Path]) -> LoadedResults:
    """Every valid result line of every input; a bad line is a problem ``file:line: reason``, never fatal."""
    files, problems = result_files(inputs)
    loaded = LoadedResults(problems=problems, files=files)
    for path in files:
        try:
            for line in scan_results(path):
                if line.result is None:
                    loaded.problems.append(f"{path}:{line.number}: {line.problem}")
                else:
                    loaded.results.append(line.result)
        except OSError as error:
            loaded.problems.append(f"{path}: cannot read: {error}")
    return loaded
