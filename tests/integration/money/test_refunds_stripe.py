"""Money going back: withdrawal before and after the cutoff, staff overrides, cohort cancellation,
desk payments, and a refund that survives Stripe being down."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from scheduler.payments.models import Refund
from tests.helpers import as_participant, enrolled
from tests.stripe_double import (
    fresh,
    status_of,
    wait_for_status,
)

pytestmark = pytest.mark.slow
PRICE = 36000


@pytest.fixture
def pay(stripe_app, client, localstripe_server):
    """pay(cohort, email) -> a confirmed enrolment paid by card through localstripe."""

    def paid(cohort, email):
        enrolment = enrolled(client, cohort.id, email)
        localstripe_server.pay(enrolment["payment"]["payment_intent_id"], "pm_card_visa")
        wait_for_status(client, enrolment, "confirmed")
        return enrolment

    return paid


@pytest.fixture
def cohort(stripe_app, make_cohort):
    return make_cohort(price_amount=PRICE, currency="usd", capacity=3, refund_cutoff_hours=48)


def _refunded_at_stripe(localstripe_server, enrolment) -> int:
    return sum(r["amount"] for r in localstripe_server.refunds_for(enrolment["payment"]["payment_intent_id"]))


def _just_inside_cutoff(cohort):
    return cohort.sessions[0].starts_at - timedelta(hours=24)


def test_withdrawing_before_the_cutoff_refunds_in_full(cohort, pay, client, localstripe_server):
    sam = pay(cohort, "sam@example.org")
    response = client.post(f"/api/v1/enrolments/{sam['id']}/withdraw", headers=as_participant(sam))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "withdrawn"
    assert body["refund"] == {"amount": PRICE, "currency": "usd", "status": "pending"}
    # Sent right after the request committed.
    assert _refunded_at_stripe(localstripe_server, sam) == PRICE
    [refund] = fresh(select(Refund))
    assert (refund.status, refund.reason, refund.stripe_refund_id is not None) == ("succeeded", "withdrawn", True)


def test_withdrawing_after_the_cutoff_refunds_nothing(cohort, pay, client, localstripe_server):
    sam = pay(cohort, "sam@example.org")
    with time_machine.travel(_just_inside_cutoff(cohort), tick=True):
        body = client.post(f"/api/v1/enrolments/{sam['id']}/withdraw", headers=as_participant(sam)).get_json()
    assert body["status"] == "withdrawn" and body.get("refund") is None
    assert _refunded_at_stripe(localstripe_server, sam) == 0
    assert fresh(select(Refund)) == []


def test_staff_may_refund_part_after_the_cutoff_but_never_more_than_was_paid(
    cohort, pay, client, auth, localstripe_server
):
    sam = pay(cohort, "sam@example.org")
    desk = auth("front_desk")
    with time_machine.travel(_just_inside_cutoff(cohort), tick=True):
        too_much = client.post(
            f"/api/v1/enrolments/{sam['id']}/withdraw", headers=desk, json={"refund_amount": PRICE + 1}
        )
        assert too_much.status_code == 422
        assert status_of(client, sam) == "confirmed"
        body = client.post(
            f"/api/v1/enrolments/{sam['id']}/withdraw", headers=desk, json={"refund_amount": 12000}
        ).get_json()
    assert body["refund"] == {"amount": 12000, "currency": "usd", "status": "pending"}
    assert _refunded_at_stripe(localstripe_server, sam) == 12000
    [refund] = fresh(select(Refund))
    assert refund.staff_id is not None


def test_cancelling_the_cohort_refunds_everyone_in_full(cohort, pay, client, auth, localstripe_server):
    sam, kim = pay(cohort, "sam@example.org"), pay(cohort, "kim@example.org")
    holding = enrolled(client, cohort.id, "lee@example.org")  # a hold not yet paid: nothing to give back
    response = client.patch(f"/api/v1/cohorts/{cohort.id}", headers=auth("admin"), json={"status": "cancelled"})
    assert response.status_code == 200, response.get_json()
    for person in (sam, kim, holding):
        assert status_of(client, person) == "cancelled"
    assert _refunded_at_stripe(localstripe_server, sam) == PRICE
    assert _refunded_at_stripe(localstripe_server, kim) == PRICE
    assert sorted(r.status for r in fresh(select(Refund))) == ["succeeded", "succeeded"]
    # The unpaid hold's intent is cancelled, so nobody can pay for a cancelled cohort.
    from scheduler.enrolment import jobs as enrolment_jobs

    assert enrolment_jobs.cancel_lapsed_payment_intents() == 1
    assert localstripe_server.payment_intent(holding["payment"]["payment_intent_id"])["status"] == "canceled"


def test_a_desk_payment_refund_is_owed_by_the_front_desk(cohort, client, auth, localstripe_server):
    sam = enrolled(client, cohort.id, "sam@example.org")
    desk = auth("front_desk")
    confirmed = client.post(
        f"/api/v1/enrolments/{sam['id']}/confirm",
        headers=desk,
        json={"method": "check", "amount": PRICE, "reference": "check 1042"},
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    body = client.post(f"/api/v1/enrolments/{sam['id']}/withdraw", headers=as_participant(sam)).get_json()
    assert body["refund"] == {"amount": PRICE, "currency": "usd", "status": "owed_by_front_desk"}
    assert _refunded_at_stripe(localstripe_server, sam) == 0


def test_a_refund_is_not_lost_when_stripe_is_down_and_the_worker_sends_it_later(
    cohort, pay, client, stripe_app, localstripe_server
):
    from scheduler.payments import jobs

    sam = pay(cohort, "sam@example.org")
    stripe_app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # Stripe unreachable
    body = client.post(f"/api/v1/enrolments/{sam['id']}/withdraw", headers=as_participant(sam)).get_json()
    assert body["status"] == "withdrawn" and body["refund"]["status"] == "pending"
    [refund] = fresh(select(Refund))
    assert (refund.status, refund.attempts) == ("pending", 1)
    assert _refunded_at_stripe(localstripe_server, sam) == 0

    stripe_app.config["STRIPE_API_BASE"] = localstripe_server.url
    assert jobs.send_refunds() == 0  # backing off after the failure
    with time_machine.travel(refund.claimed_until + timedelta(seconds=1), tick=True):
        assert jobs.send_refunds() == 1
        assert jobs.send_refunds() == 0  # sent once, never twice
    assert _refunded_at_stripe(localstripe_server, sam) == PRICE
    assert [r.status for r in fresh(select(Refund))] == ["succeeded"]
