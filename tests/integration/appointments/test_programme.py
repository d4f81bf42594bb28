"""Issue 25, the person's whole programme: cancelling an individual session from their page (a
confirmation step, the cutoff), one calendar holding the group and the individual sessions that three
independent readers read alike, and a move that follows in the therapist's own feed too."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from icalendar import Calendar

from tests.desk_support import post_form, sign_in, text_of
from tests.helpers import bearer, enrolled
from tests.integration.admission.test_intakes import mail_to
from tests.integration.appointments.test_individual import T0, series, therapist
from tests.integration.calendars.test_feeds import READERS, read_with

STAFF_FEED = re.compile(r"https://scheduler\.test(/calendar/staff/cal_[A-Za-z0-9_-]+\.ics)")


def open_page(client, person) -> None:
    link = urlsplit(person["manage_url"])
    assert client.get(f"{link.path}?{link.query}").status_code == 303  # the emailed link sets the cookie


def schedule(client, person, desk, **overrides) -> list[dict]:
    made = client.post(
        f"/api/v1/enrolments/{person['id']}/individual-series",
        json={**series(**overrides), "staff_id": overrides.pop("staff_id", None) or therapist().id},
        headers=desk,
    )
    assert made.status_code == 201, made.json
    return made.json


def test_the_person_cancels_an_individual_session_from_their_page_after_confirming(client, auth, make_cohort):
    desk = auth("front_desk")
    person = enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=desk)
    with time_machine.travel(T0, tick=False):
        first, second = schedule(client, person, desk, count=2)
        open_page(client, person)
        page = client.get(f"/me/{person['id']}").get_data(as_text=True)
        confirm_url = f"/me/{person['id']}/individual/{first['id']}/cancel"
        assert 'aria-label="Cancel the individual session of Tuesday, October 22, 2030 at 10:00 AM EDT"' in page
        assert f'href="{confirm_url}"' in page
        # The link only asks: nothing is cancelled until the person confirms.
        asked = client.get(confirm_url)
        assert asked.status_code == 200 and "Cancel your individual session?" in text_of(asked)
        assert "Keep the session" in text_of(asked)
        assert client.get(f"/api/v1/appointments/{first['id']}", headers=desk).status_code in (404, 405)
        statuses = [
            a["status"] for a in client.get(f"/api/v1/enrolments/{person['id']}/appointments", headers=desk).json
        ]
        assert statuses == ["booked", "booked"]
        done = post_form(client, confirm_url, confirm_url)
        assert done.status_code == 303 and done.headers["Location"].endswith(f"/me/{person['id']}")
        after = client.get(f"/me/{person['id']}")
        assert "Your individual session of Tuesday, October 22, 2030 at 10:00 AM EDT is cancelled" in text_of(after)
        assert "October 22, 2030 at 10:00 AM EDT : cancelled" in text_of(after)
        statuses = [
            a["status"] for a in client.get(f"/api/v1/enrolments/{person['id']}/appointments", headers=desk).json
        ]
        assert statuses == ["cancelled", "booked"]
        # Its join link now says so, in the clinic's own page; the other session's link says when it opens.
        gone = client.get(urlsplit(first["join_url"]).path)
        assert gone.status_code == 410 and 'rel="stylesheet"' in gone.get_data(as_text=True)
        assert "This link no longer opens the appointment" in text_of(gone)
        waiting = text_of(client.get(urlsplit(second["join_url"]).path))
        assert "Your appointment opens soon" in waiting and "Tuesday, October 29, 2030" in waiting
    [told] = mail_to("ana@example.org", "individual_cancelled")
    assert "as you asked" in told.body_text


def test_within_the_cutoff_the_page_sends_the_person_to_the_clinic(client, auth, make_cohort):
    desk = auth("front_desk")
    person = enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=desk)
    with time_machine.travel(T0, tick=False) as traveller:
        [only] = schedule(client, person, desk, count=1)
        open_page(client, person)
        traveller.move_to(datetime(2030, 10, 21, 15, 0, tzinfo=UTC))  # 23 hours before; the cutoff is 24
        page = client.get(f"/me/{person['id']}")
        assert "Cancel the individual session" not in page.get_data(as_text=True)
        assert "until 24 hours before it" in text_of(page)
        confirm_url = f"/me/{person['id']}/individual/{only['id']}/cancel"
        asked = client.get(confirm_url)
        assert "can be cancelled online until 24 hours before it" in text_of(asked)
        assert "Cancel the session" not in text_of(asked)
        refused = post_form(client, f"/me/{person['id']}/withdraw", confirm_url)
        assert refused.status_code == 303
        assert "until 24 hours before it; please contact the clinic" in text_of(client.get(f"/me/{person['id']}"))
        [still] = client.get(f"/api/v1/enrolments/{person['id']}/appointments", headers=desk).json
        assert still["status"] == "booked"


def test_another_persons_session_cannot_be_cancelled_from_my_page(client, auth, make_cohort):
    desk = auth("front_desk")
    cohort = make_cohort(price_amount=0, capacity=5)
    ana = enrolled(client, cohort, "ana@example.org", headers=desk)
    ben = enrolled(client, cohort, "ben@example.org", headers=desk)
    with time_machine.travel(T0, tick=False):
        [hers] = schedule(client, ana, desk, count=1)
        open_page(client, ben)
        assert client.get(f"/me/{ben['id']}/individual/{hers['id']}/cancel").status_code == 404
        assert (
            post_form(
                client, f"/me/{ben['id']}/withdraw", f"/me/{ben['id']}/individual/{hers['id']}/cancel"
            ).status_code
            == 404
        )
        # Without Ana's link, her own page's route is closed.
        assert client.get(f"/me/{ana['id']}/individual/{hers['id']}/cancel").status_code == 403
        [still] = client.get(f"/api/v1/enrolments/{ana['id']}/appointments", headers=desk).json
        assert still["status"] == "booked"


@pytest.fixture
def combined(client, auth, make_cohort):
    """Ana is in a group (Thursdays 18:00, New York, from 3 October 2030) and has three individual
    sessions (Tuesdays 10:00), one then moved and one cancelled; the group's third session is
    cancelled too. Returns her feed's bytes and what each reader should find."""
    desk = auth("front_desk")
    cohort = make_cohort(price_amount=0, session_count=4)
    person = enrolled(client, cohort, "ana@example.org", headers=desk)
    feed = client.get(f"/api/v1/enrolments/{person['id']}", headers=bearer(person["manage_token"])).json
    path = urlsplit(feed["calendar_url"]).path
    with time_machine.travel(T0, tick=False):
        first, second, third = schedule(client, person, desk, count=3)
        client.patch(f"/api/v1/appointments/{second['id']}", json={"starts_at": "2030-10-30T18:00:00Z"}, headers=desk)
        client.patch(f"/api/v1/appointments/{third['id']}", json={"status": "cancelled"}, headers=desk)
        session = sorted(cohort.sessions, key=lambda s: s.starts_at)[2]
        cancelled = client.patch(f"/api/v1/sessions/{session.id}", json={"status": "cancelled"}, headers=auth("admin"))
        assert cancelled.status_code in (200, 201), cancelled.json
        raw = client.get(path).data
    group = [
        ("2030-10-03T18:00:00", "2030-10-03T22:00:00Z", "CONFIRMED"),
        ("2030-10-10T18:00:00", "2030-10-10T22:00:00Z", "CONFIRMED"),
        ("2030-10-17T18:00:00", "2030-10-17T22:00:00Z", "CANCELLED"),
        ("2030-10-24T18:00:00", "2030-10-24T22:00:00Z", "CONFIRMED"),
    ]
    mine = [
        ("2030-10-22T10:00:00", "2030-10-22T14:00:00Z", "CONFIRMED"),
        ("2030-10-30T14:00:00", "2030-10-30T18:00:00Z", "CONFIRMED"),  # moved from the 29th
        ("2030-11-05T10:00:00", "2030-11-05T15:00:00Z", "CANCELLED"),  # after the change of offset
    ]
    uids = [f"{s.id}@scheduler.test" for s in sorted(cohort.sessions, key=lambda s: s.starts_at)]
    uids += [f"{a['id']}@scheduler.test" for a in (first, second, third)]
    expected = [
        {"uid": uid, "local_start": local, "start_utc": utc, "status": status}
        for uid, (local, utc, status) in zip(uids, group + mine, strict=True)
    ]
    return raw, sorted(expected, key=lambda r: r["start_utc"])


