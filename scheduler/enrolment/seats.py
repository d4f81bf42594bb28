"""Seat arithmetic. Counted from enrolment rows, never from a stored counter.

A hold or offer past its expiry holds nothing, even before a job notices it
(Enrolment.holds_seat is the one definition, in Python and in SQL).
"""

from datetime import datetime

from sqlalchemy import case, func, select

from ..cohorts.models import SeatCount
from ..cohorts.services import count_seats_with
from ..extensions import db
from .models import Enrolment, EnrolmentStatus

__all__ = ["SeatCount", "seat_counts"]


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
