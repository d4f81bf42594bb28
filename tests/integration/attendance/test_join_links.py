"""Personal join links: a redirect to the meeting only in a session's window, recorded once, and closed
to anyone who left; the cohort's raw meeting link never reaches a participant."""

import base64
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from scheduler.attendance.models import AttendanceRecord
from scheduler.enrolment import staff_actions
from scheduler.enrolment.models import AuditEntry, Enrolment
from scheduler.foundation.extensions import db
from scheduler.foundation.links import join_url
from scheduler.notifications.models import OutboxMessage
from tests.helpers import as_participant, enrolled

MEETING = "https://video.example/j/123"


def path_of(enrolment) -> str:
    return f"/join/{enrolment.join_token}"


def records(enrolment_id=None):
    db.session.rollback()  # see what the requests committed
    stmt = select(AttendanceRecord).order_by(AttendanceRecord.recorded_at)
    if enrolment_id:
        stmt = stmt.where(AttendanceRecord.enrolment_id == enrolment_id)
    return db.session.scalars(stmt).all()


def is_calm_page(response, status):
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    assert MEETING not in response.get_data(as_text=True)
    return response.get_data(as_text=True)


@pytest.fixture
def cohort(make_cohort):
    """Thursdays 18:00 New York from 2030-10-03, 90 minutes; US daylight saving ends on 2030-11-03."""
    return make_cohort(price_amount=0)


def test_before_during_and_after_the_window(client, cohort, make_enrolment):
    person = make_enrolment(cohort, timezone="Europe/London")
    first, second, last = cohort.sessions[0], cohort.sessions[1], cohort.sessions[-1]

    with time_machine.travel(first.starts_at - timedelta(minutes=16), tick=False):
        page = is_calm_page(client.get(path_of(person)), 200)
    # Opens 15 minutes early, said in the person's own zone (London, still on summer time).
    assert "Thursday, October 3, 2030 at 10:45 PM BST" in page
    assert records() == []

    with time_machine.travel(first.starts_at - timedelta(minutes=15), tick=False):
        opened = client.get(path_of(person))
    assert opened.status_code == 302 and opened.headers["Location"] == MEETING
    assert opened.headers["Cache-Control"] == "no-store"
    assert opened.headers["Referrer-Policy"] == "no-referrer"

    with time_machine.travel(first.starts_at + timedelta(minutes=80), tick=False):
        assert client.get(path_of(person)).status_code == 302

    with time_machine.travel(first.ends_at, tick=False):
        page = is_calm_page(client.get(path_of(person)), 200)
    assert "Thursday, October 10, 2030 at 10:45 PM BST" in page  # the next session's window

    with time_machine.travel(last.ends_at + timedelta(minutes=1), tick=False):
        page = is_calm_page(client.get(path_of(person)), 200)
    assert "finished" in page

    [record] = records()
    assert (record.session_id, record.status, record.source) == (first.id, "present", "join")
    assert record.joined_at == first.starts_at - timedelta(minutes=15)  # the first join, kept
    assert second.id not in {r.session_id for r in records()}


def test_the_window_follows_the_wall_clock_across_the_end_of_daylight_saving(client, cohort, make_enrolment):
    person = make_enrolment(cohort)  # no zone of their own: the cohort's (New York)
    before, after = cohort.sessions[4], cohort.sessions[5]  # 2030-10-31 (EDT) and 2030-11-07 (EST)
    assert before.starts_at.hour == 22 and after.starts_at.hour == 23  # 18:00 local on both sides

    with time_machine.travel(after.starts_at - timedelta(minutes=20), tick=False):  # 17:40 EST
        page = is_calm_page(client.get(path_of(person)), 200)
    assert "Thursday, November 7, 2030 at 5:45 PM EST" in page
    with time_machine.travel(after.starts_at - timedelta(minutes=10), tick=False):  # 17:50 EST
        assert client.get(path_of(person)).status_code == 302
    # An hour off (the old offset) would have opened it at 16:45 EST: it must not.
    with time_machine.travel(after.starts_at - timedelta(minutes=75), tick=False):
        assert client.get(path_of(person)).status_code == 200
    with time_machine.travel(before.starts_at - timedelta(minutes=10), tick=False):  # 17:50 EDT
        assert client.get(path_of(person)).status_code == 302


