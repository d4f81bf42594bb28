"""The one clock of the service: aware UTC instants. Tests move it with time-machine."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
