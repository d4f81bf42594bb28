"""Weekly schedules across daylight-saving changes, skip dates, gaps and overlaps (no database)."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.cohorts.schedule import ScheduleError, plan_sessions, weekly_dates

UTC = UTC


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


CASES = [
    # (why, start_date, start_time, zone, count, skips, {session number: expected UTC start})
    (
        "autumn change in New York: 18:00 EDT then 18:00 EST",
        date(2026, 10, 22),
        time(18, 0),
        "America/New_York",
        12,
        [],
        {1: "2026-10-22T22:00", 2: "2026-10-29T22:00", 3: "2026-11-05T23:00", 12: "2027-01-07T23:00"},
    ),
    (
        "spring change in London: 19:00 GMT then 19:00 BST",
        date(2026, 3, 12),
        time(19, 0),
        "Europe/London",
        12,
        [],
        {1: "2026-03-12T19:00", 3: "2026-03-26T19:00", 4: "2026-04-02T18:00", 12: "2026-05-28T18:00"},
    ),
    (
        "southern hemisphere: Sydney leaves daylight saving in April",
        date(2026, 3, 24),
        time(10, 30),
        "Australia/Sydney",
        12,
        [],
        {1: "2026-03-23T23:30", 2: "2026-03-30T23:30", 3: "2026-04-07T00:30", 12: "2026-06-09T00:30"},
    ),
    (
        "two skip dates push the schedule out two weeks",
        date(2026, 10, 22),
        time(18, 0),
        "America/New_York",
        12,
        [date(2026, 11, 26), date(2026, 12, 24)],
        {5: "2026-11-19T23:00", 6: "2026-12-03T23:00", 9: "2026-12-31T23:00", 12: "2027-01-21T23:00"},
    ),
    (
        "a zone without daylight saving",
        date(2026, 1, 5),
        time(9, 0),
        "Asia/Kolkata",
        3,
        [],
        {1: "2026-01-05T03:30", 3: "2026-01-19T03:30"},
    ),
]


@pytest.mark.parametrize("why,start,at,zone,count,skips,expected", CASES, ids=[c[0] for c in CASES])
def test_schedule_table(why, start, at, zone, count, skips, expected):
    planned = plan_sessions(start, at, zone, count, 90, skips)
    assert len(planned) == count
    assert [p.number for p in planned] == list(range(1, count + 1))
    for number, instant in expected.items():
        assert planned[number - 1].starts_at == _utc(instant), (why, number)
    for p in planned:
        local = p.starts_at.astimezone(ZoneInfo(zone))
        assert (local.weekday(), local.time()) == (start.weekday(), at)
        assert p.local_date not in skips
        assert p.ends_at - p.starts_at == timedelta(minutes=90)


def test_a_time_inside_the_spring_gap_is_refused_naming_the_date():
    # 2027-03-14 is New York's second Sunday of March: 02:00-03:00 does not exist.
    with pytest.raises(ScheduleError) as caught:
        plan_sessions(date(2027, 2, 28), time(2, 30), "America/New_York", 4, 60)
    assert caught.value.field == "start_time"
    assert "2027-03-14" in caught.value.message and "02:30" in caught.value.message


def test_an_ambiguous_fall_back_time_takes_the_first_occurrence():
    # 2026-11-01 01:30 happens twice in New York: first at EDT (05:30Z), then at EST (06:30Z).
    planned = plan_sessions(date(2026, 10, 25), time(1, 30), "America/New_York", 2, 60)
    assert planned[1].starts_at == _utc("2026-11-01T05:30")


def test_skip_dates_must_be_weekly_dates_distinct_and_within_the_schedule():
    start = date(2026, 10, 22)
    with pytest.raises(ScheduleError, match="not one of the cohort's weekly dates"):
        weekly_dates(start, 12, [date(2026, 11, 25)])
    with pytest.raises(ScheduleError, match="more than once"):
        weekly_dates(start, 12, [date(2026, 11, 26), date(2026, 11, 26)])
    with pytest.raises(ScheduleError, match="before the start|not one of"):
        weekly_dates(start, 12, [date(2026, 10, 15)])
    with pytest.raises(ScheduleError, match="start date"):
        weekly_dates(start, 12, [start])


ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Asia/Tehran",
    "Pacific/Chatham",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Australia/Lord_Howe",
    "UTC",
]


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    zone=st.sampled_from(ZONES),
    count=st.integers(1, 100),
    skip_weeks=st.sets(st.integers(1, 20), max_size=4),
)
def test_property_same_weekday_same_local_time_increasing_exact_count(start, hour, minute, zone, count, skip_weeks):
    at = time(hour, minute)
    # Weeks 1 … count-1 after the start are always inside the schedule, so valid skips.
    skips = sorted(start + timedelta(weeks=w) for w in skip_weeks if w < count)
    try:
        planned = plan_sessions(start, at, zone, count, 60, skips)
    except ScheduleError as refused:
        # The only refusal for weekly skip dates inside the schedule is a wall time in a DST gap.
        assert refused.field == "start_time"
        return
    assert len(planned) == count
    starts = [p.starts_at for p in planned]
    assert all(a < b for a, b in pairwise(starts))
    for p in planned:
        local = p.starts_at.astimezone(ZoneInfo(zone))
        assert local.weekday() == start.weekday()
        assert (local.hour, local.minute) == (hour, minute)
        assert local.date() == p.local_date and p.local_date not in skips
