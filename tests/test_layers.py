"""Layers point one way: every package of ``auditor`` imports only packages below it in the README's layout, so no
two packages import each other (issue 19). An import inside a function counts like one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "auditor"

LAYERS = (  # top to bottom, as in README.md "Layout"
    "cli",
    "api",
    "batch",
    "training",
    "service",
    "settings",
    "live",
    "evaluation",
    "review",
    "store",
    "reports",
    "insights",
    "sop",
    "auditor",
    "checklist",
    "detection",
    "dissatisfaction",
    "anomaly",
    "sop_format",
    "text",
    "embeddings",
    "model_files",
    "transcripts",
    "privacy",
    "results_file",
    "conversation",
    "risk",
    "outcome",
    "result",
    "resources",
)


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "auditor":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _imports() -> list[tuple[str, str, str]]:
    """(importing unit, imported unit, where) for every import between two units of the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        source = _unit(".".join(relative.parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == "auditor":
                names = [f"auditor.{alias.name}" for alias in node.names]  # from auditor import results_file
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                target = _unit(name)
                if source and target and target != source:
                    found.append((source, target, f"{relative}.py:{node.lineno}"))
    return found


def test_every_unit_of_the_package_has_a_layer():
    units = {_unit(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) for p in PACKAGE.rglob("*.py")}
    assert units - {"__init__"} == set(LAYERS)


def test_no_import_points_up_a_layer():
    rank = {unit: position for position, unit in enumerate(LAYERS)}
    imports = _imports()
    upward = [f"{where}: {source} imports {target}" for source, target, where in imports if rank[target] < rank[source]]
    assert len(imports) > 300, "the check reads the package's imports"
    assert upward == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    """The layer check would catch a lazy import used to dodge a cycle: ast.walk visits function bodies too."""
    tree = ast.parse("def f():\n    from auditor.cli.common import app\n")
    assert [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)] == ["auditor.cli.common"]
