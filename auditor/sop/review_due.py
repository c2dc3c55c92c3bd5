"""When an SOP is due for its next review by its owner (the Check step of Plan-Do-Check-Act)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from auditor.sop_format import Sop


@dataclass(frozen=True)
class ReviewStatus:
    """``due`` is None when the SOP sets no review interval; ``overdue_days`` > 0 when the review is late."""

    due: date | None
    overdue_days: int
    message: str | None

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


def review_status(sop: Sop, today: date | None = None) -> ReviewStatus:
    """Whether ``sop`` is overdue for review on ``today``: last review + interval < today."""
    today = today or date.today()
    if sop.review_interval_days is None:
        return ReviewStatus(None, 0, None)
    if sop.last_reviewed is None:
        return ReviewStatus(
            today, 1, f"never reviewed (review every {sop.review_interval_days} days): set last_reviewed"
        )
    due = sop.last_reviewed + timedelta(days=sop.review_interval_days)
    if due >= today:
        return ReviewStatus(due, 0, None)
    late = (today - due).days
    return ReviewStatus(
        due, late, f"overdue for review since {due.isoformat()} ({late} days; last {sop.last_reviewed})"
    )
