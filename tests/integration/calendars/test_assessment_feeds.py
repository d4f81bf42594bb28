"""Assessment appointments in calendars: the person's feed (linked from their intake page and the booking
email) and the assessor's own staff feed (linked from the console's account page).

A booked assessment is "Appointment" in the person's feed and "Assessment" in the assessor's, with
the same UID; a move cancels the old event (higher SEQUENCE) and adds the new one in both; the
assessor's feed also has the sessions of the groups they facilitate. No program, diagnosis or
person is named in either feed; the links die with erasure, replacement and revocation.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import time_machine
from icalendar import Calendar

from tests.desk_support import post_form, sign_in, text_of
from tests.integration.admission.test_assessments import T0, assessor
from tests.integration.admission.test_intakes import mail_to, requested
from tests.integration.calendars.test_feeds import READERS, read_with

PROGRAM = "Dialectical skills for borderline personality"
PERSON_FEED = re.compile(r"https://scheduler\.test(/calendar/intakes/cal_[A-Za-z0-9_-]+\.ics)")
STAFF_FEED = re.compile(r"https://scheduler\.test(/calendar/staff/cal_[A-Za-z0-9_-]+\.ics)")
NINE, TEN_TO_TEN = "2030-10-08T13:00:00Z", "2030-10-08T13:50:00Z"  # Tuesday 8 October, New York 09:00 and 09:50


@dataclass
class Scene:
    intake_id: str
    me: dict
    appointment: dict
    person_url: str
    staff_url: str
    console: object
    assessor: object
    group: object


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def book(client, scene_or_id, me, at: str) -> dict:
    intake_id = getattr(scene_or_id, "intake_id", scene_or_id)
    done = client.post(f"/api/v1/intakes/{intake_id}/appointment", json={"starts_at": at}, headers=me)
    assert done.status_code == 201, done.json
    return done.json["appointment"]


@pytest.fixture
def scene(client, auth, make_program, make_cohort, at_t0) -> Scene:
    """Ana Ruiz booked an assessment with Dr Ada Lind, who also facilitates a group (Thursdays, two sessions)."""
    program = make_program(admission="intake", name=PROGRAM, calendar_title="Group session")
    ada = assessor(client, auth, name="Dr Ada Lind")
    group = make_cohort(program=program, start_date=date(2030, 10, 10), session_count=2, facilitator_ids=[ada.id])
    intake_id, me = requested(client, program, "ana@example.org", name="Ana Ruiz")
    appointment = book(client, intake_id, me, NINE)
    [told] = mail_to("ana@example.org", "assessment_booked")
    person_url = PERSON_FEED.search(told.body_text)[1]
    assert f"webcal://scheduler.test{person_url}" in told.body_text
    console = client.application.test_client()
    sign_in(console, ada)
    page = console.get("/desk/account")
    assert "Your calendar" in text_of(page)
    staff_url = STAFF_FEED.search(text_of(page))[1]
    assert f'href="webcal://scheduler.test{staff_url}"' in page.get_data(as_text=True)
    return Scene(intake_id, me, appointment, person_url, staff_url, console, ada, group)


def events(raw: bytes) -> dict:
    """UID -> VEVENT."""
    return {str(e["UID"]): e for e in Calendar.from_ical(raw).walk("VEVENT")}


def unfolded(raw: bytes) -> str:
    return raw.replace(b"\r\n ", b"").decode()


def uid(row_id: str) -> str:
    return f"{row_id}@scheduler.test"


def test_a_booked_assessment_is_an_appointment_for_the_person_and_an_assessment_for_the_assessor(client, scene):
    person = client.get(scene.person_url)
    assert person.status_code == 200 and person.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in person.headers["Cache-Control"] and person.headers["ETag"]
    [mine] = events(person.data).values()
    assert str(mine["UID"]) == uid(scene.appointment["id"])
    assert mine["SUMMARY"] == "Appointment" and mine["STATUS"] == "CONFIRMED"
    assert mine["DTSTART"].params["TZID"] == "America/New_York"
    assert mine.start.isoformat() == "2030-10-08T09:00:00-04:00"
    assert mine["LOCATION"] == scene.appointment["join_url"]  # the person's own link, not the video room
    assert scene.appointment["join_url"] in mine["DESCRIPTION"]
    assert f"https://scheduler.test/me/intakes/{scene.intake_id}" in mine["DESCRIPTION"]
    assert "token=" not in unfolded(person.data)  # the page's link, never the manage token

    staff = client.get(scene.staff_url)
    assert staff.status_code == 200
    found = events(staff.data)
    theirs = found[uid(scene.appointment["id"])]
    assert theirs["SUMMARY"] == "Assessment" and theirs["STATUS"] == "CONFIRMED" and theirs.start == mine.start
    assert "LOCATION" not in theirs and scene.appointment["join_url"] not in unfolded(staff.data)
    assert f"https://scheduler.test/desk/intakes/{scene.intake_id}" in theirs["DESCRIPTION"]
    # The group Ada facilitates: both its sessions, under the program's calendar title.
    sessions = [found[uid(s.id)] for s in scene.group.sessions]
    assert [str(s["SUMMARY"]) for s in sessions] == ["Group session", "Group session"]
    assert sessions[0].start.isoformat() == "2030-10-10T18:00:00-04:00"


def test_the_intake_page_offers_the_feed_once_booked(client, scene):
    token = scene.me["Authorization"].removeprefix("Bearer ")
    assert client.get(f"/me/intakes/{scene.intake_id}?token={token}").status_code == 303
    page = client.get(f"/me/intakes/{scene.intake_id}")
    html = page.get_data(as_text=True)
    assert "Add to your calendar" in text_of(page)
    assert f'href="webcal://scheduler.test{scene.person_url}"' in html
    assert f'href="https://scheduler.test{scene.person_url}"' in html


def test_moving_the_appointment_cancels_the_old_event_and_adds_the_new_in_both_feeds(client, scene, at_t0):
    before = {url: client.get(url) for url in (scene.person_url, scene.staff_url)}
    at_t0.shift(timedelta(minutes=5))
    moved = book(client, scene, scene.me, TEN_TO_TEN)
    assert moved["id"] != scene.appointment["id"]
    old_uid, new_uid = uid(scene.appointment["id"]), uid(moved["id"])
    for url, title in ((scene.person_url, "Appointment"), (scene.staff_url, "Assessment")):
        after = client.get(url)
        assert after.headers["ETag"] != before[url].headers["ETag"]
        # A calendar app holding the old copy gets the new one, by either validator.
        assert client.get(url, headers={"If-None-Match": before[url].headers["ETag"]}).status_code == 200
        assert client.get(url, headers={"If-Modified-Since": before[url].headers["Last-Modified"]}).status_code == 200
        was, now = events(before[url].data)[old_uid], events(after.data)
        assert now[old_uid]["STATUS"] == "CANCELLED" and now[old_uid]["SEQUENCE"] > was["SEQUENCE"]
        assert now[old_uid].start == was.start
        assert now[new_uid]["STATUS"] == "CONFIRMED" and now[new_uid]["SUMMARY"] == title
        assert now[new_uid].start.isoformat() == "2030-10-08T09:50:00-04:00"
    person = unfolded(client.get(scene.person_url).data)
    assert moved["join_url"] in person and scene.appointment["join_url"] not in person  # the old link is dead


@pytest.mark.parametrize("reader", READERS)
def test_three_readers_read_the_persons_feed_alike(client, scene, at_t0, reader, tmp_path):
    at_t0.shift(timedelta(minutes=5))
    moved = book(client, scene, scene.me, TEN_TO_TEN)
    rows = read_with(reader, client.get(scene.person_url).data, tmp_path)
    assert sorted(rows, key=lambda r: r["start_utc"]) == [
        {
            "uid": uid(scene.appointment["id"]),
            "local_start": "2030-10-08T09:00:00",
            "start_utc": NINE,
            "status": "CANCELLED",
        },
        {"uid": uid(moved["id"]), "local_start": "2030-10-08T09:50:00", "start_utc": TEN_TO_TEN, "status": "CONFIRMED"},
    ]


def test_neither_feed_names_the_program_the_person_or_the_clinician(client, scene):
    book(client, scene, scene.me, TEN_TO_TEN)  # a cancelled event too
    for url in (scene.person_url, scene.staff_url):
        raw = client.get(url).data
        text = unfolded(raw)
        for secret in ("Dialectical", "borderline", "personality", "Ana Ruiz", "Ruiz", "Ada Lind", "Lind"):
            assert secret.encode() not in raw and secret not in text, (url, secret)
        for secret in ("example.org", "staff.test", scene.group.name):
            assert secret not in text, (url, secret)
        calendar = Calendar.from_ical(raw)
        assert {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")} <= {"Appointment", "Assessment", "Group session"}
        assert calendar["X-WR-CALNAME"] in ("Appointments", "Clinic schedule")


def test_unknown_tokens_are_404(client):
    for url in ("/calendar/intakes/cal_nope.ics", "/calendar/staff/cal_nope.ics"):
        response = client.get(url)
        assert response.status_code == 404 and response.content_type == "application/problem+json"
        assert "calendar feed" in response.get_json()["detail"]


def test_a_conditional_get_with_the_etag_is_304(client, scene):
    for url in (scene.person_url, scene.staff_url):
        full = client.get(url)
        etag = full.headers["ETag"]
        assert client.get(url).data == full.data  # nothing changed: the same bytes
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
        assert client.get(url, headers={"If-Modified-Since": full.headers["Last-Modified"]}).status_code == 304
        assert client.get(url, headers={"If-None-Match": '"stale"'}).data == full.data
        head = client.head(url)
        assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag


def test_erasure_ends_the_persons_feed_and_the_assessor_sees_it_cancelled(client, auth, scene):
    erased = client.post("/api/v1/participants/erase", json={"email": "ana@example.org"}, headers=auth("admin"))
    assert erased.status_code == 200, erased.json
    assert client.get(scene.person_url).status_code == 404
    theirs = events(client.get(scene.staff_url).data)[uid(scene.appointment["id"])]
    assert theirs["STATUS"] == "CANCELLED"


def test_replacing_the_staff_link_in_the_console_ends_the_old_one(client, scene):
    before = client.get(scene.staff_url)
    replaced = post_form(scene.console, "/desk/account", "/desk/account/calendar")
    assert replaced.status_code == 303
    page = text_of(scene.console.get(replaced.headers["Location"]))
    assert "Your calendar link is replaced" in page
    new_url = STAFF_FEED.search(page)[1]
    assert new_url != scene.staff_url
    assert client.get(scene.staff_url).status_code == 404
    assert client.get(new_url).data == before.data  # the same calendar behind the new link


def test_a_revoked_account_has_no_feed(client, scene, make_staff):
    _, admin = make_staff("admin")
    assert client.get(scene.staff_url).status_code == 200
    revoked = client.delete(f"/api/v1/staff/{scene.assessor.id}", headers={"Authorization": f"Bearer {admin}"})
    assert revoked.status_code == 200
    assert client.get(scene.staff_url).status_code == 404


def test_the_assessors_own_feed_speaks_the_language_they_chose_for_the_console(client, scene, at_t0):
    from email.utils import parsedate_to_datetime

    from scheduler.staff.services import choose_language

    before = client.get(scene.staff_url)
    at_t0.move_to(T0 + timedelta(days=30))  # long after anything in the feed changed
    choose_language(scene.assessor, "es")
    after = client.get(scene.staff_url)
    raw = after.data
    # A client that revalidates by date alone is told the words changed, as by the ETag.
    assert after.headers["ETag"] != before.headers["ETag"]
    assert parsedate_to_datetime(after.headers["Last-Modified"]) == T0 + timedelta(days=30)
    stale = client.get(scene.staff_url, headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert stale.status_code == 200
    theirs = events(raw)[uid(scene.appointment["id"])]
    assert theirs["SUMMARY"] == "Evaluación"
    assert "Los detalles están en la consola del personal" in str(theirs["DESCRIPTION"])
    assert Calendar.from_ical(raw)["X-WR-CALNAME"] == "Agenda de la clínica"
    # The group Ada facilitates keeps its program's own calendar title; its text is in Spanish too.
    sessions = [events(raw)[uid(s.id)] for s in scene.group.sessions]
    assert [str(s["SUMMARY"]) for s in sessions] == ["Group session", "Group session"]
    assert all("Únase en línea" in str(s["DESCRIPTION"]) for s in sessions), sessions[0]["DESCRIPTION"]
