"""The enrolment state machine: exactly the moves in the contract's table, nothing else."""

import itertools

import pytest

import scheduler.models  # noqa: F401  (every table, so that relationships resolve)
from scheduler.enrolment.models import STATUSES, Enrolment
from scheduler.foundation.errors import Conflict

ALLOWED = {
    ("pending_payment", "confirmed"),
    ("pending_payment", "expired"),
    ("pending_payment", "withdrawn"),
    ("pending_payment", "cancelled"),
    ("waitlisted", "offered"),
    ("waitlisted", "withdrawn"),
    ("waitlisted", "cancelled"),
    ("offered", "pending_payment"),
    ("offered", "confirmed"),
    ("offered", "expired"),
    ("offered", "withdrawn"),
    ("offered", "cancelled"),
    ("confirmed", "withdrawn"),
    ("confirmed", "cancelled"),
}


@pytest.mark.parametrize("before, after", list(itertools.product(STATUSES, STATUSES)))
def test_only_the_contracts_moves_are_allowed(before, after):
    enrolment = Enrolment(status=before)
    if (before, after) in ALLOWED:
        enrolment.move_to(after)
        assert enrolment.status == after
    else:
        with pytest.raises(Conflict):
            enrolment.move_to(after)
        assert enrolment.status == before
