"""Reviewed results out of the store: the export of the newest audits (automatic and final verdicts side by side) and
the per-agent / per-step rollups, both from the final verdicts (the coaches' once reviewed)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from auditor.outcome import PERFORMED, UNCERTAIN
from auditor.store.final_results import stored_final
from auditor.store.tables import AuditRow, ConversationRow, StepReviewRow

ReviewedState = Literal["all", "reviewed", "todo"]


@dataclass(frozen=True)
class ExportedStep:
    step_id: str
    automatic_status: str
    final_status: str
    reviewed: bool
    critical: bool
    required: bool


@dataclass(frozen=True)
class ExportedAudit:
    audit_id: int
    conversation_id: str
    agent_id: str | None
    sop_id: str
    sop_version: str
    when: datetime
    outcome: str
    """Final: the coaches' once reviewed."""
    score: float
    automatic_outcome: str
    automatic_score: float
    reviewed: bool
    reviewed_steps: int
    reviewed_at: datetime | None
    reviewers: tuple[str, ...]
    steps: tuple[ExportedStep, ...]


CSV_COLUMNS = (
    "audit_id",
    "conversation_id",
    "agent_id",
    "sop_id",
    "sop_version",
    "when",
    "outcome",
    "score",
    "automatic_outcome",
    "automatic_score",
    "reviewed",
    "reviewed_steps",
    "reviewed_at",
    "reviewers",
    "steps",
)


def exported_audits(
    session: Session, *, sop_id: str | None = None, agent_id: str | None = None, state: ReviewedState = "all"
) -> list[ExportedAudit]:
    """The newest audit of each conversation and SOP, with final and automatic verdicts, oldest conversation first."""
    query = (
        select(AuditRow, ConversationRow.conversation_id)
        .join(ConversationRow, ConversationRow.id == AuditRow.conversation_pk)
        .where(AuditRow.latest.is_(True))
        .options(selectinload(AuditRow.steps))
        .order_by(AuditRow.conversation_date, AuditRow.audited_at, AuditRow.id)
    )
    if sop_id:
        query = query.where(AuditRow.sop_id == sop_id)
    if agent_id:
        query = query.where(AuditRow.agent_id == agent_id)
    if state == "reviewed":
        query = query.where(AuditRow.reviewed_steps > 0)
    elif state == "todo":
        query = query.where(AuditRow.reviewed_steps == 0)
    rows = session.execute(query).all()
    reviewers: dict[tuple[int, str], set[str]] = defaultdict(set)
    pks = {audit.conversation_pk for audit, _ in rows}
    if pks:
        found = session.execute(
            select(StepReviewRow.conversation_pk, StepReviewRow.sop_id, StepReviewRow.reviewer).where(
                StepReviewRow.conversation_pk.in_(pks)
            )
        )
        for pk, sop, reviewer in found:
            reviewers[(pk, sop)].add(reviewer)
    exported = []
    for audit, conversation_id in rows:
        final = stored_final(audit)
        exported.append(
            ExportedAudit(
                audit_id=audit.id,
                conversation_id=conversation_id,
                agent_id=audit.agent_id,
                sop_id=audit.sop_id,
                sop_version=audit.sop_version,
                when=audit.conversation_date or audit.audited_at,
                outcome=final.outcome,
                score=final.score,
                automatic_outcome=final.automatic_outcome,
                automatic_score=final.automatic_score,
                reviewed=final.reviewed,
                reviewed_steps=final.reviewed_steps,
                reviewed_at=final.reviewed_at,
                reviewers=tuple(sorted(reviewers.get((audit.conversation_pk, audit.sop_id), ()))),
                steps=tuple(
                    ExportedStep(s.step_id, s.automatic, s.final, s.reviewed, s.critical, s.required)
                    for s in final.steps
                ),
            )
        )
    return exported


