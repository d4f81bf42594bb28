"""Seat arithmetic. Counted from enrolment rows, never from a stored counter.

A hold or offer past its expiry holds nothing, even before a job notices it
(Enrolment.holds_seat is the one definition, in Python and in SQL).
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import and_, bindparam, case, func, select, type_coerce

from ..cohorts.models import SeatCount
from ..foundation.database import UTCDateTime
from ..foundation.extensions import db
from .models import Enrolment, EnrolmentStatus

__all__ = ["SeatCount", "EnrolSeats", "seat_counts", "seats_for_enrolling"]


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
                func.min(_lapses_at(at)),
            )
            .where(Enrolment.cohort_id.in_(ids))
            .group_by(Enrolment.cohort_id)
        )
        rows = {
            cid: (int(taken or 0), int(waiting or 0), lapses)
            for cid, taken, waiting, lapses in db.session.execute(stmt)
        }
    return {c.id: SeatCount(c.capacity, *rows.get(c.id, (0, 0, None))) for c in cohorts}


def _lapses_at(at: datetime):
    """When a hold or offer that holds a seat at `at` stops holding it (NULL for every other row)."""
    return type_coerce(
        case(
            (
                and_(Enrolment.status == EnrolmentStatus.PENDING_PAYMENT, Enrolment.hold_expires_at > at),
                Enrolment.hold_expires_at,
            ),
            (
                and_(Enrolment.status == EnrolmentStatus.OFFERED, Enrolment.offer_expires_at > at),
                Enrolment.offer_expires_at,
            ),
        ),
        UTCDateTime,
    )


@dataclass(frozen=True)
class EnrolSeats:
    """What enrolling one more person needs to know about a cohort, in one query."""

    count: SeatCount
    lapsed: int  # holds and offers past their expiry that nobody marked expired yet
    next_rank: int  # the waitlist rank a newcomer gets


@cache
def _enrolling_statement():
    """The query of seats_for_enrolling, built once (it runs under the cohort's lock: no time to spare)."""
    at = bindparam("at", type_=UTCDateTime())
    return select(
        func.sum(case((Enrolment.holds_seat(at), 1), else_=0)),
        func.sum(case((Enrolment.status == EnrolmentStatus.WAITLISTED, 1), else_=0)),
        func.sum(case((Enrolment.lapsed(at), 1), else_=0)),
        func.max(Enrolment.waitlist_rank),
    ).where(Enrolment.cohort_id == bindparam("cohort_id"))


def seats_for_enrolling(cohort, at: datetime) -> EnrolSeats:
    """Seats, lapsed holds and the waitlist's last rank of one cohort (called under its lock)."""
    taken, waiting, lapsed, last_rank = db.session.execute(
        _enrolling_statement(), {"at": at, "cohort_id": cohort.id}
    ).one()
    return EnrolSeats(
        SeatCount(cohort.capacity, int(taken or 0), int(waiting or 0)), int(lapsed or 0), (last_rank or 0) + 1
    )
