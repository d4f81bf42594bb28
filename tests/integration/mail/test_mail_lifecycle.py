"""Through the app's HTTP API and a real SMTP server: an enrolment's whole life, each email once, in order."""

from collections import defaultdict
from datetime import timedelta

import time_machine
from sqlalchemy import select

from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from scheduler.notifications import jobs
from scheduler.notifications.models import OutboxMessage
from tests.helpers import enrolled, links


def subjects_by_person(smtp_server):
    seen = defaultdict(list)
    for message in smtp_server.messages:
        [to] = message.rcpt_tos
        assert message.message["To"] == to and message.message["Cc"] is None
        seen[to].append(message.message["Subject"].split(" · ")[0])
    return seen


def test_a_whole_enrolment_life_sends_exactly_the_expected_messages(app, client, auth, make_cohort, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=36000)

    def ok(response):
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    ana = enrolled(client, cohort, "ana@example.org", "Ana", timezone="America/Chicago")  # pending_payment
    ben = enrolled(client, cohort, "ben@example.org", "Ben", timezone="America/Chicago")  # waitlisted, number 1
    assert (ana["status"], ben["status"]) == ("pending_payment", "waitlisted")
    ok(client.post(f"/api/v1/enrolments/{ana['id']}/confirm", json={"method": "cash", "amount": 36000}, headers=desk))
    ok(
        client.post(
            f"/api/v1/enrolments/{ana['id']}/withdraw", headers={"Authorization": f"Bearer {ana['manage_token']}"}
        )
    )  # frees the seat → Ben offered
    ok(
        client.post(
            f"/api/v1/enrolments/{ben['id']}/accept", headers={"Authorization": f"Bearer {ben['manage_token']}"}
        )
    )  # → pending_payment
    ok(client.post(f"/api/v1/enrolments/{ben['id']}/confirm", json={"method": "check", "amount": 36000}, headers=desk))
    third = cohort.sessions[2]
    ok(
        client.patch(
            f"/api/v1/sessions/{third.id}",
            json={"starts_at": (third.starts_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
            headers=desk,
        )
    )
    with time_machine.travel(cohort.sessions[0].starts_at - timedelta(hours=3), tick=False):
        jobs.send_reminders()
        jobs.send_reminders()
        jobs.deliver_outbox()
    with time_machine.travel(cohort.sessions[0].starts_at - timedelta(hours=2), tick=False):
        ok(client.patch(f"/api/v1/cohorts/{cohort.id}", json={"status": "cancelled"}, headers=desk))
        jobs.deliver_outbox()
        jobs.deliver_outbox()

    kind_of = {r.message_id: r.kind for r in db.session.scalars(select(OutboxMessage))}
    seen = defaultdict(list)
    for message in smtp_server.messages:  # in the order the server received them
        [to] = message.rcpt_tos
        assert message.message["To"] == to and message.message["Cc"] is None
        seen[to].append(kind_of[message.message_id])
    assert dict(seen) == {
        # Ana withdrew before the worker's turn: her confirmation (with the meeting link) is skipped.
        "ana@example.org": ["enrolment_received", "withdrawn"],
        "ben@example.org": [
            "waitlisted",
            "seat_offered",
            "enrolment_received",
            "enrolment_confirmed",
            "session_changed",
            "reminder",
            "cohort_cancelled",
        ],
    }
    assert len({m.message_id for m in smtp_server.messages}) == len(smtp_server.messages) == 9
    confirmation = next(m for m in smtp_server.messages if kind_of[m.message_id] == "enrolment_confirmed")
    assert "first session Thursday, October 3, 2030 at 5:00 PM CDT" in confirmation.message["Subject"]

    withdrawal = next(m for m in smtp_server.messages if m.message["Subject"].startswith("You have withdrawn"))
    assert "Refund: $360.00" in withdrawal.message.get_body(("plain",)).get_content()
    offer = next(m for m in smtp_server.messages if m.message["Subject"].startswith("A place is free"))
    offer_text = offer.message.get_body(("plain",)).get_content()
    assert f"https://scheduler.test/me/{ben['id']}?token={ben['manage_token']}" in links(offer_text)

    history = client.get(f"/api/v1/enrolments/{ben['id']}/messages", headers=desk).get_json()
    assert [m["kind"] for m in history] == [
        "waitlisted",
        "seat_offered",
        "enrolment_received",
        "enrolment_confirmed",
        "session_changed",
        "reminder",
        "cohort_cancelled",
    ]
    assert all(m["status"] == "sent" and m["attempts"] == 1 for m in history)


def test_a_lapsed_hold_is_told_once(app, client, make_cohort, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    cohort = make_cohort(capacity=1, price_amount=36000, manual_hold_hours=1)
    created = enrolled(client, cohort, "cy@example.org", "Cy")
    assert created["status"] == "pending_payment"
    from scheduler.jobs import JOBS, _load_jobs

    _load_jobs()
    with time_machine.travel(clock.now() + timedelta(minutes=61), tick=False):
        JOBS["expire-holds-and-offers"]()
        JOBS["expire-holds-and-offers"]()
        jobs.deliver_outbox()
    seen = subjects_by_person(smtp_server)
    # The public request's answer (one subject for every outcome), then the lapse, once.
    assert [s.split(" until")[0].split(" ·")[0] for s in seen["cy@example.org"]] == [
        "Your personal link",
        "Your held place has lapsed",
    ]
