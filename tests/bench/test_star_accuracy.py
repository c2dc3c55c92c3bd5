"""The STAR benchmark's split of generic steps (shared by many tasks' SOPs) from task-specific ones."""

from __future__ import annotations

from auditor.evaluation.step_metrics import Counts, StepMetrics
from bench.star_accuracy import Run, generic_steps, generic_table


def _run(task: str, counts: dict[str, tuple[int, int, int]], *, noise: bool = False) -> Run:
    metrics = StepMetrics()
    for step_id, (tp, fp, fn) in counts.items():
        metrics.turn[step_id] = Counts(tp, fp, fn)
        metrics.conversation[step_id] = Counts(min(tp, 1), min(fp, 1), 0 if tp else min(fn, 1))
    return Run(task, "examples", noise, conversations=1, metrics=metrics)


def test_a_step_in_three_tasks_is_generic_and_a_task_step_is_not() -> None:
    runs = [
        _run("a", {"hello": (1, 0, 0), "a_book": (1, 0, 0)}),
        _run("b", {"hello": (1, 0, 0), "ask_name": (1, 0, 0)}),
        _run("c", {"hello": (1, 0, 0), "ask_name": (1, 0, 0)}),
    ]
    assert generic_steps(runs) == {"hello"}


def test_generic_and_task_specific_steps_are_scored_apart() -> None:
    # "hello" is perfect in every task; the task steps miss half their turns
    runs = [_run(task, {"hello": (2, 0, 0), f"{task}_book": (1, 0, 1)}) for task in ("a", "b", "c")]
    table = generic_table(runs, ["examples"], [False])
    row = table.splitlines()[-1].split(" | ")
    assert row[2:5] == ["6", "1.000", "1.000"]  # generic: 6 gold turns, turn F1 1, conv F1 1
    assert row[5:7] == ["6", "0.667"]  # task-specific: 6 gold turns, turn F1 2/3
