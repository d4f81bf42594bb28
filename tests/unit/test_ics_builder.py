"""The ICS builder on its own: a pure function, no database, no clock."""

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from scheduler.calendars.builder import FeedEvent, build_feed

NY = ZoneInfo("America/New_York")
CHANGED = datetime(2030, 9, 1, 12, 0, 0, 123456, tzinfo=UTC)
LINK = "https://video.example/j/123?pwd=" + "a" * 80  # long enough to need folding


def weekly(count=12, tz="America/New_York", **overrides):
    zone = ZoneInfo(tz)
    events = []
    for n in range(count):
        start = datetime(2030, 10, 3, 18, 0, tzinfo=zone) + timedelta(weeks=n)  # wall-clock weekly
        values = {
            "uid": f"ses_{n:02d}@scheduler.test",
            "starts_at": start.astimezone(UTC),
            "ends_at": (start + timedelta(minutes=90)).astimezone(UTC),
            "tz": tz,
            "summary": "Group session",
            "meeting_url": LINK,
            "sequence": 0,
            "last_modified": CHANGED,
            "created": CHANGED,
            "cancelled": False,
        }
        values.update(overrides)
        events.append(FeedEvent(**values))
    return events


def lines(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\r\n")
    return raw[:-2].split(b"\r\n")


def unfolded(raw: bytes) -> list[str]:
    return raw.decode().replace("\r\n ", "").split("\r\n")


def test_same_input_gives_same_bytes_whatever_the_order_given():
    events = weekly()
    assert build_feed(events, name="Group sessions") == build_feed(list(reversed(events)), name="Group sessions")


def test_crlf_line_endings_and_folded_lines():
    raw = build_feed(weekly(), name="Group sessions")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in lines(raw))
    assert any(line.startswith(b" ") for line in lines(raw)), "the long meeting link should be folded"
    assert f"LOCATION:{LINK}" in unfolded(raw)


def test_calendar_properties_for_subscribed_feeds():
    text = unfolded(build_feed(weekly(), name="Group sessions"))
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in text
    assert "X-PUBLISHED-TTL:PT1H" in text
    assert "X-WR-CALNAME:Group sessions" in text
    assert not any(line.startswith("METHOD") for line in text)


def test_attachment_build_leaves_out_refresh_properties():
    text = unfolded(build_feed(weekly(), name="Group sessions", refresh=None))
    assert not any(line.startswith(("REFRESH-INTERVAL", "X-PUBLISHED-TTL", "METHOD")) for line in text)


def test_every_tzid_has_a_vtimezone_limited_to_the_span():
    events = weekly(6) + weekly(2, tz="Europe/Berlin")
    raw = build_feed(events, name="Group sessions")
    cal = Calendar.from_ical(raw)
    used = set(re.findall(r";TZID=([^:;]+)", raw.decode()))
    declared = {tz["TZID"] for tz in cal.walk("VTIMEZONE")}
    assert used == declared == {"America/New_York", "Europe/Berlin"}
    assert cal.get_missing_tzids() == set()
    # Only the transitions near the sessions, not every one since 1970.
    ny = next(tz for tz in cal.walk("VTIMEZONE") if tz["TZID"] == "America/New_York")
    assert len(ny.subcomponents) <= 3


def test_no_floating_times_and_dtstamp_is_the_last_change_not_now():
    text = unfolded(build_feed(weekly(), name="Group sessions"))
    in_event = False
    for line in text:
        in_event = (in_event or line == "BEGIN:VEVENT") and line != "END:VEVENT"
        if in_event and line.startswith(("DTSTART", "DTEND")):
            assert line.startswith(("DTSTART;TZID=America/New_York:", "DTEND;TZID=America/New_York:")), line
        if line.startswith(("DTSTAMP", "LAST-MODIFIED", "CREATED")):
            assert line.endswith("Z"), line
    assert text.count("DTSTAMP:20300901T120000Z") == 12
    assert text.count("LAST-MODIFIED:20300901T120000Z") == 12


def test_naive_datetimes_are_refused():
    event = replace(weekly(1)[0], starts_at=datetime(2030, 10, 3, 18, 0))
    with pytest.raises(ValueError, match="naive"):
        build_feed([event], name="Group sessions")


def test_wall_clock_time_holds_across_daylight_saving():
    cal = Calendar.from_ical(build_feed(weekly(), name="Group sessions"))
    starts = [e.start for e in cal.walk("VEVENT")]
    assert {(s.hour, s.minute) for s in starts} == {(18, 0)}
    assert {s.utcoffset() for s in starts} == {timedelta(hours=-4), timedelta(hours=-5)}


def test_cancelled_sessions_stay_marked_cancelled_with_their_sequence():
    events = weekly(3)
    events[1] = replace(events[1], cancelled=True, sequence=2)
    cal = Calendar.from_ical(build_feed(events, name="Group sessions"))
    vevents = cal.walk("VEVENT")
    assert [str(e["STATUS"]) for e in vevents] == ["CONFIRMED", "CANCELLED", "CONFIRMED"]
    assert [e["SEQUENCE"] for e in vevents] == [0, 2, 0]


def test_without_a_meeting_link_nothing_empty_is_written():
    cal = Calendar.from_ical(build_feed(weekly(1, meeting_url=None), name="Group sessions"))
    event = cal.walk("VEVENT")[0]
    assert "LOCATION" not in event and "URL" not in event
    assert "email" in str(event["DESCRIPTION"])


def test_same_bytes_in_every_process_whatever_the_hash_seed():
    # Several zones: their VTIMEZONEs must come out in the same order in every worker.
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import hashlib\n"
        "from tests.unit.test_ics_builder import weekly\n"
        "from scheduler.calendars.builder import build_feed\n"
        "events = weekly(3) + weekly(3, tz='Europe/Berlin') + weekly(3, tz='Asia/Tokyo')\n"
        "print(hashlib.sha256(build_feed(events, name='Group sessions')).hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[2]
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1


def test_a_title_with_a_line_break_from_an_old_row_still_builds_a_feed():
    """Input refuses line breaks now, but a title stored before that must not break a feed (500)."""
    event = weekly(1)[0]
    raw = build_feed([replace(event, summary="Group\nsession\u2028today")], name="Old\r\nname")
    assert b"SUMMARY:Group session today" in raw and b"NAME:Old name" in raw
