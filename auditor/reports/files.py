"""Write an audit's tables: agents.csv, steps.csv and agent_steps.csv (results.jsonl is ``auditor.results_file``'s).

Every CSV cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return: an agent id "=HYPERLINK(...)") is written with a leading single quote (``csv_safe``).

The CSV columns of before abstention keep their place and meaning over *decided* verdicts (``pass_rate`` of the
conversations passed or failed, ``done_rate`` of the steps decided); the counts of ``needs_review`` conversations
and of ``uncertain`` / ``violated`` steps are appended after them.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from auditor.anomaly.agent_steps import AgentStepDeviation
from auditor.reports.aggregates import AgentSummary, StepSummary
from auditor.reports.terminal import csv_safe


class _SafeWriter:
    """``csv.writer`` whose rows are made safe for spreadsheets (``csv_safe``): an agent id "=HYPERLINK(...)" is
    written as "'=HYPERLINK(...)", text, not a formula."""

    def __init__(self, handle: TextIO):
        self._writer = csv.writer(handle)

    def writerow(self, row: Sequence[object]) -> None:
        self._writer.writerow([csv_safe(value) for value in row])


def write_agents_csv(path: Path, agents: Sequence[AgentSummary]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = _SafeWriter(handle)
        writer.writerow(
            [
                "agent_id",
                "conversations",
                "mean_score",
                "pass_rate",
                "most_missed_step",
                "most_missed_count",
                "passed",
                "failed",
                "needs_review",
                "uncertain_steps",
                "violated_steps",
            ]
        )
        for a in agents:
            writer.writerow(
                [
                    a.agent_id,
                    a.conversations,
                    f"{a.mean_score:.4f}",
                    "" if a.pass_rate is None else f"{a.pass_rate:.4f}",
                    a.most_missed_step or "",
                    a.most_missed_count,
                    a.passed,
                    a.failed,
                    a.needs_review,
                    a.uncertain_steps,
                    a.violated_steps,
                ]
            )


def write_steps_csv(path: Path, steps: Sequence[StepSummary]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = _SafeWriter(handle)
        writer.writerow(
            [
                "step_id",
                "name",
                "applicable",
                "done",
                "done_rate",
                "missing",
                "out_of_order",
                "late",
                "not_applicable",
                "uncertain",
                "violated",
            ]
        )
        for s in steps:
            writer.writerow(
                [
                    s.step_id,
                    s.name,
                    s.applicable,
                    s.done,
                    f"{s.done_rate:.4f}",
                    s.missing,
                    s.out_of_order,
                    s.late,
                    s.not_applicable,
                    s.uncertain,
                    s.violated,
                ]
            )


def write_agent_steps_csv(path: Path, cells: Sequence[AgentStepDeviation]) -> None:
    """Every agent x step cell that was tested against peers, most significant first."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = _SafeWriter(handle)
        writer.writerow(
            [
                "agent_id",
                "sop_id",
                "step_id",
                "agent_misses",
                "agent_conversations",
                "peer_misses",
                "peer_conversations",
                "p_value",
                "q_value",
                "direction",
                "flagged",
                "agent_uncertain",
                "peer_uncertain",
            ]
        )
        for c in cells:
            writer.writerow(
                [
                    c.agent_id,
                    c.sop_id,
                    c.step_id,
                    c.agent_misses,
                    c.agent_conversations,
                    c.peer_misses,
                    c.peer_conversations,
                    f"{c.p_value:.4g}",
                    f"{c.q_value:.4g}",
                    c.direction,
                    c.flagged,
                    c.agent_uncertain,
                    c.peer_uncertain,
                ]
            )
