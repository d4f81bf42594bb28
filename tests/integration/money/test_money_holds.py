"""Holds that fit how people pay: a card holds hold_minutes, payment by hand manual_hold_hours,
and accepting an offer never shortens the time the person has (time-machine moves the clock)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from tests.helpers import as_participant, enrolled

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)


def received_email(enrolment_id):
    db.session.rollback()
    return db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.enrolment_id == enrolment_id, OutboxMessage.kind == "enrolment_received")
        .order_by(OutboxMessage.created_at.desc())
    ).first()


def withdraw(client, enrolment):
    response = client.post(f"/api/v1/enrolments/{enrolment['id']}/withdraw", headers=as_participant(enrolment))
    assert response.status_code == 200, response.json


def test_without_stripe_the_hold_is_manual_hold_hours_and_the_email_says_so(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=36000, hold_minutes=30, manual_hold_hours=48)
    with time_machine.travel(T0, tick=False):
        held = enrolled(client, cohort.id, "a@example.org")
    assert held["hold_expires_at"] == "2030-09-03T12:00:00Z"
    assert held["payment"] == {"provider": "manual", "amount": 36000, "currency": "usd"}
    body = received_email(held["id"]).body_text.replace("\n", " ")
    # The email's deadline is the real one for an unopened link (confirm_email_minutes, in the
    # cohort's zone: New York) and says how long opening it holds the seat for paying by hand.
    assert "until Sunday, September 1, 2030 at 8:30 AM EDT: open your page by then" in body
    assert "the place is held 48 hours more for you to pay $360.00" in body


@pytest.mark.slow
def test_a_card_hold_is_hold_minutes_and_paying_at_the_desk_where_allowed_is_manual(stripe_app, client, make_cohort):
    cohort = make_cohort(capacity=3, price_amount=36000, hold_minutes=30, manual_hold_hours=72, allow_pay_at_desk=True)
    with time_machine.travel(T0, tick=True):
        card = enrolled(client, cohort.id, "card@example.org")
        desk = enrolled(client, cohort.id, "desk@example.org", pay_at_desk=True)
    assert card["payment"]["provider"] == "stripe" and card["hold_expires_at"].startswith("2030-09-01T12:30:")
    assert desk["payment"]["provider"] == "manual" and desk["hold_expires_at"].startswith("2030-09-04T12:00:")
    assert desk["payment"]["amount"] == 36000
    assert "front desk" in received_email(desk["id"]).body_text

    strict = make_cohort(capacity=3, price_amount=36000)  # allow_pay_at_desk defaults to false
    refused = client.post(
        f"/api/v1/cohorts/{strict.id}/enrolments",
        json={"name": "P", "email": "x@example.org", "pay_at_desk": True},
    )
    assert refused.status_code == 422 and "pay_at_desk" in refused.json["errors"]


@pytest.mark.slow
def test_accepting_an_offer_by_card_keeps_the_offer_deadline(stripe_app, client, make_cohort, auth):
    """The reported harm: accepting a 24-hour offer turned it into a 30-minute hold."""
    cohort = make_cohort(capacity=1, price_amount=36000, hold_minutes=30, offer_hours=24)
    desk = auth("front_desk")
    with time_machine.travel(T0, tick=False) as traveller:
        holder = enrolled(client, cohort.id, "holder@example.org")
        waiting = enrolled(client, cohort.id, "waiting@example.org")
        withdraw(client, holder)
        offered = client.get(f"/api/v1/enrolments/{waiting['id']}", headers=as_participant(waiting)).json
        assert offered["status"] == "offered" and offered["offer_expires_at"] == "2030-09-02T12:00:00Z"

        traveller.move_to(T0 + timedelta(hours=1))  # accepted early: the rest of the day stays theirs
        accepted = client.post(f"/api/v1/enrolments/{waiting['id']}/accept", headers=as_participant(waiting))
        assert accepted.status_code == 200, accepted.json
        assert accepted.json["status"] == "pending_payment"
        assert accepted.json["hold_expires_at"] == "2030-09-02T12:00:00Z"
        assert accepted.json["payment"]["provider"] == "stripe"
        assert "until Monday, September 2, 2030 at 8:00 AM EDT" in received_email(waiting["id"]).body_text.replace(
            "\n", " "
        )
        audit = client.get(f"/api/v1/audit?enrolment_id={waiting['id']}", headers=desk).json
        assert audit[0]["action"] == "accepted" and audit[0]["after"]["hold_expires_at"] == "2030-09-02T12:00:00Z"

        # The seat is still theirs a minute before the deadline, and free at it.
        traveller.move_to(T0 + timedelta(hours=24) - timedelta(minutes=1))
        assert client.get(f"/api/v1/cohorts/{cohort.id}").json["seats_available"] == 0
        traveller.move_to(T0 + timedelta(hours=24))
        assert client.get(f"/api/v1/cohorts/{cohort.id}").json["seats_available"] == 1


@pytest.mark.slow
def test_accepting_at_the_last_minute_by_card_still_gets_the_full_card_hold(stripe_app, client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=36000, hold_minutes=30, offer_hours=24)
    with time_machine.travel(T0, tick=False) as traveller:
        holder = enrolled(client, cohort.id, "holder@example.org")
        waiting = enrolled(client, cohort.id, "waiting@example.org")
        withdraw(client, holder)
        traveller.move_to(T0 + timedelta(hours=23, minutes=50))
        accepted = client.post(f"/api/v1/enrolments/{waiting['id']}/accept", headers=as_participant(waiting)).json
    assert accepted["hold_expires_at"] == "2030-09-02T12:20:00Z"  # now + 30 minutes, later than the deadline


def test_accepting_an_offer_with_manual_payment_holds_manual_hold_hours(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=36000, offer_hours=24, manual_hold_hours=72)
    with time_machine.travel(T0, tick=False) as traveller:
        holder = enrolled(client, cohort.id, "holder@example.org")
        waiting = enrolled(client, cohort.id, "waiting@example.org")
        withdraw(client, holder)
        traveller.move_to(T0 + timedelta(hours=23))  # accepted at night, by phone to the clinic next morning
        accepted = client.post(f"/api/v1/enrolments/{waiting['id']}/accept", headers=as_participant(waiting)).json
    assert accepted["status"] == "pending_payment"
    assert accepted["hold_expires_at"] == "2030-09-05T11:00:00Z"  # T0 + 23 h + 72 h
    db.session.rollback()
    assert db.session.get(Enrolment, waiting["id"]).pays_at_desk is True


def test_the_manual_hold_setting_is_in_the_cohort_api(client, auth, make_program):
    desk = auth("front_desk")
    program = make_program()
    created = client.post(
        "/api/v1/cohorts",
        headers=desk,
        json={
            "program_id": program.id,
            "start_date": "2030-10-03",
            "start_time": "18:00",
            "timezone": "America/New_York",
            "status": "open",
        },
    )
    assert created.status_code == 201, created.json
    assert created.json["manual_hold_hours"] == 72 and created.json["allow_pay_at_desk"] is False
    changed = client.patch(
        f"/api/v1/cohorts/{created.json['id']}", headers=desk, json={"manual_hold_hours": 24, "allow_pay_at_desk": True}
    )
    assert (changed.json["manual_hold_hours"], changed.json["allow_pay_at_desk"]) == (24, True)
    bad = client.patch(f"/api/v1/cohorts/{created.json['id']}", headers=desk, json={"manual_hold_hours": 0})
    assert bad.status_code == 422 and "manual_hold_hours" in bad.json["errors"]
    public = client.get(f"/api/v1/cohorts/{created.json['id']}").json
    assert public["allow_pay_at_desk"] is True and "manual_hold_hours" not in public
