"""Calendar feeds over HTTP, read back by three independent iCalendar readers.

Participants and enrolments are written directly (the enrolment API is built
separately); sessions are changed through the cohorts API, as staff would.
"""

import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
import time_machine
import vobject
from icalendar import Calendar
from sqlalchemy import select
from werkzeug.http import http_date

from scheduler.calendars import services as calendars
from scheduler.cohorts.models import Cohort
from scheduler.enrolment.models import Enrolment, Participant
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db
from scheduler.foundation.links import enrolment_feed_urls, join_url, subscribe_links
from tests.helpers import QueryCounter, as_participant, enrolled

NY = ZoneInfo("America/New_York")
JS_DIR = Path(__file__).resolve().parents[2] / "js"
T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)  # before the cohort; after it is set up


@pytest.fixture
def enrol(app):
    """enrol(cohort, email=…, name=…, status=…) -> Enrolment, written straight to the database."""

    def make(cohort, email="sam@example.org", name="Sam Rivera", status="confirmed"):
        key = email.strip().lower()
        participant = db.session.scalar(select(Participant).where(Participant.email_normalised == key))
        if participant is None:
            participant = Participant(email_normalised=key)
        enrolment = Enrolment(
            cohort_id=cohort.id,
            participant=participant,
            status=status,
            name=name,
            email=email,
        )
        with write_transaction():
            db.session.add(enrolment)
        return enrolment

    return make


def move(enrolment_id: str, status: str) -> None:
    with write_transaction():
        db.session.get(Enrolment, enrolment_id).move_to(status)


