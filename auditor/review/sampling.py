"""Samples for review: a share from the top of the risk-ranked queue and a share uniformly at random from the rest,
assigned to coaches; and the estimate of compliance from the reviewed calls that this design makes unbiased.

The design is stratified. Of the ``N`` latest audits that match the filters when the sample is drawn, the ``k`` at
the top of the review queue (needs review first, then riskiest) form the *risk-ranked* stratum, each taken with
probability 1; from the other ``N - k`` a simple random sample of ``m`` is drawn (seeded: the same seed on the same
audits draws the same sample), each with probability ``m / (N - k)``. Coaches review the risky calls, where errors
are, and the random share keeps the estimate honest: reviewed calls alone over-represent failing calls.

The estimate of a rate (pass rate, a step's done rate) weights each stratum by its size (Horvitz-Thompson: a
random call stands for ``(N - k) / m`` calls). Its 95 % interval is the Wilson score interval of each stratum's
reviewed calls (finite-population corrected: a stratum reviewed whole is known exactly) combined by MOVER
(Zou & Donner 2008); when the risk-ranked stratum is reviewed whole, as intended, this is the Wilson interval of
the random share, scaled. Sampled calls not reviewed yet are left out (taken as missing at random within their
stratum); a stratum with no reviewed call yet bounds the interval by 0 and 1 and leaves no point estimate.
"""

from __future__ import annotations

import math
import random
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, exists, func, select, update
from sqlalchemy.orm import Session

from auditor.insights.statistics import wilson_interval
from auditor.store.tables import (
    MAX_ROW_ID,
    AssignmentRow,
    AuditRow,
    AuditStepRow,
    ConversationRow,
    ReviewSampleRow,
    StepReviewRow,
    utc_now,
)

How = Literal["risk_ranked", "random"]
RISK_RANKED: How = "risk_ranked"
RANDOM: How = "random"
MAX_SAMPLE = 2000
MAX_SEED = 2**31 - 1
CONFIDENCE = 0.95
METHOD = (
    "stratified (risk-ranked share taken whole, random share a simple random sample), Horvitz-Thompson weights; "
    "Wilson 95% interval per stratum, finite-population corrected, combined by MOVER"
)
NAIVE_METHOD = "every reviewed call counted alike (biased toward the risky calls the queue puts first)"


class SampleError(ValueError):
    """A sample that cannot be drawn as asked (no coach, a size under 1, a share outside 0..1)."""


# --- the draw (pure) ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    audit_id: int
    how: How
    probability: float
    """The audit's probability of inclusion: 1 for the risk-ranked share, m / (N - k) for the random one."""


def plan_sample(ranked: Sequence[int], size: int, random_share: float, seed: int) -> list[Pick]:
    """``size`` audits of ``ranked`` (the queue order, riskiest first): the top ``round(size * (1 - random_share))``
    and the rest drawn uniformly at random (seeded) from the others. All of them when ``size`` covers them."""
    if size < 1:
        raise SampleError("size: draw at least one audit")
    if not 0.0 <= random_share <= 1.0:
        raise SampleError("random share: between 0 and 1")
    population = list(dict.fromkeys(ranked))
    if size >= len(population):
        return [Pick(audit_id, RISK_RANKED, 1.0) for audit_id in population]
    top = round(size * (1.0 - random_share))
    rest = population[top:]
    drawn = random.Random(seed).sample(rest, size - top)
    probability = (size - top) / len(rest)
    return [Pick(a, RISK_RANKED, 1.0) for a in population[:top]] + [Pick(a, RANDOM, probability) for a in drawn]


def deal(picks: Sequence[Pick], coaches: Sequence[str], load: dict[str, int] | None = None) -> list[str]:
    """The coach of each pick: the one with the fewest open assignments so far (``load``), ties in the order named;
    with equal loads this is round-robin, so each coach gets risk-ranked and random calls alike."""
    if not coaches:
        raise SampleError("coaches: name at least one")
    open_count = {coach: (load or {}).get(coach, 0) for coach in coaches}
    order = {coach: position for position, coach in enumerate(coaches)}
    dealt = []
    for _ in picks:
        coach = min(coaches, key=lambda c: (open_count[c], order[c]))
        open_count[coach] += 1
        dealt.append(coach)
    return dealt


# --- the estimate (pure) -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stratum:
    """A stratum of the design: ``size`` calls in the population (for a rate over a subset, the estimated size of
    that subset), ``n`` of them reviewed, ``successes`` of those passed (or did the step)."""

    size: float
    n: int
    successes: int


