"""The longest inputs the API accepts fit every column they reach (issue 14, 8).

On PostgreSQL a varchar overflow is an error (SQLite stores anything): a 200-character
calendar title put a 300-plus-character subject into outbox_messages.subject and made
the enrolment or transfer that wrote it answer 500. Every message here is built from
maximal names, titles and addresses, stored, and sent through a real SMTP server.
"""

from datetime import timedelta

from sqlalchemy import select

from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.notifications.rendering import SUBJECT_MAX, fit_subject
from scheduler.notifications.sender import deliver_outbox
from tests.helpers import enrolled

LONG_TITLE = "Ü" + "group session " * 14 + "x" * 3  # 200 characters, not all ASCII
LONG_NAME = "Ærin " + "Q" * 195
LONGEST_EMAIL = "l" * 64 + "@" + ".".join(["d" * 63, "e" * 63, "f" * 53, "example"])
LONGEST_PHONE = "+1 (555) 010-0000 0000 00000 ext. 123456"


def test_the_fixtures_are_at_the_limits():
    assert len(LONG_TITLE) == 200 and len(LONG_NAME) == 200
    assert len(LONGEST_EMAIL) == 254 and len(LONGEST_PHONE) == 40


def _ok(response, status=(200, 201)):
    assert response.status_code in status, response.get_json().get("errors", response.get_json())
    return response.get_json()


def test_maximal_names_and_titles_enrol_transfer_and_mail(app, client, auth, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    app.config["CLINIC_NAME"] = "The " + "Very Long Clinic Name " * 9  # about 200 characters
    desk = auth("front_desk")
    program = _ok(
        client.post(
            "/api/v1/programs",
            json={
                "name": LONG_NAME,
                "calendar_title": LONG_TITLE,
                "session_titles": ["S" * 300] * 12,
                "price_amount": 0,
            },
            headers=desk,
        )
    )

    def cohort(start):
        return _ok(
            client.post(
                "/api/v1/cohorts",
                json={
                    "program_id": program["id"],
                    "name": LONG_NAME,
                    "start_date": start,
                    "start_time": "18:00",
                    "timezone": "America/Argentina/ComodRivadavia",
                    "meeting_url": "https://video.example/" + "j" * 1970,
                    "status": "open",
                },
                headers=desk,
            )
        )

    first, second = cohort("2030-10-02"), cohort("2030-11-13")
    enrolment = enrolled(client, first["id"], LONGEST_EMAIL, LONG_NAME, phone=LONGEST_PHONE, timezone="Pacific/Chatham")
    assert enrolment["status"] == "confirmed"
    _ok(client.post(f"/api/v1/enrolments/{enrolment['id']}/transfer", json={"cohort_id": second["id"]}, headers=desk))
    session = second["sessions"][1]
    _ok(client.patch(f"/api/v1/sessions/{session['id']}", json={"title": "T" * 300}, headers=desk))
    # confirmed, transferred, session changed (session notices wait CHANGE_NOTICE_DELAY_MINUTES)
    assert deliver_outbox(at=clock.now() + timedelta(minutes=11))["sent"] == 3
    _ok(client.post(f"/api/v1/enrolments/{enrolment['id']}/withdraw", headers=desk))

    db.session.rollback()
    rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))
    assert {r.kind for r in rows} >= {"enrolment_confirmed", "transferred", "session_changed", "withdrawn"}
    for row in rows:
        assert len(row.subject) <= SUBJECT_MAX
        assert row.subject.startswith(("You", "Your", "Changed")), row.subject  # what happened comes first
        assert "·" in row.subject
    assert deliver_outbox()["sent"] == 1  # withdrawn
    received = smtp_server.messages
    assert len(received) == 4 and all(m.rcpt_tos == [LONGEST_EMAIL] for m in received)


def test_a_phone_longer_than_the_column_is_422_not_500(client, make_cohort):
    cohort = make_cohort(price_amount=0)
    response = client.post(
        f"/api/v1/cohorts/{cohort.id}/enrolments",
        json={"name": "Sam", "email": "sam@example.org", "phone": "+1 555 0100" + " " * 40 + "ext. 123456"},
    )
    assert response.status_code == 422 and set(response.json["errors"]) == {"phone"}


def test_fit_subject_keeps_short_subjects_and_shortens_long_parts():
    assert fit_subject("You have withdrawn", "Group session", "Clinic") == "You have withdrawn · Group session · Clinic"
    long = fit_subject("You're enrolled, first session Thursday", "T" * 200, "C" * 200)
    assert len(long) <= SUBJECT_MAX and long.startswith("You're enrolled, first session Thursday · T")
    assert "…" in long
    huge = fit_subject("W" * 400, "T", "C")
    assert len(huge) == SUBJECT_MAX and huge.endswith("…")
