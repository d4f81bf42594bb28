"""Seat arithmetic. Counted from enrolment rows, never from a stored counter.

A hold or offer past its expiry holds nothing, even before a job notices it.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select

from ..extensions import db
from .models import Enrolment


@dataclass(frozen=True)
class SeatCount:
    capacity: int
    taken: int
    waitlisted: int

    @property
    def available(self) -> int:
        return max(0, self.capacity - self.taken)

    @property
    def free_for_newcomers(self) -> bool:
        """A newcomer takes a seat only when one is free and nobody is waiting for it."""
        return self.available > 0 and self.waitlisted == 0


def holds_seat_clause(at: datetime):
    """SQL for Enrolment.holds_seat(at)."""
    return or_(
        Enrolment.status == "confirmed",
        and_(Enrolment.status == "pending_payment", Enrolment.hold_expires_at > at),
        and_(Enrolment.status == "offered", Enrolment.offer_expires_at > at),
    )


def seat_counts(cohorts, at: datetime) -> dict[str, SeatCount]:
    """SeatCount for each cohort, in one query."""
    ids = [c.id for c in cohorts]
    rows = {}
    if ids:
        stmt = (
            select(
                Enrolment.cohort_id,
                func.sum(case((holds_seat_clause(at), 1), else_=0)),
                func.sum(case((Enrolment.status == "waitlisted", 1), else_=0)),
            )
            .where(Enrolment.cohort_id.in_(ids))
            .group_by(Enrolment.cohort_id)
        )
        rows = {cid: (int(taken or 0), int(waiting or 0)) for cid, taken, waiting in db.session.execute(stmt)}
    return {c.id: SeatCount(c.capacity, *rows.get(c.id, (0, 0))) for c in cohorts}
