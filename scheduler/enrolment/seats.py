"""Seat arithmetic. Counted from enrolment rows, never from a stored counter.

A hold or offer past its expiry holds nothing, even before a job notices it
(Enrolment.holds_seat is the one definition, in Python and in SQL).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from ..cohorts.models import SeatCount
from ..cohorts.services import count_seats_with
from ..extensions import db
from .models import Enrolment, EnrolmentStatus

__all__ = ["SeatCount", "EnrolSeats", "seat_counts", "seats_for_enrolling"]


@count_seats_with
def seat_counts(cohorts, at: datetime) -> dict[str, SeatCount]:
    """SeatCount for each cohort, in one query."""
    ids = [c.id for c in cohorts]
    rows = {}
    if ids:
        stmt = (
            select(
                Enrolment.cohort_id,
                func.sum(case((Enrolment.holds_seat(at), 1), else_=0)),
                func.sum(case((Enrolment.status == EnrolmentStatus.WAITLISTED, 1), else_=0)),
            )
            .where(Enrolment.cohort_id.in_(ids))
            .group_by(Enrolment.cohort_id)
        )
        rows = {cid: (int(taken or 0), int(waiting or 0)) for cid, taken, waiting in db.session.execute(stmt)}
    return {c.id: SeatCount(c.capacity, *rows.get(c.id, (0, 0))) for c in cohorts}


@dataclass(frozen=True)
class EnrolSeats:
    """What enrolling one more person needs to know about a cohort, in one query."""

    count: SeatCount
    lapsed: int  # holds and offers past their expiry that nobody marked expired yet
    next_rank: int  # the waitlist rank a newcomer gets


def seats_for_enrolling(cohort, at: datetime) -> EnrolSeats:
    """Seats, lapsed holds and the waitlist's last rank of one cohort (called under its lock)."""
    taken, waiting, lapsed, last_rank = db.session.execute(
        select(
            func.sum(case((Enrolment.holds_seat(at), 1), else_=0)),
            func.sum(case((Enrolment.status == EnrolmentStatus.WAITLISTED, 1), else_=0)),
            func.sum(case((Enrolment.lapsed(at), 1), else_=0)),
            func.max(Enrolment.waitlist_rank),
        ).where(Enrolment.cohort_id == cohort.id)
    ).one()
    return EnrolSeats(
        SeatCount(cohort.capacity, int(taken or 0), int(waiting or 0)), int(lapsed or 0), (last_rank or 0) + 1
    )