@dataclass(frozen=True)
class RateEstimate:
    value: float | None
    """None when a stratum that holds calls has none reviewed yet (the interval then allows anything there)."""
    low: float
    high: float
    n: int
    """Reviewed calls the estimate uses."""
    method: str = METHOD


def _stratum_interval(stratum: Stratum) -> tuple[float, float, float] | None:
    """(rate, low, high) of one stratum, or None when none of it is reviewed."""
    if stratum.n == 0:
        return None
    rate = stratum.successes / stratum.n
    sampled = stratum.n / stratum.size if stratum.size > 0 else 1.0
    if sampled >= 1.0 - 1e-9:  # reviewed whole: known exactly
        return rate, rate, rate
    effective = stratum.n / (1.0 - sampled)  # the finite-population correction, as a larger sample
    successes = rate * effective
    low, high = _wilson(successes, effective)
    return rate, min(low, rate), max(high, rate)


def _wilson(successes: float, n: float) -> tuple[float, float]:
    if float(n).is_integer() and float(successes).is_integer():
        return wilson_interval(int(successes), int(n), CONFIDENCE)
    z = 1.959963984540054
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def stratified_rate(strata: Sequence[Stratum]) -> RateEstimate:
    """The population rate from reviewed calls of each stratum, weighted by stratum size, with its interval."""
    total = sum(s.size for s in strata if s.size > 0)
    n = sum(s.n for s in strata)
    if total <= 0:
        return RateEstimate(None, 0.0, 1.0, n)
    value: float | None = 0.0
    centre = 0.0  # the point the MOVER bounds hang from (unreviewed strata at 0 for the low, 1 for the high bound)
    low_parts: list[float] = []
    high_parts: list[float] = []
    high_shift = 0.0
    for stratum in strata:
        if stratum.size <= 0:
            continue
        weight = stratum.size / total
        known = _stratum_interval(stratum)
        if known is None:
            value = None
            high_shift += weight  # nothing reviewed: the stratum's rate may be anything from 0 to 1
            continue
        rate, low, high = known
        centre += weight * rate
        low_parts.append(weight * (rate - low))
        high_parts.append(weight * (high - rate))
    low = centre - math.sqrt(sum(x * x for x in low_parts))
    high = centre + high_shift + math.sqrt(sum(x * x for x in high_parts))
    return RateEstimate(None if value is None else centre, max(0.0, low), min(1.0, high), n)


def naive_rate(successes: int, n: int) -> RateEstimate:
    """Every reviewed call alike: what a reader would compute from the reviewed calls without the design."""
    low, high = wilson_interval(successes, n, CONFIDENCE)
    return RateEstimate(successes / n if n else None, low, high, n, NAIVE_METHOD)


