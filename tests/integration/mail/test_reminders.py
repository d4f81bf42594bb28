"""Reminders before each session: once per session per person, never for cancelled sessions or people who left."""

from datetime import timedelta

import time_machine
from sqlalchemy import select

from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db
from scheduler.notifications import jobs
from scheduler.notifications.models import OutboxMessage
from tests.helpers import links


def reminder_rows():
    db.session.rollback()
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "reminder").order_by(OutboxMessage.to_address)
        )
    )


def test_reminder_job_run_twice_sends_nothing_the_second_time(app, make_cohort, make_enrolment, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    cohort = make_cohort()
    people = [make_enrolment(cohort, timezone="America/Los_Angeles") for _ in range(3)]
    make_enrolment(cohort, status="withdrawn")
    make_enrolment(cohort, status="waitlisted")
    first = cohort.sessions[0]

    with time_machine.travel(first.starts_at - timedelta(hours=25), tick=False):
        assert jobs.send_reminders() == 0  # not yet inside the 24-hour window
    with time_machine.travel(first.starts_at - timedelta(hours=23), tick=False):
        assert jobs.send_reminders() == 3
        assert jobs.deliver_outbox()["sent"] == 3
        assert jobs.send_reminders() == 0  # a second run (or a second worker) writes nothing
        assert jobs.deliver_outbox()["sent"] == 0
    with time_machine.travel(first.starts_at - timedelta(hours=1), tick=False):
        assert jobs.send_reminders() == 0  # and nor does a later pass (or a restart)

    received = smtp_server.messages
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(p.email for p in people)
    join_links = {p.email: f"https://scheduler.test/join/{p.join_token}" for p in people}
    for message in received:
        msg = message.message
        assert msg["Subject"].startswith("Reminder: ") and msg["Subject"].endswith("· Group session · Test Clinic")
        text = msg.get_body(("plain",)).get_content()
        assert "3:00 PM PDT" in text  # 18:00 New York in the participant's own zone
        # Each person's own join link; the cohort's raw meeting link never goes to a participant.
        assert join_links[message.rcpt_tos[0]] in links(text) and "video.example" not in text
        assert links(text) == links(msg.get_body(("html",)).get_content())


def test_no_reminder_for_a_cancelled_session_or_a_person_who_left(
    app, client, auth, make_cohort, make_enrolment, smtp_server
):
    app.config["MAIL_URL"] = smtp_server.url
    cohort = make_cohort()
    stays, leaves = make_enrolment(cohort), make_enrolment(cohort)
    second, third = cohort.sessions[1], cohort.sessions[2]

    response = client.patch(f"/api/v1/sessions/{second.id}", json={"status": "cancelled"}, headers=auth("admin"))
    assert response.status_code == 200
    with time_machine.travel(second.starts_at - timedelta(hours=2), tick=False):
        assert jobs.send_reminders() == 0

    # Written while both were confirmed, then one leaves before the worker gets to it.
    with time_machine.travel(third.starts_at - timedelta(hours=2), tick=False):
        assert jobs.send_reminders() == 2
        with write_transaction():
            db.session.get(type(leaves), leaves.id).status = "withdrawn"
        jobs.deliver_outbox()
    rows = {r.to_address: r for r in reminder_rows()}
    assert rows[stays.email].status == "sent"
    assert rows[leaves.email].status == "skipped"
    reminders = [m for m in smtp_server.messages if m.message["Subject"].startswith("Reminder")]
    assert [m.rcpt_tos for m in reminders] == [[stays.email]]