@pytest.mark.parametrize("reader", READERS)
def test_three_readers_read_the_persons_combined_feed_alike(combined, reader, tmp_path):
    raw, expected = combined
    rows = read_with(reader, raw, tmp_path)
    assert sorted(rows, key=lambda r: r["start_utc"]) == expected


def test_the_combined_feed_names_neither_the_therapist_nor_the_program(combined):
    raw, _ = combined
    summaries = {str(e["SUMMARY"]) for e in Calendar.from_ical(raw).walk("VEVENT")}
    assert "Appointment" in summaries and len(summaries) == 2  # the program's calendar title and "Appointment"
    for secret in (b"Tess", b"Hart", b"ana@example.org"):
        assert secret not in raw.replace(b"\r\n ", b"")


def test_a_move_follows_in_the_therapists_feed_as_in_the_persons(client, auth, make_cohort):
    desk = auth("front_desk")
    tess = therapist()
    person = enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=desk)
    console = client.application.test_client()
    with time_machine.travel(T0, tick=False) as traveller:
        [made] = schedule(client, person, desk, count=1, staff_id=tess.id)
        sign_in(console, tess)
        staff_url = STAFF_FEED.search(text_of(console.get("/desk/account")))[1]
        person_url = urlsplit(
            client.get(f"/api/v1/enrolments/{person['id']}", headers=bearer(person["manage_token"])).json[
                "calendar_url"
            ]
        ).path
        before = {url: client.get(url) for url in (staff_url, person_url)}
        traveller.shift(timedelta(minutes=5))
        moved = client.patch(
            f"/api/v1/appointments/{made['id']}", json={"starts_at": "2030-10-23T14:00:00Z"}, headers=desk
        )
        assert moved.status_code == 200, moved.json
        for url in (staff_url, person_url):
            after = client.get(url)
            assert after.headers["ETag"] != before[url].headers["ETag"]
            assert client.get(url, headers={"If-None-Match": before[url].headers["ETag"]}).status_code == 200
            [event] = [e for e in Calendar.from_ical(after.data).walk("VEVENT") if str(e["UID"]).startswith(made["id"])]
            assert event["DTSTART"].dt.isoformat() == "2030-10-23T10:00:00-04:00"
            assert int(event["SEQUENCE"]) == 1 and str(event["STATUS"]) == "CONFIRMED"
        staff_text = client.get(staff_url).data.replace(b"\r\n ", b"")
        assert b"ana@example.org" not in staff_text and b"Rivera" not in staff_text