# --- the store -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleFilters:
    sop_id: str | None = None
    agent_id: str | None = None
    since: date | None = None
    until: date | None = None

    def record(self) -> dict[str, str]:
        values = {"sop": self.sop_id, "agent": self.agent_id, "since": self.since, "until": self.until}
        return {key: str(value) for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class AssignmentView:
    assignment_id: int
    sample_id: int
    audit_id: int
    conversation_id: str
    agent_id: str | None
    sop_id: str
    coach: str
    assigned_by: str
    assigned_at: datetime
    done: bool
    done_at: datetime | None
    how: str
    inclusion_probability: float
    outcome: str
    risk: float


@dataclass(frozen=True)
class SampleView:
    sample_id: int
    drawn_by: str
    drawn_at: datetime
    filters: dict[str, str]
    seed: int
    size: int
    random_share: float
    population: int
    risk_ranked: int
    random_drawn: int
    assignments: list[AssignmentView] = field(default_factory=list)

    @property
    def per_coach(self) -> dict[str, int]:
        return dict(Counter(a.coach for a in self.assignments))


def population_ids(session: Session, filters: SampleFilters) -> list[int]:
    """The latest audits that match, in the review queue's order: needs review first, then riskiest, newest."""
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
    return list(
        session.scalars(
            select(AuditRow.id)
            .where(*conditions)
            .order_by(
                case((AuditRow.outcome == "needs_review", 0), else_=1), AuditRow.risk.desc(), when.desc(), AuditRow.id
            )
        )
    )


def draw_sample(
    session: Session,
    filters: SampleFilters,
    *,
    size: int,
    random_share: float,
    coaches: Sequence[str],
    drawn_by: str,
    seed: int | None = None,
) -> SampleView:
    """Draw a sample from the store's latest audits, store it and assign its audits to ``coaches`` by load."""
    coaches = list(dict.fromkeys(c.strip() for c in coaches if c.strip()))
    if not coaches:
        raise SampleError("coaches: name at least one")
    if any(len(c) > 100 for c in coaches) or len(drawn_by) > 100:
        raise SampleError("coaches: a name is at most 100 characters")
    if size > MAX_SAMPLE:
        raise SampleError(f"size: at most {MAX_SAMPLE}")
    if seed is None:
        seed = secrets.randbelow(MAX_SEED)
    if not 0 <= seed <= MAX_SEED:
        raise SampleError(f"seed: between 0 and {MAX_SEED}")
    ranked = population_ids(session, filters)
    picks = plan_sample(ranked, size, random_share, seed)
    sample = ReviewSampleRow(
        drawn_by=drawn_by,
        drawn_at=utc_now(),
        filters=filters.record(),
        seed=seed,
        size=size,
        random_share=random_share,
        population=len(ranked),
        risk_ranked=sum(p.how == RISK_RANKED for p in picks),
        random_drawn=sum(p.how == RANDOM for p in picks),
    )
    session.add(sample)
    refresh_done(session)
    load = dict(
        session.execute(
            select(AssignmentRow.coach, func.count())
            .where(AssignmentRow.coach.in_(coaches), AssignmentRow.done_at.is_(None))
            .group_by(AssignmentRow.coach)
        ).all()
    )
    now = utc_now()
    for position, (pick, coach) in enumerate(zip(picks, deal(picks, coaches, load), strict=True)):
        sample.assignments.append(
            AssignmentRow(
                audit_id=pick.audit_id,
                position=position,
                coach=coach,
                assigned_by=drawn_by,
                assigned_at=now,
                how=pick.how,
                inclusion_probability=pick.probability,
            )
        )
    session.flush()
    refresh_done(session)
    view = sample_view(session, sample.id)
    assert view is not None
    return view


def _reviewed_by(coach: Any) -> Any:
    """SQL: the assigned coach has recorded a verdict on the assignment's conversation and SOP."""
    return (
        exists()
        .where(AuditRow.id == AssignmentRow.audit_id)
        .where(
            exists().where(
                StepReviewRow.conversation_pk == AuditRow.conversation_pk,
                StepReviewRow.sop_id == AuditRow.sop_id,
                StepReviewRow.reviewer == coach,
            )
        )
    )


def refresh_done(session: Session) -> int:
    """Mark done the open assignments whose coach has reviewed their conversation (any step verdict, on this
    audit or a later one of the same conversation and SOP); returns how many it marked."""
    result = session.execute(
        update(AssignmentRow)
        .where(AssignmentRow.done_at.is_(None), _reviewed_by(AssignmentRow.coach))
        .values(done_at=utc_now())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _assignment_views(session: Session, *conditions: Any) -> list[AssignmentView]:
    rows = session.execute(
        select(AssignmentRow, AuditRow, ConversationRow.conversation_id)
        .join(AuditRow, AuditRow.id == AssignmentRow.audit_id)
        .join(ConversationRow, ConversationRow.id == AuditRow.conversation_pk)
        .where(*conditions)
        .order_by(AssignmentRow.done_at.is_not(None), AssignmentRow.sample_id.desc(), AssignmentRow.position)
    ).all()
    return [
        AssignmentView(
            assignment_id=a.id,
            sample_id=a.sample_id,
            audit_id=a.audit_id,
            conversation_id=conversation_id,
            agent_id=audit.agent_id,
            sop_id=audit.sop_id,
            coach=a.coach,
            assigned_by=a.assigned_by,
            assigned_at=a.assigned_at,
            done=a.done_at is not None,
            done_at=a.done_at,
            how=a.how,
            inclusion_probability=a.inclusion_probability,
            outcome=final_outcome(audit),
            risk=audit.risk,
        )
        for a, audit, conversation_id in rows
    ]


def assignments(
    session: Session, coach: str | None = None, sample_id: int | None = None, open_only: bool = False
) -> list[AssignmentView]:
    """Assignments (a coach's, a sample's, or all), open ones first; ``done`` is brought up to date first."""
    refresh_done(session)
    conditions: list[Any] = []
    if coach is not None:
        conditions.append(AssignmentRow.coach == coach)
    if sample_id is not None:
        if not 1 <= sample_id <= MAX_ROW_ID:
            return []  # no sample has an id the store's integer cannot hold (a database error on PostgreSQL)
        conditions.append(AssignmentRow.sample_id == sample_id)
    if open_only:
        conditions.append(AssignmentRow.done_at.is_(None))
    return _assignment_views(session, *conditions)


def sample_view(session: Session, sample_id: int) -> SampleView | None:
    sample = session.get(ReviewSampleRow, sample_id) if 1 <= sample_id <= MAX_ROW_ID else None
    if sample is None:
        return None
    return _view(sample, _assignment_views(session, AssignmentRow.sample_id == sample_id))


def samples(session: Session, limit: int = 20) -> list[SampleView]:
    """The newest samples first, without their assignments."""
    rows = session.scalars(select(ReviewSampleRow).order_by(ReviewSampleRow.id.desc()).limit(limit))
    return [_view(row, []) for row in rows]


def _view(sample: ReviewSampleRow, rows: list[AssignmentView]) -> SampleView:
    return SampleView(
        sample_id=sample.id,
        drawn_by=sample.drawn_by,
        drawn_at=sample.drawn_at,
        filters=dict(sample.filters),
        seed=sample.seed,
        size=sample.size,
        random_share=sample.random_share,
        population=sample.population,
        risk_ranked=sample.risk_ranked,
        random_drawn=sample.random_drawn,
        assignments=rows,
    )


# --- what a review decided -----------------------------------------------------------------------------------------


def final_outcome(audit: AuditRow) -> str:
    """The conversation's outcome after review (the auditor's when nobody reviewed it)."""
    return audit.final_outcome or audit.outcome


def reviewed_statuses(session: Session, audit_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Each audit's final step statuses: the coaches' where they reviewed the step, the auditor's otherwise."""
    ids = list(audit_ids)
    statuses: dict[int, dict[str, str]] = defaultdict(dict)
    final = func.coalesce(AuditStepRow.final_status, AuditStepRow.status)
    for chunk in range(0, len(ids), 500):
        for audit_id, step_id, status in session.execute(
            select(AuditStepRow.audit_id, AuditStepRow.step_id, final).where(
                AuditStepRow.audit_id.in_(ids[chunk : chunk + 500])
            )
        ):
            statuses[audit_id][step_id] = status
    return statuses


DECIDED_FOR_RATE = frozenset({"done", "missing", "late", "out_of_order", "violated"})
"""A step counts toward its done rate when decided and applicable (not ``not_applicable``, not ``uncertain``)."""


@dataclass(frozen=True)
class SampleEstimate:
    sample: SampleView
    reviewed: int
    """Sampled audits reviewed so far (by their coach)."""
    pass_rate: RateEstimate
    naive_pass_rate: RateEstimate
    step_done: dict[str, RateEstimate]
    """Per step id: the share of calls (where the step applies) in which it was done."""


def estimate(session: Session, sample_id: int) -> SampleEstimate | None:
    """The unbiased estimate of compliance over the sample's population, from its reviewed audits."""
    refresh_done(session)
    view = sample_view(session, sample_id)
    if view is None:
        return None
    reviewed = [a for a in view.assignments if a.done]
    sizes = {RISK_RANKED: float(view.risk_ranked), RANDOM: float(view.population - view.risk_ranked)}
    outcomes = {a.audit_id: a.outcome for a in reviewed}
    strata = [
        Stratum(
            sizes[how],
            sum(a.how == how for a in reviewed),
            sum(a.how == how and outcomes[a.audit_id] == "passed" for a in reviewed),
        )
        for how in (RISK_RANKED, RANDOM)
    ]
    passed = sum(outcome == "passed" for outcome in outcomes.values())
    statuses = reviewed_statuses(session, outcomes)
    how_of = {a.audit_id: a.how for a in reviewed}
    sampled_of = Counter(a.how for a in view.assignments)
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: {RISK_RANKED: [0, 0], RANDOM: [0, 0]})
    for audit_id, steps in statuses.items():
        for step_id, status in steps.items():
            if status in DECIDED_FOR_RATE:
                cell = counts[step_id][how_of[audit_id]]
                cell[0] += 1
                cell[1] += status == "done"
    step_done = {}
    for step_id in sorted(counts):
        parts = []
        for how in (RISK_RANKED, RANDOM):
            n, done = counts[step_id][how]
            reviewed_here = sum(a.how == how for a in reviewed)
            # the subset's size in the stratum, estimated from the reviewed calls (a ratio estimate)
            size = sizes[how] * n / reviewed_here if reviewed_here else (sizes[how] if sampled_of[how] else 0.0)
            parts.append(Stratum(size, n, done))
        step_done[step_id] = stratified_rate(parts)
    naive = naive_rate(passed, len(reviewed))
    return SampleEstimate(view, len(reviewed), stratified_rate(strata), naive, step_done)


def latest_sample_id(session: Session) -> int | None:
    return session.scalar(select(func.max(ReviewSampleRow.id)))
