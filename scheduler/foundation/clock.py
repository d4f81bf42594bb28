"""The one clock of the service: aware UTC instants. Tests move it with time-machine.

Deadlines (holds, offers, leases) are compared across processes and machines, so they are
judged by one clock: the database's. A process that follows it (follow_database, on
PostgreSQL) measures how far its own clock is from the database's now and then, and now()
adds that offset; a machine whose clock is 20 s off then agrees with the others to within
a round trip. SQLite has no clock of its own: the one machine's is the database's.
"""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

REMEASURE_SECONDS = 60.0

_offset = timedelta(0)
_read_database: Callable[[], datetime] | None = None
_measured_at = float("-inf")
_lock = threading.Lock()


def now() -> datetime:
    if _read_database is not None and time.monotonic() - _measured_at >= REMEASURE_SECONDS:
        _measure()
    return datetime.now(UTC) + _offset


def follow_database(read_now: Callable[[], datetime] | None) -> None:
    """Judge time by the database (read_now() returns its now), or, with None, by this machine's clock."""
    global _read_database, _offset, _measured_at
    with _lock:
        _read_database, _offset, _measured_at = read_now, timedelta(0), float("-inf")


def offset() -> timedelta:
    """How far the database's clock is ahead of this machine's, as last measured."""
    return _offset


def _measure() -> None:
    """Measure the offset; other threads wanting the time meanwhile wait for it (a thread that read
    the clock unadjusted while the first measurement ran would be as far off as the machine)."""
    global _offset, _measured_at
    with _lock:
        if _read_database is None or time.monotonic() - _measured_at < REMEASURE_SECONDS:
            return
        try:
            before = datetime.now(UTC)
            theirs = _read_database()
            after = datetime.now(UTC)
        except Exception:  # the database is away: keep the last offset; the request will say so
            pass
        else:
            _offset = theirs - (before + (after - before) / 2)
        _measured_at = time.monotonic()  # once a minute, even if the read failed
