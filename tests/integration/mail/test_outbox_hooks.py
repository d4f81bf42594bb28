"""Hooks write outbox rows in the caller's transaction; messages are rendered for one person only."""

from datetime import timedelta

import pytest
import recurring_ical_events
import vobject
from icalendar import Calendar
from sqlalchemy import select

from scheduler.cohorts.events import SessionChanged
from scheduler.enrolment import events
from scheduler.foundation import clock
from scheduler.foundation.database import write_transaction
from scheduler.foundation.events import publish
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.notifications.sender import deliver_outbox
from tests.helpers import announce, links


def test_handlers_write_rows_in_the_publishers_transaction_and_never_commit(app, make_cohort, make_enrolment):
    cohort = make_cohort()
    enrolment = make_enrolment(cohort, status="waitlisted")
    with pytest.raises(RuntimeError), write_transaction():
        publish(events.Waitlisted(enrolment, 3))
        raise RuntimeError("the publisher's change failed")  # so no email may exist for it
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage)) == 0
    with pytest.raises(RuntimeError, match="write_transaction"):
        publish(events.Waitlisted(enrolment, 3))  # outside a transaction: refused, not half-done

    announce(events.Waitlisted(enrolment, 3))
    row = db.session.scalar(select(OutboxMessage))
    assert row.kind == "waitlisted" and row.to_address == enrolment.email and row.status == "pending"
    assert "number 3" in row.body_text and "number 3" in row.body_html
    assert row.message_id.startswith("<") and row.message_id.endswith("@scheduler.test>")


def test_confirmation_has_schedule_in_participants_zone_links_and_the_feeds_ics(
    app, client, make_program, make_cohort, make_enrolment, smtp_server
):
    program = make_program(name="DBT Skills Group for depression", calendar_title="Group session")
    cohort = make_cohort(program=program, timezone="America/New_York")
    enrolment = make_enrolment(cohort, timezone="Europe/London", email="Sam@Example.org")
    announce(events.Confirmed(enrolment))
    app.config["MAIL_URL"] = smtp_server.url
    assert deliver_outbox()["sent"] == 1

    [received] = smtp_server.messages
    assert received.rcpt_tos == ["Sam@Example.org"]
    msg = received.message
    assert msg["To"] == "Sam@Example.org" and msg["Cc"] is None and msg["Bcc"] is None
    subject = msg["Subject"]
    assert "Group session" in subject and "Test Clinic" in subject
    assert "DBT" not in subject and "depression" not in subject.lower() and "Skills" not in subject
    text = msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",)).get_content()
    # First session 2030-10-03 18:00 New York is 23:00 in London (BST).
    assert "Thursday, October 3, 2030 at 11:00 PM BST" in text
    assert "Europe/London" in text
    for part in (text, html_part):
        found = links(part)
        assert f"https://scheduler.test/join/{enrolment.join_token}" in found
        assert not any("video.example" in u for u in found)
        assert any(u.startswith("webcal://scheduler.test/calendar/") for u in found)
        assert any(u.startswith("https://scheduler.test/calendar/") for u in found)
        assert f"https://scheduler.test/me/{enrolment.id}?token={enrolment.manage_token}" in found
    assert links(text) == links(html_part)

    [attachment] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    ics = attachment.get_content()
    ics_bytes = ics.encode() if isinstance(ics, str) else ics
    parsed = vobject.readOne(ics_bytes.decode())
    attached_uids = sorted(e.uid.value for e in parsed.vevent_list)
    assert len(attached_uids) == 12
    occurrences = recurring_ical_events.of(Calendar.from_ical(ics_bytes)).between((2030, 1, 1), (2031, 12, 31))
    assert len(occurrences) == 12

    feed_url = next(u for u in links(text) if u.startswith("https://scheduler.test/calendar/"))
    feed = client.get(feed_url.removeprefix("https://scheduler.test"))
    assert feed.status_code == 200
    feed_uids = sorted(e.uid.value for e in vobject.readOne(feed.get_data(as_text=True)).vevent_list)
    assert attached_uids == feed_uids


@pytest.mark.parametrize(
    "event, args, kind",
    [
        (events.SeatHeld, ({"provider": "manual", "amount": 36000, "currency": "usd"},), "enrolment_received"),
        (events.Waitlisted, (2,), "waitlisted"),
        (events.SeatOffered, (), "seat_offered"),
        (events.HoldExpired, (), "hold_expired"),
        (events.OfferExpired, (), "offer_expired"),
        (events.Withdrawn, ({"amount": 36000, "currency": "usd", "status": "succeeded"},), "withdrawn"),
        (events.CancelledWithCohort, (None,), "cohort_cancelled"),
    ],
)
def test_every_kind_renders_text_and_html_with_the_same_links(app, make_cohort, make_enrolment, event, args, kind):
    cohort = make_cohort()
    status = {"enrolment_received": "pending_payment", "seat_offered": "offered"}.get(kind, "confirmed")
    enrolment = make_enrolment(cohort, status=status)
    announce(event(enrolment, *args))
    row = db.session.scalar(select(OutboxMessage))
    assert row.kind == kind and row.to_address == enrolment.email
    assert row.subject.endswith(" · Group session · Test Clinic") and "Skills" not in row.subject
    assert links(row.body_text) == links(row.body_html)
    assert enrolment.name in row.body_text and enrolment.name in row.body_html


def test_session_change_goes_to_each_confirmed_participant_alone(app, make_cohort, make_enrolment, smtp_server):
    cohort = make_cohort()
    confirmed = [make_enrolment(cohort) for _ in range(3)]
    make_enrolment(cohort, status="withdrawn")
    make_enrolment(cohort, status="waitlisted")
    session = cohort.sessions[2]
    with write_transaction():
        session.status = "cancelled"
        publish(SessionChanged(session))
    app.config["MAIL_URL"] = smtp_server.url
    # Session notices wait CHANGE_NOTICE_DELAY_MINUTES, so that quick edits make one email.
    assert deliver_outbox() == {"sent": 0, "retry": 0, "failed": 0}
    deliver_outbox(at=clock.now() + timedelta(minutes=10))
    received = smtp_server.messages
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(e.email for e in confirmed)
    for r in received:
        assert len(r.rcpt_tos) == 1 and r.message["To"] == r.rcpt_tos[0]
        assert r.message["Subject"].startswith("Cancelled: the session on")
        assert r.message["Subject"].endswith("· Group session · Test Clinic")
        others = {e.email for e in confirmed} - {r.rcpt_tos[0]}
        assert not any(o in r.data.decode() for o in others)