@pytest.fixture
def dst_cohort(client, auth, make_program, make_cohort):
    """Twelve Thursdays at 18:00 New York across the end of daylight saving (2030-11-03),
    a skipped Thanksgiving, session 4 moved to Friday 19:30, session 9 cancelled."""
    program = make_program(
        name="Depression Recovery Group",
        description="For adults with major depression.",
        calendar_title="Group session",
        session_titles=["Understanding depression"] + [f"Week {n}" for n in range(2, 13)],
    )
    cohort = make_cohort(
        program=program,
        start_date=date(2030, 10, 3),
        start_time=datetime(2030, 1, 1, 18).time(),
        skip_dates=[date(2030, 11, 28)],
        session_count=12,
    )
    headers = auth("front_desk")
    sessions = {s.number: s.id for s in cohort.sessions}
    moved = client.patch(
        f"/api/v1/sessions/{sessions[4]}", headers=headers, json={"local_start": "2030-10-25T19:30:00-04:00"}
    )
    assert moved.status_code == 200, moved.get_json()
    cancelled = client.patch(f"/api/v1/sessions/{sessions[9]}", headers=headers, json={"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.get_json()
    return db.session.get(Cohort, cohort.id)


def expected(cohort) -> list[dict]:
    """What every reader must find: from the cohort's own session rows."""
    db.session.refresh(cohort)
    return [
        {
            "uid": f"{s.id}@scheduler.test",
            "local_start": s.starts_at.astimezone(NY).strftime("%Y-%m-%dT%H:%M:%S"),
            "start_utc": s.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": "CANCELLED" if s.status == "cancelled" else "CONFIRMED",
        }
        for s in sorted(cohort.sessions, key=lambda s: s.starts_at)
    ]


def feed_of(client, enrolment, **headers):
    return client.get(
        enrolment_feed_urls(enrolment)["calendar_url"].removeprefix("https://scheduler.test"),
        headers=headers,
    )


# ---- three readers ----------------------------------------------------------------------------


def _row(uid, start, status) -> dict:
    return {
        "uid": str(uid),
        "local_start": start.strftime("%Y-%m-%dT%H:%M:%S"),
        "start_utc": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": str(status).upper(),
    }


def read_with_recurring_ical_events(raw: bytes) -> list[dict]:
    cal = Calendar.from_ical(raw)
    found = recurring_ical_events.of(cal).between(date(2030, 9, 1), date(2031, 3, 1))
    rows = []
    for e in found:
        assert e["DTSTART"].dt.tzinfo is not None, "floating time"
        rows.append(_row(e["UID"], e["DTSTART"].dt, e["STATUS"]))
    return rows


def read_with_vobject(raw: bytes) -> list[dict]:
    # vobject keeps the first VTIMEZONE it reads per TZID for the whole process, and a feed's covers only
    # its own dates: forget earlier feeds' zones (all but its built-in UTC), so each is read with its own.
    zones = vars(vobject.icalendar)["__tzidMap"]
    for tzid in [tzid for tzid in zones if tzid != "UTC"]:
        del zones[tzid]
    cal = vobject.readOne(raw.decode())
    rows = []
    for e in cal.vevent_list:
        start = e.dtstart.value
        assert start.tzinfo is not None, "floating time"
        rows.append(_row(e.uid.value, start, e.status.value))
    return rows


def read_with_ical_js(raw: bytes, tmp_path) -> list[dict]:
    in_ci = os.environ.get("CI") == "true"
    if shutil.which("node") is None:
        if in_ci:
            pytest.fail("CI=true but node is not installed: the ical.js reader must run in CI.")
        pytest.skip("node is not installed: the ical.js reader did not run (install Node.js to run it).")
    if not (JS_DIR / "node_modules" / "ical.js").exists():
        if in_ci:
            pytest.fail("ical.js is not installed: .ci/run should have run `npm ci --prefix tests/js`.")
        pytest.skip("ical.js is not installed: run `npm ci --prefix tests/js` to run this reader.")
    path = tmp_path / "feed.ics"
    path.write_bytes(raw)
    done = subprocess.run(
        ["node", str(JS_DIR / "occurrences.mjs"), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert not any(r["floating"] for r in rows), "floating time"
    assert all(r["tzid"] == "America/New_York" for r in rows)
    return [{k: r[k] for k in ("uid", "local_start", "start_utc", "status")} for r in rows]


READERS = ["recurring-ical-events", "vobject", "ical.js"]


def read_with(reader: str, raw: bytes, tmp_path) -> list[dict]:
    """The feed's events as one of three independent readers sees them."""
    if reader == "recurring-ical-events":
        return read_with_recurring_ical_events(raw)
    if reader == "vobject":
        return read_with_vobject(raw)
    return read_with_ical_js(raw, tmp_path)


@pytest.mark.parametrize("reader", READERS)
def test_three_readers_agree_on_a_cohort_across_daylight_saving(client, dst_cohort, enrol, reader, tmp_path):
    enrolment = enrol(dst_cohort)
    response = feed_of(client, enrolment)
    assert response.status_code == 200
    rows = sorted(read_with(reader, response.data, tmp_path), key=lambda r: r["start_utc"])

    assert rows == expected(dst_cohort)
    assert len(rows) == 12
    wall_clock = [r["local_start"][11:16] for r in rows]
    assert wall_clock == ["18:00"] * 3 + ["19:30"] + ["18:00"] * 8  # the moved one at its new time
    assert rows[3]["local_start"] == "2030-10-25T19:30:00"
    assert "2030-11-28" not in {r["local_start"][:10] for r in rows}  # the skipped week
    assert [r["status"] for r in rows].count("CANCELLED") == 1
    assert rows[8]["status"] == "CANCELLED" and rows[8]["local_start"] == "2030-12-05T18:00:00"
    # Before and after the change of offset, the same wall-clock time: different UTC hours.
    assert rows[0]["start_utc"].endswith("22:00:00Z") and rows[-1]["start_utc"].endswith("23:00:00Z")


# ---- the feed's content -----------------------------------------------------------------------


def test_two_builds_with_nothing_changed_are_identical(client, dst_cohort, enrol):
    enrolment = enrol(dst_cohort)
    first, second = feed_of(client, enrolment), feed_of(client, enrolment)
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Last-Modified"] == second.headers["Last-Modified"]
    assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert not first.headers["ETag"].startswith("W/")  # strong: the bytes are the same


def test_a_reschedule_raises_sequence_keeps_uid_and_changes_validators(client, auth, dst_cohort, enrol):
    enrolment = enrol(dst_cohort)
    before = feed_of(client, enrolment)
    session = dst_cohort.sessions[5]
    old_event = _vevent(before.data, session.id)

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5)):
        moved = client.patch(
            f"/api/v1/sessions/{session.id}", headers=auth("admin"), json={"local_start": "2030-11-07T17:00:00-05:00"}
        )
        assert moved.status_code == 200
    after = feed_of(client, enrolment)
    new_event = _vevent(after.data, session.id)

    assert new_event["UID"] == old_event["UID"]
    assert new_event["SEQUENCE"] == old_event["SEQUENCE"] + 1
    assert new_event.start == datetime(2030, 11, 7, 17, 0, tzinfo=NY)
    assert new_event["LAST-MODIFIED"].dt > old_event["LAST-MODIFIED"].dt
    assert after.headers["ETag"] != before.headers["ETag"]
    assert feed_of(client, enrolment, **{"If-None-Match": before.headers["ETag"]}).status_code == 200
    assert feed_of(client, enrolment, **{"If-Modified-Since": before.headers["Last-Modified"]}).status_code == 200


def _vevent(raw: bytes, session_id: str):
    return next(e for e in Calendar.from_ical(raw).walk("VEVENT") if e["UID"].startswith(session_id + "@"))


def test_every_tzid_has_its_vtimezone_and_no_time_floats(client, dst_cohort, enrol):
    raw = feed_of(client, enrol(dst_cohort)).data
    cal = Calendar.from_ical(raw)
    assert cal.get_missing_tzids() == set()
    for vevent in cal.walk("VEVENT"):
        for key in ("DTSTART", "DTEND"):
            assert vevent[key].params["TZID"] == "America/New_York"
            assert vevent[key].dt.tzinfo is not None
        for key in ("DTSTAMP", "LAST-MODIFIED"):
            assert vevent[key].dt.utcoffset() == timedelta(0)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert b"METHOD" not in raw
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT" in raw and b"X-PUBLISHED-TTL:PT" in raw


def test_the_feed_shows_the_link_and_the_neutral_title_and_nothing_personal(client, dst_cohort, enrol, make_cohort):
    mine = enrol(dst_cohort, email="sam@example.org", name="Sam Rivera")
    enrol(dst_cohort, email="alex@example.org", name="Alex Other")
    other_cohort = make_cohort(meeting_url="https://video.example/j/other")
    enrol(other_cohort, email="jo@example.org", name="Jo Elsewhere")

    raw = feed_of(client, mine).data
    text = raw.decode().replace("\r\n ", "")
    cal = Calendar.from_ical(raw)
    events = cal.walk("VEVENT")
    assert len(events) == 12
    with client.application.test_request_context():
        personal = join_url(mine)
    for vevent in events:
        assert vevent["SUMMARY"] == "Group session"
        # The person's own join link, never the cohort's raw meeting link (it outlives a withdrawal).
        assert vevent["LOCATION"] == vevent["URL"] == personal
        assert personal in vevent["DESCRIPTION"]
    for secret in (
        "video.example/j/123",
        "Sam",
        "Rivera",
        "Alex",
        "Jo Elsewhere",
        "@example.org",
        "Depression",
        "depression",
        "Understanding",
        "video.example/j/other",
        dst_cohort.name,
    ):
        assert secret not in text, secret
    assert cal["X-WR-CALNAME"] == "Group sessions"


def test_each_enrolment_has_its_own_feed_and_leaving_empties_it(client, dst_cohort, enrol, make_cohort):
    with time_machine.travel(T0, tick=False):
        second_cohort = make_cohort(start_date=date(2031, 1, 9), session_count=4)
        first = enrol(dst_cohort)
        second = enrol(second_cohort)  # the same person (same email), another cohort
        before = feed_of(client, first)
    assert first.feed_token != second.feed_token
    assert {str(e["UID"]) for e in Calendar.from_ical(before.data).walk("VEVENT")} == {
        f"{s.id}@scheduler.test" for s in dst_cohort.sessions
    }
    assert len(Calendar.from_ical(feed_of(client, second).data).walk("VEVENT")) == 4

    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        move(first.id, "withdrawn")
    after = feed_of(client, first)
    assert after.status_code == 200 and Calendar.from_ical(after.data).walk("VEVENT") == []
    # A client holding the old validators must get the new (empty) feed.
    assert after.headers["ETag"] != before.headers["ETag"]
    assert feed_of(client, first, **{"If-None-Match": before.headers["ETag"]}).status_code == 200
    assert feed_of(client, first, **{"If-Modified-Since": before.headers["Last-Modified"]}).status_code == 200
    assert len(Calendar.from_ical(feed_of(client, second).data).walk("VEVENT")) == 4  # untouched

    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        move(second.id, "cancelled")
    assert Calendar.from_ical(feed_of(client, second).data).walk("VEVENT") == []


def test_enrolling_with_someone_elses_email_reaches_none_of_their_groups(client, dst_cohort, make_cohort):
    """Finding 1 of issue 14: a manage token proves one enrolment, never the email's others."""
    cohort = make_cohort(
        start_date=date(2031, 1, 9), session_count=4, price_amount=0, meeting_url="https://video.example/j/victim"
    )
    victim = enrolled(client, cohort, "victim@example.org", "V")
    free = make_cohort(price_amount=0, meeting_url="https://video.example/j/free")
    # The attacker has the victim's inbox only in this test: that is the one way to the link.
    mine = enrolled(client, free, "VICTIM@example.org", "X")
    as_attacker = as_participant(mine)
    seen = client.get(f"/api/v1/enrolments/{mine['id']}", headers=as_attacker).get_json()
    feed = client.get(seen["calendar_url"].removeprefix("https://scheduler.test")).data
    assert b"video.example" not in feed and seen["join_url"].encode() in feed.replace(b"\r\n ", b"")
    rotated = client.post(f"/api/v1/enrolments/{mine['id']}/calendar/rotate", headers=as_attacker)
    assert rotated.status_code == 200
    victim_view = client.get(f"/api/v1/enrolments/{victim['id']}", headers=as_participant(victim)).get_json()
    victim_feed = client.get(victim_view["calendar_url"].removeprefix("https://scheduler.test"))
    assert victim_feed.status_code == 200
    assert victim_view["join_url"].encode() in victim_feed.data.replace(b"\r\n ", b"")
    assert victim_view["join_url"] != seen["join_url"]
    assert victim_view["calendar_url"] != rotated.get_json()["calendar_url"]


def test_pending_and_waitlisted_enrolments_are_not_in_the_feed(client, dst_cohort, enrol):
    waiting = enrol(dst_cohort, status="waitlisted")
    assert Calendar.from_ical(feed_of(client, waiting).data).walk("VEVENT") == []


# ---- HTTP: conditional requests, HEAD, errors -------------------------------------------------


def test_conditional_requests(client, dst_cohort, enrol):
    enrolment = enrol(dst_cohort)
    full = feed_of(client, enrolment)
    etag, modified = full.headers["ETag"], full.headers["Last-Modified"]
    assert "private" in full.headers["Cache-Control"]

    not_modified = feed_of(client, enrolment, **{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag
    assert feed_of(client, enrolment, **{"If-None-Match": f'"nope", {etag}'}).status_code == 304
    assert feed_of(client, enrolment, **{"If-None-Match": "*"}).status_code == 304
    assert feed_of(client, enrolment, **{"If-Modified-Since": modified}).status_code == 304
    later = http_date(datetime.now(UTC) + timedelta(days=1))
    assert feed_of(client, enrolment, **{"If-Modified-Since": later}).status_code == 304

    stale = http_date(datetime(2020, 1, 1, tzinfo=UTC))
    for headers in (
        {"If-None-Match": '"0123456789"'},
        {"If-None-Match": "garbage"},
        {"If-Modified-Since": stale},
        {"If-Modified-Since": "yesterday, sort of"},
        {"If-None-Match": '"stale"', "If-Modified-Since": modified},
    ):
        response = feed_of(client, enrolment, **headers)
        assert response.status_code == 200, headers
        assert response.data == full.data


def test_head_gives_the_headers_without_the_body(client, dst_cohort, enrol):
    enrolment = enrol(dst_cohort)
    url = enrolment_feed_urls(enrolment)["calendar_url"].removeprefix("https://scheduler.test")
    full = client.get(url)
    head = client.head(url)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == full.headers["ETag"]
    assert head.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert client.head(url, headers={"If-None-Match": full.headers["ETag"]}).status_code == 304


def test_no_accept_header_is_needed_and_any_accept_gets_the_calendar(client, dst_cohort, enrol):
    # Google's fetcher sends no Accept header at all; the test client sends none by default.
    enrolment = enrol(dst_cohort)
    url = enrolment_feed_urls(enrolment)["calendar_url"].removeprefix("https://scheduler.test")
    bare = client.get(url)
    assert "HTTP_ACCEPT" not in bare.request.environ
    assert bare.status_code == 200 and bare.data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert client.get(url, headers={"Accept": "application/json"}).status_code == 200


def test_unknown_token_is_404_problem(client, app):
    for url in ("/calendar/cal_nope.ics", "/calendar/cohorts/cal_nope.ics"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.content_type == "application/problem+json"
        assert "calendar feed" in response.get_json()["detail"]


def test_serving_a_feed_is_one_query_for_a_200_and_a_304(app, client, dst_cohort, enrol):
    """The stored bytes and validators, looked up by the token's hash: no aggregate, no session row, no build."""
    enrolment = enrol(dst_cohort)
    cohort_url = f"/calendar/cohorts/{dst_cohort.feed_token}.ics"
    etag = feed_of(client, enrolment).headers["ETag"]
    cohort_etag = client.get(cohort_url).headers["ETag"]
    counts = {}
    for name, request in {
        "200": lambda: feed_of(client, enrolment),
        "304": lambda: feed_of(client, enrolment, **{"If-None-Match": etag}),
        "cohort 200": lambda: client.get(cohort_url),
        "cohort 304": lambda: client.get(cohort_url, headers={"If-None-Match": cohort_etag}),
    }.items():
        with QueryCounter() as queries:
            response = request()
        assert response.status_code == int(name[-3:])
        selects = [s for s in queries.statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1, queries.statements
        assert "calendar_feeds" in selects[0] and "sessions" not in selects[0]
        counts[name] = queries.count
    # The same number of statements for a 200 and a 304, and for every feed size.
    assert len(set(counts.values())) == 1, counts
    # A revalidation reads the validators only; when the client's copy is old, the bytes follow.
    with QueryCounter() as queries:
        stale = feed_of(client, enrolment, **{"If-None-Match": '"old"'})
    assert stale.status_code == 200 and stale.headers["ETag"] == etag and stale.data.startswith(b"BEGIN:VCALENDAR")
    assert len([s for s in queries.statements if s.lstrip().upper().startswith("SELECT")]) == 2


# ---- the cohort feed and its rotation ---------------------------------------------------------


def test_cohort_feed_has_the_same_events_and_no_participants(client, auth, dst_cohort, enrol):
    mine = enrol(dst_cohort, name="Sam Rivera")
    staff_view = client.get(f"/api/v1/cohorts/{dst_cohort.id}", headers=auth("front_desk")).get_json()
    url = staff_view["calendar_url"].removeprefix("https://scheduler.test")
    cohort_feed = client.get(url)
    assert cohort_feed.status_code == 200
    assert cohort_feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    participant_feed = feed_of(client, mine)
    uids = lambda raw: sorted(str(e["UID"]) for e in Calendar.from_ical(raw).walk("VEVENT"))  # noqa: E731
    assert uids(cohort_feed.data) == uids(participant_feed.data)
    text = cohort_feed.data.decode().replace("\r\n ", "")
    for secret in ("Sam", "Rivera", "@example.org", "Depression"):
        assert secret not in text
    assert client.get(url, headers={"If-None-Match": cohort_feed.headers["ETag"]}).status_code == 304


def test_a_cancelled_cohort_shows_every_session_cancelled_with_a_higher_sequence(client, auth, dst_cohort):
    url = client.get(f"/api/v1/cohorts/{dst_cohort.id}", headers=auth("admin")).get_json()["calendar_url"]
    url = url.removeprefix("https://scheduler.test")
    before = client.get(url)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1)):
        # Written directly: cancelling through the API also cancels enrolments (another domain).
        with write_transaction():
            cohort = db.session.get(Cohort, dst_cohort.id)
            cohort.status = "cancelled"
            cohort.updated_at = datetime.now(UTC)
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    old = {str(e["UID"]): e for e in Calendar.from_ical(before.data).walk("VEVENT")}
    new = Calendar.from_ical(after.data).walk("VEVENT")
    assert len(new) == 12 and {str(e["STATUS"]) for e in new} == {"CANCELLED"}
    for vevent in new:
        was = old[str(vevent["UID"])]
        if str(was["STATUS"]) == "CANCELLED":
            assert vevent["SEQUENCE"] == was["SEQUENCE"]
        else:
            assert vevent["SEQUENCE"] == was["SEQUENCE"] + 1


@pytest.mark.parametrize("role", ["admin", "front_desk"])
def test_rotating_the_cohort_token_retires_the_old_url(client, auth, dst_cohort, role):
    headers = auth(role)
    old_url = client.get(f"/api/v1/cohorts/{dst_cohort.id}", headers=headers).get_json()["calendar_url"]
    rotated = client.post(f"/api/v1/cohorts/{dst_cohort.id}/calendar/rotate", headers=headers)
    assert rotated.status_code == 200
    body = rotated.get_json()
    assert body["calendar_url"] != old_url and body["webcal_url"].startswith("webcal://scheduler.test/calendar/")
    assert client.get(old_url.removeprefix("https://scheduler.test")).status_code == 404
    assert client.get(body["calendar_url"].removeprefix("https://scheduler.test")).status_code == 200
    shown = client.get(f"/api/v1/cohorts/{dst_cohort.id}", headers=headers).get_json()["calendar_url"]
    assert shown == body["calendar_url"]


def test_rotation_is_for_the_desk_only(client, auth, make_staff, dst_cohort):
    url = f"/api/v1/cohorts/{dst_cohort.id}/calendar/rotate"
    assert client.post(url).status_code == 401
    assert client.post(url, headers=auth("facilitator")).status_code == 403
    assert client.post("/api/v1/cohorts/coh_missing/calendar/rotate", headers=auth("admin")).status_code == 404


def test_a_participant_rotates_their_own_feed_token_and_the_old_url_dies(client, auth, dst_cohort, enrol):
    enrolment = enrol(dst_cohort)
    old = feed_of(client, enrolment)
    assert old.status_code == 200
    old_url = enrolment_feed_urls(enrolment)["calendar_url"]
    url = f"/api/v1/enrolments/{enrolment.id}/calendar/rotate"
    assert client.post(url).status_code == 401
    other = enrol(dst_cohort, email="robin@example.org", name="Robin")
    as_other = {"Authorization": f"Bearer {other.manage_token}"}
    assert client.post(url, headers=as_other).status_code == 404  # someone else's enrolment
    rotated = client.post(url, headers={"Authorization": f"Bearer {enrolment.manage_token}"})
    assert rotated.status_code == 200
    new_url = rotated.get_json()["calendar_url"]
    assert new_url != old_url and rotated.get_json()["webcal_url"].startswith("webcal://")
    assert client.get(old_url.removeprefix("https://scheduler.test")).status_code == 404
    assert client.get(new_url.removeprefix("https://scheduler.test")).data == old.data
    again = client.post(url, headers=auth("front_desk"))  # the desk can do it on the phone
    assert again.status_code == 200 and again.get_json()["calendar_url"] != new_url


def test_a_retitle_changes_the_stored_feed(client, auth, dst_cohort, enrol):
    enrolment = enrol(dst_cohort)
    first = feed_of(client, enrolment)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5)):
        client.patch(f"/api/v1/sessions/{dst_cohort.sessions[0].id}", headers=auth("admin"), json={"title": "Renamed"})
    # A retitle changes no visible field but raises SEQUENCE: the stored feed must follow.
    second = feed_of(client, enrolment)
    assert second.headers["ETag"] != first.headers["ETag"] and second.data != first.data


# ---- links and the email attachment -----------------------------------------------------------


def test_subscribe_links(dst_cohort, enrol):
    enrolment = enrol(dst_cohort)
    links = subscribe_links(enrolment)
    token = enrolment.feed_token
    assert links["calendar_url"] == f"https://scheduler.test/calendar/{token}.ics"
    assert links["webcal_url"] == f"webcal://scheduler.test/calendar/{token}.ics"
    assert links["google_url"].startswith("https://calendar.google.com/calendar/r?cid=https%3A%2F%2F")
    assert links["apple_url"] == links["webcal_url"]


def test_enrolment_ics_has_the_same_events_as_the_feed(client, dst_cohort, enrol):
    enrolment = enrol(dst_cohort)
    attachment = calendars.enrolment_ics(enrolment)
    feed = feed_of(client, enrolment).data
    events = lambda raw: [(str(e["UID"]), e["SEQUENCE"], e.start) for e in Calendar.from_ical(raw).walk("VEVENT")]  # noqa: E731
    assert events(attachment) == events(feed)
    assert b"REFRESH-INTERVAL" not in attachment and b"METHOD" not in attachment


def test_revoking_a_facilitator_replaces_the_feeds_of_their_cohorts(client, make_staff, make_cohort):
    """Issue 14: a revoked facilitator's saved cohort feed link stops working; other cohorts keep theirs."""
    admin, admin_token = make_staff("admin")
    facilitator, _ = make_staff("facilitator")
    theirs = make_cohort(facilitator_ids=[facilitator.id])
    other = make_cohort()
    theirs_url = f"/calendar/cohorts/{theirs.feed_token}.ics"
    other_url = f"/calendar/cohorts/{other.feed_token}.ics"
    assert client.get(theirs_url).status_code == 200
    revoked = client.delete(f"/api/v1/staff/{facilitator.id}", headers={"Authorization": f"Bearer {admin_token}"})
    assert revoked.status_code == 200
    assert client.get(theirs_url).status_code == 404
    assert client.get(other_url).status_code == 200
    fresh = client.get(f"/api/v1/cohorts/{theirs.id}", headers={"Authorization": f"Bearer {admin_token}"}).get_json()
    assert client.get(fresh["calendar_url"].removeprefix("https://scheduler.test")).status_code == 200
