"""The compliance dashboard: per step and per agent, by week (or day) of the conversation, over the store's latest
audits (each conversation counted once, by its newest audit across runs), from the results after review where a
coach reviewed them; and, when a sample was drawn, the unbiased estimate with its interval (sampling.py).

A step's rate is the share of conversations where it was done among those where it was decided and applied
(``not_applicable`` and ``uncertain`` left out; a coach's status replaces the auditor's). An agent's rate is the
share of their conversations that passed (after review where the store keeps reviewed outcomes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from auditor.review.sampling import (
    DECIDED_FOR_RATE,
    SampleEstimate,
    estimate,
    latest_sample_id,
    reviewed_statuses,
)
from auditor.store.tables import AuditRow, StepReviewRow

Period = Literal["week", "day"]
MAX_PERIODS = 26
NO_AGENT = "-"


@dataclass(frozen=True)
class DashboardFilters:
    sop_id: str | None = None
    agent_id: str | None = None
    since: date | None = None
    until: date | None = None
    period: Period = "week"


@dataclass
class Cell:
    n: int = 0
    """Conversations counted (a step: where it was decided and applied)."""
    hits: int = 0
    """Of them, passed (an agent) or done (a step)."""
    reviewed: int = 0
    """Of them, reviewed by a coach."""

    @property
    def rate(self) -> float | None:
        return self.hits / self.n if self.n else None


@dataclass
class Row:
    key: str
    label: str
    cells: list[Cell]
    """One per period of ``Dashboard.periods``."""
    total: Cell = field(default_factory=Cell)


@dataclass
class Dashboard:
    period: Period
    periods: list[date]
    steps: list[Row]
    agents: list[Row]
    conversations: int
    reviewed: int
    undated: int = 0
    """Conversations without a start time, placed by their audit time."""
    estimate: SampleEstimate | None = None


def period_start(moment: datetime, period: Period) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday()) if period == "week" else day


def compliance_dashboard(session: Session, filters: DashboardFilters, sample_id: int | None = None) -> Dashboard:
    """Compliance per step and per agent over time; the estimate of sample ``sample_id`` (default: the newest)."""
    when = func.coalesce(AuditRow.conversation_date, AuditRow.audited_at)
    conditions: list[ColumnElement[bool]] = [AuditRow.latest.is_(True)]
    if filters.sop_id:
        conditions.append(AuditRow.sop_id == filters.sop_id)
    if filters.agent_id:
        conditions.append(AuditRow.agent_id == filters.agent_id)
    if filters.since:
        conditions.append(when >= datetime.combine(filters.since, time.min))
    if filters.until and filters.until < date.max:
        conditions.append(when < datetime.combine(filters.until + timedelta(days=1), time.min))
    reviewed = exists().where(
        StepReviewRow.conversation_pk == AuditRow.conversation_pk, StepReviewRow.sop_id == AuditRow.sop_id
    )
    columns: list[Any] = [
        AuditRow.id,
        AuditRow.sop_id,
        AuditRow.agent_id,
        when,
        AuditRow.conversation_date.is_(None),
        func.coalesce(AuditRow.final_outcome, AuditRow.outcome),
        reviewed,
    ]
    rows = session.execute(select(*columns).where(*conditions)).all()
    periods = sorted({period_start(row[3], filters.period) for row in rows})[-MAX_PERIODS:]
    position = {start: index for index, start in enumerate(periods)}
    statuses = reviewed_statuses(session, [row[0] for row in rows])
    names = _step_names(session, {row[1] for row in rows})
    several_sops = len({row[1] for row in rows}) > 1
    steps: dict[tuple[str, str], Row] = {}
    agents: dict[str, Row] = {}
    undated = reviewed_count = 0
    for audit_id, sop_id, agent_id, moment, no_date, outcome, was_reviewed in rows:
        undated += bool(no_date)
        reviewed_count += bool(was_reviewed)
        index = position.get(period_start(moment, filters.period))
        passed = outcome == "passed"
        agent_key = agent_id or NO_AGENT
        agent = agents.setdefault(agent_key, Row(agent_key, agent_key, _cells(periods)))
        _count(agent, index, passed, bool(was_reviewed))
        for step_id, status in statuses.get(audit_id, {}).items():
            if status not in DECIDED_FOR_RATE:
                continue
            name = names.get((sop_id, step_id)) or step_id
            label = f"{sop_id} · {name}" if several_sops else name
            row = steps.setdefault((sop_id, step_id), Row(step_id, label, _cells(periods)))
            _count(row, index, status == "done", bool(was_reviewed))
    chosen = sample_id if sample_id is not None else latest_sample_id(session)
    return Dashboard(
        period=filters.period,
        periods=periods,
        steps=sorted(steps.values(), key=lambda r: (r.total.rate if r.total.rate is not None else 2, r.label)),
        agents=sorted(agents.values(), key=lambda r: (r.total.rate if r.total.rate is not None else 2, r.key)),
        conversations=len(rows),
        reviewed=reviewed_count,
        undated=undated,
        estimate=estimate(session, chosen) if chosen is not None else None,
    )


def _cells(periods: list[date]) -> list[Cell]:
    return [Cell() for _ in periods]


def _count(row: Row, index: int | None, hit: bool, was_reviewed: bool) -> None:
    for cell in (row.total, *([row.cells[index]] if index is not None else [])):
        cell.n += 1
        cell.hits += hit
        cell.reviewed += was_reviewed


def _step_names(session: Session, sop_ids: set[str]) -> dict[tuple[str, str], str]:
    """Step names as the newest audit of each SOP gives them (the step rows keep ids only)."""
    names: dict[tuple[str, str], str] = {}
    for sop_id in sop_ids:
        result = session.scalar(
            select(AuditRow.result).where(AuditRow.sop_id == sop_id).order_by(AuditRow.audited_at.desc()).limit(1)
        )
        for step in (result or {}).get("steps", []):
            if isinstance(step, dict) and step.get("step_id"):
                names[(sop_id, str(step["step_id"]))] = str(step.get("name") or step["step_id"])
    return names
