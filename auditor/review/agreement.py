"""Agreement on step statuses: the auditor against coaches, and coaches against each other (calibration).

Several coaches at once (a calibration session) are measured with Fleiss' kappa, ``fleiss_kappa``.

Labels are the decided step statuses. A step the auditor left ``uncertain`` is an abstention, not a label: it is left
out of the auditor's pairs and counted in ``undecided`` (how many the coaches decided, and what). Accuracy is the
share of identical labels; Cohen's kappa corrects it for the agreement two raters with those label frequencies would
reach by chance, (p_o - p_e) / (1 - p_e). When both raters used one and the same label throughout, chance agreement
is 1 and kappa is undefined (None).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.store.tables import AuditRow, AuditStepRow, StepReviewRow

ALL_STEPS = "(all steps)"
UNDECIDED = "uncertain"


def cohens_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels given as (first, second) pairs; None when undefined."""
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[label] * second[label] for label in first) / (n * n)
    if expected >= 1.0:
        return None
    return round((observed - expected) / (1.0 - expected), 4)


def fleiss_kappa(items: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa of several raters: each item is the labels its raters gave (one per rater); None when undefined.

    Items rated by fewer than two raters are left out. With the same number of raters on every item this is Fleiss
    (1971); with different numbers, each item's agreement is over its own rater pairs and the label shares are over
    all the labels given (the usual generalisation). Chance agreement is the sum of squared label shares; kappa is
    undefined when every label given is the same one (chance agreement 1).
    """
    rated = [Counter(labels) for labels in items if len(labels) >= 2]
    if not rated:
        return None
    per_item = []
    for counts in rated:
        raters = sum(counts.values())
        per_item.append(sum(c * (c - 1) for c in counts.values()) / (raters * (raters - 1)))
    observed = sum(per_item) / len(per_item)
    totals: Counter[str] = Counter()
    for counts in rated:
        totals.update(counts)
    given = sum(totals.values())
    expected = sum((count / given) ** 2 for count in totals.values())
    if expected >= 1.0:
        return None
    return round((observed - expected) / (1.0 - expected), 4)


@dataclass(frozen=True)
class Agreement:
    """Agreement over ``n`` labelled pairs: accuracy, kappa and the pairs that differ as (first, second) counts."""

    sop_id: str
    step_id: str
    n: int
    accuracy: float
    kappa: float | None
    disagreements: dict[str, int] = field(default_factory=dict)
    first: str = "auditor"
    second: str = "coach"
    undecided: int = 0
    """Verdicts on steps the auditor left uncertain (not in ``n``): the coaches decided them."""
    decided_as: dict[str, int] = field(default_factory=dict)
    """What the coaches decided the auditor's uncertain steps were: status -> count."""


def agreement(sop_id: str, step_id: str, pairs: Sequence[tuple[str, str]], first: str, second: str) -> Agreement:
    """Agreement over the decided pairs; pairs whose first label is ``uncertain`` (an abstention) are counted apart."""
    undecided = Counter(b for a, b in pairs if a == UNDECIDED)
    pairs = [(a, b) for a, b in pairs if a != UNDECIDED]
    differ = Counter(f"{a} -> {b}" for a, b in pairs if a != b)
    accuracy = sum(a == b for a, b in pairs) / len(pairs) if pairs else 0.0
    return Agreement(
        sop_id,
        step_id,
        len(pairs),
        round(accuracy, 4),
        cohens_kappa(pairs),
        dict(differ),
        first,
        second,
        undecided=sum(undecided.values()),
        decided_as=dict(undecided),
    )


@dataclass
class AgreementReport:
    auditor: list[Agreement]
    """Per SOP and step, then ALL_STEPS per SOP: the newest audit's status against each coach's verdict."""
    coaches: list[Agreement]
    """Per SOP and pair of coaches who reviewed the same steps (all steps pooled), then per step (pairs pooled)."""
    reviewed_conversations: int
    reviews: int
    reviewers: list[str]


def agreement_report(session: Session, sop_id: str | None = None) -> AgreementReport:
    """Agreement over every stored review (or one SOP's): what a coach said against the newest audit's status."""
    query = select(StepReviewRow)
    if sop_id:
        query = query.where(StepReviewRow.sop_id == sop_id)
    reviews = list(session.scalars(query.order_by(StepReviewRow.sop_id, StepReviewRow.step_id)))
    current = _current_statuses(session, {(r.conversation_pk, r.sop_id) for r in reviews})
    by_step: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    by_sop: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for review in reviews:
        shown = current.get((review.conversation_pk, review.sop_id, review.step_id), review.auditor_status)
        by_step[(review.sop_id, review.step_id)].append((shown, review.coach_status))
        by_sop[review.sop_id].append((shown, review.coach_status))
    auditor = [agreement(sop, step, pairs, "auditor", "coach") for (sop, step), pairs in sorted(by_step.items())]
    auditor += [agreement(sop, ALL_STEPS, pairs, "auditor", "coach") for sop, pairs in sorted(by_sop.items())]
    return AgreementReport(
        auditor=auditor,
        coaches=_between_coaches(reviews),
        reviewed_conversations=len({(r.conversation_pk, r.sop_id) for r in reviews}),
        reviews=len(reviews),
        reviewers=sorted({r.reviewer for r in reviews}),
    )


def _current_statuses(session: Session, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str, str], str]:
    wanted = set(keys)
    if not wanted:
        return {}
    rows = session.execute(
        select(AuditRow.conversation_pk, AuditRow.sop_id, AuditStepRow.step_id, AuditStepRow.status)
        .join(AuditStepRow, AuditStepRow.audit_id == AuditRow.id)
        .where(AuditRow.latest.is_(True), AuditRow.conversation_pk.in_({pk for pk, _ in wanted}))
    )
    return {(pk, sop, step): status for pk, sop, step, status in rows if (pk, sop) in wanted}


def _between_coaches(reviews: Sequence[StepReviewRow]) -> list[Agreement]:
    """Pairs of coaches on the same (conversation, SOP, step): per coach pair, then per step."""
    same_step: dict[tuple[int, str, str], dict[str, str]] = defaultdict(dict)
    for review in reviews:
        same_step[(review.conversation_pk, review.sop_id, review.step_id)][review.reviewer] = review.coach_status
    by_pair: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    by_step: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for (_, sop, step), verdicts in same_step.items():
        for a, b in combinations(sorted(verdicts), 2):
            by_pair[(sop, a, b)].append((verdicts[a], verdicts[b]))
            by_step[(sop, step)].append((verdicts[a], verdicts[b]))
    rows = [agreement(sop, ALL_STEPS, pairs, a, b) for (sop, a, b), pairs in sorted(by_pair.items())]
    rows += [agreement(sop, step, pairs, "coach", "coach") for (sop, step), pairs in sorted(by_step.items())]
    return rows
