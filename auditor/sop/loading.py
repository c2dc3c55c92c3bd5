"""Read SOP files, validate them, and report every problem at once with file, step and field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import TypeAdapter, ValidationError

from auditor.checklist.conditions import condition_names
from auditor.detection.registry import detector_names
from auditor.privacy.redaction import redact_echoed
from auditor.resources import RULES_DIR
from auditor.sop_format import Sop

_BOOL = TypeAdapter(bool)


Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class SopProblem:
    """One problem in an SOP file; ``code`` is stable for programs, ``message`` is for people.

    Loading reports errors (the SOP cannot be used); the linter adds warnings and hints (``severity``).
    ``line`` is the 1-based line in the file where the step or field is written, when known.
    """

    path: str
    code: str
    message: str
    step_id: str | None = None
    field: str | None = None
    line: int | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.severity != "error":
            where += f": {self.severity}"
        if self.step_id:
            where += f": step {self.step_id!r}"
        if self.field:
            where += f": field {self.field!r}"
        return f"{where}: {self.message} [{self.code}]"


class SopError(ValueError):
    """An SOP could not be used; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: list[SopProblem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def load_sop(path: str | Path) -> Sop:
    """Read and validate one SOP file (YAML or JSON)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SopError([SopProblem(source, "unreadable", f"cannot read file: {error.strerror}")]) from error
    except UnicodeDecodeError as error:
        raise SopError([SopProblem(source, "unreadable", "the file is not UTF-8 text")]) from error
    return sop_from_text(text, source=source)


def sop_from_text(text: str, *, source: str = "<sop>") -> Sop:
    """Validate an SOP given as YAML (or JSON) text; problems carry the line they were found on."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        line = mark.line + 1 if mark else None
        raise SopError([SopProblem(source, "invalid_yaml", f"not valid YAML{where}", line=line)]) from error
    except RecursionError as error:
        raise SopError([SopProblem(source, "invalid_yaml", "not valid YAML: nested too deeply")]) from error
    except (ValueError, KeyError, AttributeError, IndexError, TypeError, OverflowError) as error:
        # PyYAML's constructors raise these for values its tags cannot build: 2024-13-45, !!int x, !!bool x...
        reason = str(error)[:200] or type(error).__name__
        raise SopError(
            [SopProblem(source, "invalid_yaml", f"not valid YAML: a value cannot be read ({reason})")]
        ) from error
    if not isinstance(raw, Mapping):
        raise SopError([SopProblem(source, "not_a_mapping", "the file must hold one SOP mapping")])
    try:
        return sop_from_mapping(raw, source=source)
    except SopError as error:
        raise SopError(with_lines(error.problems, text)) from error


def with_lines(problems: list[SopProblem], text: str) -> list[SopProblem]:
    """Fill in the line of each problem from the YAML text (the field's key, else its step, else None)."""
    lines = yaml_lines(text)
    located = []
    for problem in problems:
        if problem.line is not None:
            located.append(problem)
            continue
        step_key: tuple[Any, ...] = ()
        if problem.step_id is not None:
            step_key = ("steps", problem.step_id)
        field_key = tuple(problem.field.split(".")) if problem.field and problem.field != "step" else ()
        line = None
        for key in (step_key + field_key, step_key + field_key[:1], step_key):
            if key and key in lines:
                line = lines[key]
                break
        located.append(replace(problem, line=line))
    return located


def yaml_lines(text: str) -> dict[tuple[Any, ...], int]:
    """1-based line of every top-level key, every step (by id and by ``#n``) and every step field."""
    try:
        root = yaml.compose(text)
    except (yaml.YAMLError, RecursionError):
        return {}
    found: dict[tuple[Any, ...], int] = {}
    if not isinstance(root, yaml.MappingNode):
        return found
    for key_node, value_node in root.value:
        key = str(key_node.value)
        found[(key,)] = key_node.start_mark.line + 1
        if key != "steps" or not isinstance(value_node, yaml.SequenceNode):
            continue
        for position, step_node in enumerate(value_node.value, start=1):
            names = [("steps", f"#{position}")]
            fields: dict[str, int] = {}
            if isinstance(step_node, yaml.MappingNode):
                for field_key, field_value in step_node.value:
                    fields[str(field_key.value)] = field_key.start_mark.line + 1
                    if field_key.value == "id" and isinstance(field_value, yaml.ScalarNode):
                        names.append(("steps", str(field_value.value)))
            for name in names:
                found.setdefault(name, step_node.start_mark.line + 1)
                for field_name, line in fields.items():
                    found.setdefault((*name, field_name), line)
    return found


def sop_from_mapping(raw: Mapping[str, Any], *, source: str = "<sop>") -> Sop:
    """Validate an SOP given as a mapping; raise SopError listing all problems."""
    problems = reference_problems(_order_graph(raw), source) + forbidden_order_problems(raw, source)
    problems += registry_problems(raw, source)
    try:
        sop = Sop.model_validate(raw)
    except ValidationError as error:
        field_problems = [_problem_from_pydantic(source, raw, item) for item in error.errors()]
        raise SopError(field_problems + problems) from error
    if problems:
        raise SopError(problems)
    return sop


REGISTRIES: tuple[tuple[str, str, str, Callable[[], list[str]]], ...] = (
    ("detector", "unknown_detector", "detector", detector_names),
    ("when", "unknown_condition", "condition", condition_names),
)
"""Step fields that name something built in: (field, problem code, what it names, the registry's names)."""


def registry_problems(raw: Mapping[str, Any], source: str) -> list[SopProblem]:
    """Steps whose ``detector`` or ``when`` names no built-in detector or condition (read leniently from raw SOP
    data, so they show beside field errors; a value that is not a string is a field error already)."""
    steps = raw.get("steps")
    known = {field_name: names() for field_name, _code, _kind, names in REGISTRIES}
    problems = []
    for position, step in enumerate(steps if isinstance(steps, list) else [], start=1):
        if not isinstance(step, Mapping):
            continue
        for field_name, code, kind, _names in REGISTRIES:
            value = step.get(field_name)
            if isinstance(value, str) and value not in known[field_name]:
                step_id = str(step.get("id")) if step.get("id") else f"#{position}"
                message = f"no built-in {kind} {value!r} (known: {', '.join(known[field_name])})"
                problems.append(SopProblem(source, code, message, step_id, field_name))
    return problems


def _order_graph(raw: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """(step id, before) pairs read leniently from raw SOP data, so order problems show beside field errors."""
    steps = raw.get("steps")
    pairs: list[tuple[str, list[str]]] = []
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, Mapping) and isinstance(step.get("id"), str):
            before = step.get("before") or []
            # only string entries: anything else is a field error already, and str() of an alias bomb is huge
            pairs.append(
                (step["id"], [later for later in before if isinstance(later, str)] if isinstance(before, list) else [])
            )
    return pairs


def reference_problems(order_graph: list[tuple[str, list[str]]], source: str) -> list[SopProblem]:
    """Problems that span steps: duplicate ids, ``before`` naming unknown steps, and order cycles."""
    problems: list[SopProblem] = []
    seen: set[str] = set()
    for step_id, _ in order_graph:
        if step_id in seen:
            problems.append(SopProblem(source, "duplicate_step", "duplicate step id", step_id, "id"))
        seen.add(step_id)
    for step_id, before in order_graph:
        for later in before:
            if later == step_id:
                problems.append(SopProblem(source, "self_order", "a step cannot precede itself", step_id, "before"))
            elif later not in seen:
                problems.append(
                    SopProblem(source, "unknown_step", f"'before' names unknown step {later!r}", step_id, "before")
                )
    cycle = _order_cycle(order_graph)
    if cycle:
        message = "'before' rules form a cycle: " + " -> ".join(cycle)
        problems.append(SopProblem(source, "order_cycle", message, cycle[0], "before"))
    return problems


def forbidden_order_problems(raw: Mapping[str, Any], source: str) -> list[SopProblem]:
    """A step whose ``before`` names a forbidden step: the forbidden step never happens, so the rule is void."""
    steps = raw.get("steps")
    steps = [step for step in steps if isinstance(step, Mapping)] if isinstance(steps, list) else []
    forbidden = {step["id"] for step in steps if isinstance(step.get("id"), str) and _truthy(step.get("forbidden"))}
    problems = []
    for step_id, before in _order_graph(raw):
        for later in before:
            if later in forbidden and later != step_id:
                problems.append(
                    SopProblem(
                        source,
                        "before_forbidden_step",
                        f"'before' names {later!r}, a forbidden step: it must never happen, so nothing can be "
                        "ordered before it; remove it from 'before'",
                        step_id,
                        "before",
                    )
                )
    return problems


def _truthy(value: Any) -> bool:
    """A boolean field read as pydantic reads it ("yes", 1, true); anything it refuses counts as false."""
    try:
        return bool(_BOOL.validate_python(value))
    except ValidationError:
        return False


def _order_cycle(order_graph: list[tuple[str, list[str]]]) -> list[str] | None:
    """The first cycle of ``before`` rules found by depth-first search (iterative: SOPs may be long chains)."""
    graph = {step_id: [later for later in before if later != step_id] for step_id, before in order_graph}
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    for start in graph:
        if state.get(start) is not None:
            continue
        trail = [start]
        state[start] = 1
        stack = [iter(graph[start])]
        while stack:
            node = trail[-1]
            for nxt in stack[-1]:
                if state.get(nxt) == 1:
                    return trail[trail.index(nxt) :] + [nxt] if nxt in trail else [node, nxt]
                if nxt in graph and state.get(nxt) is None:
                    state[nxt] = 1
                    trail.append(nxt)
                    stack.append(iter(graph[nxt]))
                    break
            else:
                state[node] = 2
                trail.pop()
                stack.pop()
    return None


def _problem_from_pydantic(source: str, raw: Mapping[str, Any], item: Any) -> SopProblem:
    loc = tuple(item["loc"])
    step_id: str | None = None
    field_path = ".".join(str(part) for part in loc)
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = raw.get("steps")
        step = steps[loc[1]] if isinstance(steps, list) and loc[1] < len(steps) else None
        step_id = str(step.get("id")) if isinstance(step, Mapping) and step.get("id") else f"#{loc[1] + 1}"
        field_path = ".".join(str(part) for part in loc[2:]) or "step"
    code = "unknown_field" if item["type"] == "extra_forbidden" else item["type"]
    return SopProblem(source, code, item["msg"], step_id, field_path)


def builtin_sop_paths(rules_dir: Path = RULES_DIR) -> dict[str, Path]:
    """Built-in SOP files by SOP id (the file stem is the id)."""
    return {path.stem: path for path in sorted(rules_dir.glob("*.yaml"))}


def resolve_sop(reference: str, rules_dir: Path = RULES_DIR) -> Sop:
    """Load an SOP given as a built-in id or a file path."""
    candidate = Path(reference)
    if candidate.suffix.lower() in {".yaml", ".yml", ".json"} or candidate.exists():
        return load_sop(candidate)
    builtin = builtin_sop_paths(rules_dir)
    if reference in builtin:
        return load_sop(builtin[reference])
    known = ", ".join(builtin) or "none"
    # the reference is echoed: a phone number typed as --sop must not reach the terminal or a log as it is
    raise SopError(
        [SopProblem(redact_echoed(reference), "unknown_sop", f"no built-in SOP with this id (built-in: {known})")]
    )