def test_the_redirect_follows_a_new_meeting_link_at_once_and_the_change_is_audited(
    client, auth, make_staff, cohort, make_enrolment
):
    person = make_enrolment(cohort)
    desk, token = make_staff("front_desk")
    first = cohort.sessions[0]
    with time_machine.travel(first.starts_at, tick=False):
        assert client.get(path_of(person)).headers["Location"] == MEETING
        changed = client.patch(
            f"/api/v1/cohorts/{cohort.id}",
            json={"meeting_url": "https://video.example/j/new-room"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert changed.status_code == 200
        assert client.get(path_of(person)).headers["Location"] == "https://video.example/j/new-room"
    audit = client.get(f"/api/v1/audit?cohort_id={cohort.id}", headers=auth("admin")).json
    assert [(a["action"], a["staff_id"], a["before"], a["after"]) for a in audit] == [
        (
            "cohort_updated",
            desk.id,
            {"meeting_url": MEETING},
            {"meeting_url": "https://video.example/j/new-room"},
        )
    ]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0  # nobody needs a new email


def test_withdrawn_cancelled_and_transferred_links_are_gone_and_unknown_ones_not_found(
    client, make_cohort, cohort, make_enrolment, make_staff
):
    first = cohort.sessions[0]
    withdrawn = make_enrolment(cohort, status="withdrawn")
    cancelled = make_enrolment(cohort, status="cancelled")
    moving = make_enrolment(cohort)
    waiting = make_enrolment(cohort, status="waitlisted")
    other = make_cohort(price_amount=0, meeting_url="https://video.example/j/other")
    old_link = path_of(moving)
    desk, _ = make_staff("front_desk")
    staff_actions.transfer(moving.id, other.id, desk)
    db.session.refresh(moving)

    with time_machine.travel(first.starts_at, tick=False):
        for gone in (withdrawn, cancelled):
            assert "no longer" in is_calm_page(client.get(path_of(gone)), 410)
        assert "moved" in is_calm_page(client.get(old_link), 410)
        assert client.get(path_of(moving)).headers["Location"] == "https://video.example/j/other"
        is_calm_page(client.get(path_of(waiting)), 404)  # never handed out
        is_calm_page(client.get("/join/join_not-a-real-token"), 404)
    # The transfer email carries the new link, never the old one nor a raw meeting link.
    [email] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "transferred")).all()
    with client.application.test_request_context():
        assert join_url(moving) in email.body_text and join_url(moving) in email.body_html
    assert old_link not in email.body_text and "video.example" not in email.body_text + email.body_html


def test_a_rotated_join_link_is_not_found_and_the_new_one_works(client, cohort, make_enrolment):
    person = make_enrolment(cohort)
    old = path_of(person)
    as_person = {"Authorization": f"Bearer {person.manage_token}"}
    rotated = client.post(f"/api/v1/enrolments/{person.id}/join/rotate", headers=as_person)
    assert rotated.status_code == 200
    new = rotated.json["join_url"].removeprefix("https://scheduler.test")
    assert new != old
    with time_machine.travel(cohort.sessions[0].starts_at, tick=False):
        is_calm_page(client.get(old), 404)
        assert client.get(new).status_code == 302
    assert client.get(f"/api/v1/enrolments/{person.id}", headers=as_person).json["join_url"].endswith(new)
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "join_link_rotated")).all()
    assert entry.enrolment_id == person.id and entry.staff_id is None


