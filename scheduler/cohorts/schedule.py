"""Weekly session schedules: pure functions, no database, no clock.

Sessions fall on the start date's weekday at the same local wall-clock time in
the cohort's IANA zone, whatever daylight saving does in between. A skipped date
pushes the schedule out a week, so there are always `session_count` sessions.

A wall-clock time that does not exist on a date (inside a spring-forward gap) is
refused, naming the date. One that happens twice (inside a fall-back overlap)
means the first occurrence (fold=0), the earlier instant.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class ScheduleError(ValueError):
    """Input that cannot make a schedule; `field` names what the client must fix."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PlannedSession:
    number: int
    local_date: date
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC


def local_to_utc(day: date, wall_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time; ScheduleError if it does not exist."""
    local = datetime.combine(day, wall_time, tzinfo=zone)  # fold=0: the first of two
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ScheduleError(
            "start_time",
            f"{wall_time:%H:%M} does not exist on {day.isoformat()} in {zone.key} "
            "(the clocks skip it for daylight saving); choose another time.",
        )
    return instant


def planned_start(cohort) -> datetime | None:
    """The first session as the weekly rule planned it (start_date at start_time in the cohort's
    zone): what "Thursdays at 6:00 PM" describes, whichever session was later moved or cancelled."""
    hour, minute = (int(part) for part in cohort.start_time.split(":"))
    try:
        return local_to_utc(cohort.start_date, time(hour, minute), ZoneInfo(cohort.timezone))
    except ScheduleError:
        return None


def resolve_local(wall: datetime, zone: ZoneInfo, offset: timedelta | None, field: str) -> datetime:
    """The UTC instant of a naive local date-time in `zone`.

    With no offset, an ambiguous time means its first occurrence, as in schedules.
    With an offset, it must be one the zone uses at that wall time (it picks which
    of two ambiguous instants is meant). A time inside a gap is refused either way,
    never silently moved an hour.
    """
    candidates = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in candidates:
            candidates.append(instant)
    if not candidates:
        raise ScheduleError(
            field,
            f"{wall:%H:%M} does not exist on {wall.date().isoformat()} in {zone.key} "
            "(the clocks skip it for daylight saving); choose another time.",
        )
    if offset is None:
        return candidates[0]
    for instant in candidates:
        if instant.astimezone(zone).utcoffset() == offset:
            return instant
    raise ScheduleError(
        field,
        f"{zone.key} is not at that UTC offset at {wall:%Y-%m-%d %H:%M}; "
        "give the local time without an offset, or use starts_at (UTC).",
    )


def weekly_dates(start_date: date, session_count: int, skip_dates: list[date]) -> list[date]:
    """The session dates: weekly from start_date, stepping over skipped dates."""
    skips = set(skip_dates)
    if len(skips) != len(skip_dates):
        raise ScheduleError("skip_dates", "A date appears more than once.")
    if start_date in skips:
        raise ScheduleError(
            "skip_dates",
            f"{start_date.isoformat()} is the start date, which always has the first session; move start_date instead.",
        )
    dates, day = [], start_date
    while len(dates) < session_count:
        if day not in skips:
            dates.append(day)
        day += timedelta(weeks=1)
    last = dates[-1]
    for skip in sorted(skips):
        if skip < start_date or (skip - start_date).days % 7 != 0:
            raise ScheduleError(
                "skip_dates",
                f"{skip.isoformat()} is not one of the cohort's weekly "
                f"dates ({start_date:%A}s from {start_date.isoformat()}).",
            )
        if skip > last:
            raise ScheduleError(
                "skip_dates",
                f"{skip.isoformat()} is after the last session ({last.isoformat()}), so skipping it changes nothing.",
            )
    return dates


def plan_sessions(
    start_date: date,
    start_time: time,
    tz_name: str,
    session_count: int,
    duration_minutes: int,
    skip_dates: list[date] = (),
) -> list[PlannedSession]:
    """Every session of a cohort, numbered from 1, with UTC start and end instants."""
    zone = ZoneInfo(tz_name)
    length = timedelta(minutes=duration_minutes)
    planned = []
    for number, day in enumerate(weekly_dates(start_date, session_count, list(skip_dates)), start=1):
        starts = local_to_utc(day, start_time, zone)
        planned.append(PlannedSession(number, day, starts, starts + length))
    return planned
