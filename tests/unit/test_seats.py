"""Seat arithmetic without a database: lapsed holds and offers hold nothing, at their instant."""

from datetime import UTC, datetime, timedelta

import pytest

import scheduler.models  # noqa: F401  (every table, so that relationships resolve)
from scheduler.enrolment.models import Enrolment
from scheduler.enrolment.seats import SeatCount

T = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    "enrolment, before, at",
    [
        (Enrolment(status="pending_payment", hold_expires_at=T), True, False),
        (Enrolment(status="offered", offer_expires_at=T), True, False),
        (Enrolment(status="confirmed"), True, True),
        (Enrolment(status="waitlisted"), False, False),
        (Enrolment(status="expired", hold_expires_at=T + timedelta(days=1)), False, False),
        (Enrolment(status="withdrawn"), False, False),
        (Enrolment(status="cancelled"), False, False),
    ],
)
def test_a_hold_or_offer_stops_holding_at_its_expiry_instant(enrolment, before, at):
    assert enrolment.holds_seat(T - TICK) is before
    assert enrolment.holds_seat(T) is at


def test_available_never_goes_negative():
    assert SeatCount(capacity=3, taken=1, waitlisted=0).available == 2
    assert SeatCount(capacity=3, taken=5, waitlisted=2).available == 0