def test_a_join_records_once_and_a_facilitator_can_correct_it(client, auth, cohort, make_enrolment):
    person = make_enrolment(cohort)
    first = cohort.sessions[0]
    with time_machine.travel(first.starts_at - timedelta(minutes=5), tick=False):
        assert client.head(path_of(person)).status_code == 302  # a link checker's HEAD records nothing
        assert records() == []
        assert client.get(path_of(person)).status_code == 302
    with time_machine.travel(first.starts_at + timedelta(minutes=20), tick=False):
        assert client.get(path_of(person)).status_code == 302  # rejoined after a dropped connection
        sheet = client.get(f"/api/v1/sessions/{first.id}/attendance", headers=auth("front_desk")).json
    [record] = records()
    assert record.joined_at == first.starts_at - timedelta(minutes=5)
    [row] = sheet["records"]
    assert (row["status"], row["provisional"], row["recorded_by_id"]) == ("present", True, None)

    with time_machine.travel(first.starts_at + timedelta(minutes=30), tick=False):
        corrected = client.put(
            f"/api/v1/sessions/{first.id}/attendance",
            json={"records": [{"enrolment_id": person.id, "status": "late"}]},
            headers=auth("front_desk"),
        )
    assert corrected.status_code == 200
    [row] = corrected.json["records"]
    assert (row["status"], row["provisional"]) == ("late", False)
    assert row["joined_at"] == "2030-10-03T21:55:00Z"  # the first join is kept through the correction
    with time_machine.travel(first.starts_at + timedelta(minutes=40), tick=False):
        assert client.get(path_of(person)).status_code == 302
    [record] = records()
    assert record.status == "late"  # a later join never overwrites what staff recorded


def test_concurrent_joins_of_one_person_record_once(app, cohort, make_enrolment):
    """Threads, each with its own connection, join at once (SQLite: one writer at a time; PostgreSQL: in parallel)."""
    person = make_enrolment(cohort)
    first = cohort.sessions[0]
    link, barrier, statuses = path_of(person), threading.Barrier(8), []

    def join():
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            statuses.append(client.get(link).status_code)

    with time_machine.travel(first.starts_at, tick=False):
        threads = [threading.Thread(target=join) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [302] * 8
    assert len(records(person.id)) == 1


def test_no_meeting_link_yet_says_so_and_records_nothing(client, make_cohort, make_enrolment):
    cohort = make_cohort(price_amount=0, meeting_url=None)
    person = make_enrolment(cohort)
    with time_machine.travel(cohort.sessions[0].starts_at, tick=False):
        page = is_calm_page(client.get(path_of(person)), 200)
    assert "not been set up" in page
    assert records() == []


def test_confirmation_feed_and_reminder_carry_the_join_link_and_the_cohort_feed_the_raw_link(
    client, auth, cohort, make_staff
):
    """What a confirmed participant receives never holds the raw meeting link; the facilitators' feed does."""
    from scheduler.notifications.outbox import queue_reminders

    sam = enrolled(client, cohort, "sam@example.org", "Sam Rivera")
    person = db.session.get(Enrolment, sam["id"])
    with client.application.test_request_context():
        personal = join_url(person)
    with time_machine.travel(cohort.sessions[0].starts_at - timedelta(hours=2), tick=False):
        assert queue_reminders() == 1
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.enrolment_id == person.id)).all()
    assert sorted(m.kind for m in messages) == ["enrolment_confirmed", "reminder"]
    for message in messages:
        for body in (message.body_text, message.body_html):
            assert personal in body and "video.example" not in body
        for attachment in message.attachments:
            ics = base64.b64decode(attachment["content"]).decode().replace("\r\n ", "")
            assert personal in ics and "video.example" not in ics

    as_person = as_participant(sam)
    seen = client.get(f"/api/v1/enrolments/{person.id}", headers=as_person).json
    assert seen["join_url"] == personal and "meeting_url" not in seen
    mine = client.get(seen["calendar_url"].removeprefix("https://scheduler.test")).get_data(as_text=True)
    mine = mine.replace("\r\n ", "")
    for prop in ("LOCATION:", "URL:", "DESCRIPTION:Join online: "):
        assert f"{prop}{personal}" in mine
    assert "video.example" not in mine

    staff_view = client.get(f"/api/v1/cohorts/{cohort.id}", headers=auth("front_desk")).json
    facilitators = client.get(staff_view["calendar_url"].removeprefix("https://scheduler.test")).get_data(as_text=True)
    facilitators = facilitators.replace("\r\n ", "")
    assert f"LOCATION:{MEETING}" in facilitators and "/join/" not in facilitators

    staff_seen = client.get(f"/api/v1/enrolments/{person.id}", headers=auth("front_desk")).json
    assert staff_seen["join_url"] == personal and staff_seen["meeting_url"] == MEETING
