"""A withdrawn participant is never (re-)sent the meeting link (issue 14, 13).

Messages that carry the meeting link or the calendar (confirmation, transfer, reminder,
session changed) are checked when their turn comes: they go only to an enrolment still
confirmed; otherwise they are `skipped` with the reason. Staff cannot resend such a
message to someone no longer confirmed (409).
"""

from datetime import timedelta

from sqlalchemy import select

from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.notifications.sender import deliver_outbox
from tests.helpers import enrolled

# What opens the meeting: the personal join link in emails (issue 12), never the raw meeting URL.
MEETING = "scheduler.test/join/"


def _enrol(client, cohort, email="sam@example.org"):
    enrolment = enrolled(client, cohort, email)
    assert enrolment["status"] == "confirmed", enrolment
    return enrolment


def _withdraw(client, enrolment):
    response = client.post(
        f"/api/v1/enrolments/{enrolment['id']}/withdraw",
        headers={"Authorization": f"Bearer {enrolment['manage_token']}"},
    )
    assert response.status_code == 200 and response.json["status"] == "withdrawn", response.json


def _messages(enrolment_id):
    db.session.rollback()
    return {
        m.kind: m
        for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.enrolment_id == enrolment_id).order_by(OutboxMessage.created_at)
        )
    }


def _bodies(smtp_server):
    return [m.message.get_body(("plain",)).get_content() for m in smtp_server.messages]


def test_a_confirmation_still_queued_at_withdrawal_is_skipped(app, client, make_cohort, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    enrolment = _enrol(client, make_cohort(price_amount=0))
    _withdraw(client, enrolment)  # before the worker's turn

    counts = deliver_outbox()
    assert counts["sent"] == 1  # the withdrawal notice only
    messages = _messages(enrolment["id"])
    assert messages["withdrawn"].status == "sent"
    confirmation = messages["enrolment_confirmed"]
    assert confirmation.status == "skipped"
    assert "no longer enrolled (withdrawn)" in confirmation.last_error and "meeting link" in confirmation.last_error
    assert not any(MEETING in body for body in _bodies(smtp_server))


def test_an_old_confirmation_cannot_be_resent_after_withdrawal(app, client, auth, make_cohort, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    enrolment = _enrol(client, make_cohort(price_amount=0))
    assert deliver_outbox()["sent"] == 1  # the confirmation, with the link: right while confirmed
    _withdraw(client, enrolment)
    assert deliver_outbox()["sent"] == 1
    messages = _messages(enrolment["id"])
    path = f"/api/v1/enrolments/{enrolment['id']}/messages"

    refused = client.post(f"{path}/{messages['enrolment_confirmed'].id}/resend", headers=auth("front_desk"))
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert "meeting link" in refused.json["detail"] and "withdrawn" in refused.json["detail"]
    # The withdrawal notice carries no link: it may be sent again.
    assert client.post(f"{path}/{messages['withdrawn'].id}/resend", headers=auth("front_desk")).status_code == 201
    assert deliver_outbox()["sent"] == 1
    assert sum(MEETING in body for body in _bodies(smtp_server)) == 1  # only the original confirmation


def test_a_resend_queued_while_confirmed_is_skipped_if_the_person_withdraws_first(
    app, client, auth, make_cohort, smtp_server
):
    app.config["MAIL_URL"] = smtp_server.url
    enrolment = _enrol(client, make_cohort(price_amount=0))
    assert deliver_outbox()["sent"] == 1
    confirmation = _messages(enrolment["id"])["enrolment_confirmed"]
    resent = client.post(
        f"/api/v1/enrolments/{enrolment['id']}/messages/{confirmation.id}/resend", headers=auth("admin")
    )
    assert resent.status_code == 201
    _withdraw(client, enrolment)
    assert deliver_outbox() == {"sent": 1, "retry": 0, "failed": 0}  # the withdrawal notice
    copy = db.session.get(OutboxMessage, resent.json["id"])
    assert copy.status == "skipped" and "meeting link" in copy.last_error


def test_a_session_change_written_before_withdrawal_is_skipped(app, client, auth, make_cohort, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    cohort = make_cohort(price_amount=0)
    enrolment = _enrol(client, cohort)
    assert deliver_outbox()["sent"] == 1
    session_id = cohort.sessions[2].id
    moved = client.patch(f"/api/v1/sessions/{session_id}", json={"title": "Wise mind"}, headers=auth("front_desk"))
    assert moved.status_code == 200
    assert _messages(enrolment["id"])["session_changed"].status == "pending"
    _withdraw(client, enrolment)
    # Session notices wait CHANGE_NOTICE_DELAY_MINUTES (edits within it make one email); by then the person left.
    assert deliver_outbox(at=clock.now() + timedelta(minutes=11))["sent"] == 1
    assert _messages(enrolment["id"])["session_changed"].status == "skipped"
    assert sum(MEETING in body for body in _bodies(smtp_server)) == 1