def _step_cell(step: ExportedStep) -> str:
    """``verify=missing (auditor: done; reviewed)``: the final status, and the auditor's when it differs."""
    text = f"{step.step_id}={step.final_status}"
    notes = []
    if step.final_status != step.automatic_status:
        notes.append(f"auditor: {step.automatic_status}")
    if step.reviewed:
        notes.append("reviewed")
    return f"{text} ({'; '.join(notes)})" if notes else text


def audits_csv(audits: list[ExportedAudit]) -> str:
    """One line per audit; ``steps`` lists each step's final status (and the auditor's when a coach changed it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for audit in audits:
        writer.writerow(
            [
                audit.audit_id,
                audit.conversation_id,
                audit.agent_id or "",
                audit.sop_id,
                audit.sop_version,
                audit.when.isoformat(),
                audit.outcome,
                f"{audit.score:.4f}",
                audit.automatic_outcome,
                f"{audit.automatic_score:.4f}",
                "yes" if audit.reviewed else "no",
                audit.reviewed_steps,
                audit.reviewed_at.isoformat() if audit.reviewed_at else "",
                "; ".join(audit.reviewers),
                "; ".join(_step_cell(step) for step in audit.steps),
            ]
        )
    return buffer.getvalue()


@dataclass
class AgentRollup:
    agent_id: str
    conversations: int = 0
    reviewed: int = 0
    passed: int = 0
    failed: int = 0
    needs_review: int = 0
    automatic_passed: int = 0
    score_total: float = 0.0

    @property
    def mean_score(self) -> float | None:
        return round(self.score_total / self.conversations, 4) if self.conversations else None

    @property
    def pass_rate(self) -> float | None:
        decided = self.passed + self.failed
        return round(self.passed / decided, 4) if decided else None


@dataclass
class StepRollup:
    sop_id: str
    step_id: str
    critical: bool = False
    required: bool = True
    decided: int = 0
    done: int = 0
    """Performed (done, late or out of order; a forbidden step: never said), by the final verdicts."""
    undecided: int = 0
    reviewed: int = 0
    overturned: int = 0
    automatic_done: int = 0

    @property
    def done_rate(self) -> float | None:
        return round(self.done / self.decided, 4) if self.decided else None


@dataclass
class Rollup:
    """Per agent and per step over the newest audits, from the final verdicts; ``reviewed`` says how many of them
    coaches reviewed (and ``overturned``, how many step verdicts they changed)."""

    conversations: int = 0
    reviewed: int = 0
    agents: list[AgentRollup] = field(default_factory=list)
    steps: list[StepRollup] = field(default_factory=list)


def _done(status: str) -> bool:
    return status in PERFORMED


def rollup(session: Session, sop_id: str | None = None) -> Rollup:
    agents: dict[str, AgentRollup] = {}
    steps: dict[tuple[str, str], StepRollup] = {}
    report = Rollup()
    for audit in exported_audits(session, sop_id=sop_id):
        report.conversations += 1
        report.reviewed += audit.reviewed
        agent = agents.setdefault(audit.agent_id or "-", AgentRollup(audit.agent_id or "-"))
        agent.conversations += 1
        agent.reviewed += audit.reviewed
        agent.passed += audit.outcome == "passed"
        agent.failed += audit.outcome == "failed"
        agent.needs_review += audit.outcome == "needs_review"
        agent.automatic_passed += audit.automatic_outcome == "passed"
        agent.score_total += audit.score
        for step in audit.steps:
            item = steps.setdefault(
                (audit.sop_id, step.step_id), StepRollup(audit.sop_id, step.step_id, step.critical, step.required)
            )
            item.reviewed += step.reviewed
            item.overturned += step.reviewed and step.final_status != step.automatic_status
            item.automatic_done += _done(step.automatic_status)
            if step.final_status == UNCERTAIN:
                item.undecided += 1
            elif step.final_status != "not_applicable":
                item.decided += 1
                item.done += _done(step.final_status)
    report.agents = sorted(agents.values(), key=lambda a: (a.pass_rate is None, a.pass_rate or 0.0, a.agent_id))
    report.steps = sorted(steps.values(), key=lambda s: (s.sop_id, s.step_id))
    return report
