"""Enrolment jobs: expire lapsed holds and offers, and offer the freed seats."""

from .. import clock
from ..jobs import job


@job("expire-holds-and-offers")
def expire_holds_and_offers() -> int:
    """Move lapsed holds and offers to expired and cascade offers; returns how many expired."""
    from . import services

    expired = 0
    # One short transaction per cohort, so one busy cohort does not hold up the rest.
    for cohort_id in services.cohorts_with_lapsed(clock.now()):
        expired += services.settle_cohort(cohort_id)
    return expired
