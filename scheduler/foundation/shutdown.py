"""A stop asked of this process (SIGTERM to a worker): long jobs look at it between items.

A job that holds claimed work (the outbox's leased rows, the request inbox) finishes the item
in hand, hands the rest back and returns, so that a worker told to stop records what it did
and exits within seconds instead of leaving leases to run out.
"""

import threading

_stop = threading.Event()


def request() -> None:
    _stop.set()


def requested() -> bool:
    return _stop.is_set()


def wait(seconds: float) -> bool:
    """Sleep up to `seconds`, waking early when a stop is asked; True when it was."""
    return _stop.wait(seconds)


def reset() -> None:
    """Forget a stop (tests that run several workers in one process)."""
    _stop.clear()
