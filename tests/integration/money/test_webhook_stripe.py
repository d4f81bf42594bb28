"""The Stripe webhook: signatures, replays, out-of-order and unknown events, dashboard refunds."""

import json
import time

import pytest
import requests
from sqlalchemy import select

from scheduler.payments.models import Payment, Refund, WebhookEvent
from tests.helpers import enrolled
from tests.stripe_double import (
    fresh,
    signed,
    status_of,
    wait_for_status,
)

pytestmark = pytest.mark.slow
PRICE = 36000
URL = "/api/v1/payments/stripe/webhook"


def _event(type_: str, obj: dict, event_id: str = "evt_test_1") -> str:
    return json.dumps({"id": event_id, "object": "event", "type": type_, "data": {"object": obj}})


@pytest.fixture
def paid(stripe_app, client, make_cohort, localstripe_server):
    """A confirmed enrolment paid through localstripe, and its intent id."""
    cohort = make_cohort(price_amount=PRICE, currency="usd", capacity=2)
    enrolment = enrolled(client, cohort.id, "sam@example.org")
    intent = enrolment["payment"]["payment_intent_id"]
    localstripe_server.pay(intent, "pm_card_visa")
    wait_for_status(client, enrolment, "confirmed")
    return enrolment, intent


def test_bad_tampered_stale_and_missing_signatures_are_refused_and_change_nothing(stripe_app, client):
    body = _event("payment_intent.succeeded", {"id": "pi_nobody", "amount": PRICE, "currency": "usd"})
    cases = {
        "missing": {"Content-Type": "application/json"},
        "wrong secret": signed(body, secret="whsec_not_ours"),
        "stale": signed(body, timestamp=int(time.time()) - 600),
        "garbled": {"Stripe-Signature": "nonsense", "Content-Type": "application/json"},
    }
    for name, headers in cases.items():
        response = client.post(URL, data=body, headers=headers)
        assert response.status_code == 400, name
        assert response.mimetype == "application/problem+json"
        assert "Stripe-Signature" in response.get_json()["detail"]
    tampered = body.replace(str(PRICE), "1")
    response = client.post(URL, data=tampered, headers=signed(body))
    assert response.status_code == 400
    assert fresh(select(WebhookEvent).where(WebhookEvent.payment_intent_id == "pi_nobody")) == []


def test_a_signed_event_delivered_over_http_from_localstripe_is_replayed_without_effect(
    paid, client, localstripe_server
):
    enrolment, intent = paid
    [evt] = localstripe_server.events_about(intent, "payment_intent.succeeded")
    body = json.dumps(evt)
    for _ in range(2):
        response = client.post(URL, data=body, headers=signed(body))
        assert response.status_code == 200
        assert response.get_json() == {"received": True, "outcome": "replay"}
    assert status_of(client, enrolment) == "confirmed"
    assert [p.amount_refunded for p in fresh(select(Payment))] == [0]
    assert len(fresh(select(WebhookEvent).where(WebhookEvent.payment_intent_id == intent))) == 1


def test_a_failure_arriving_after_the_success_does_not_undo_it(paid, client):
    enrolment, intent = paid
    late = _event(
        "payment_intent.payment_failed",
        {
            "id": intent,
            "amount": PRICE,
            "currency": "usd",
            "status": "requires_payment_method",
            "last_payment_error": {"code": "card_declined"},
        },
        "evt_late_failure",
    )
    response = client.post(URL, data=late, headers=signed(late))
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "ignored_succeeded"
    assert status_of(client, enrolment) == "confirmed"
    assert [p.status for p in fresh(select(Payment))] == ["succeeded"]


def test_success_arriving_before_the_failure_event_of_the_same_intent(stripe_app, client, make_cohort):
    """Out of order the other way: success first (signed by us), the older failure second."""
    cohort = make_cohort(price_amount=PRICE, currency="usd")
    enrolment = enrolled(client, cohort.id, "kim@example.org")
    intent = enrolment["payment"]["payment_intent_id"]
    success = _event("payment_intent.succeeded", {"id": intent, "amount": PRICE, "currency": "usd"}, "evt_2")
    failure = _event("payment_intent.payment_failed", {"id": intent, "amount": PRICE, "currency": "usd"}, "evt_1")
    assert client.post(URL, data=success, headers=signed(success)).get_json()["outcome"] == "confirmed"
    assert client.post(URL, data=failure, headers=signed(failure)).get_json()["outcome"] == "ignored_succeeded"
    assert status_of(client, enrolment) == "confirmed"


def test_an_amount_or_currency_that_does_not_match_ours_confirms_nothing(stripe_app, client, make_cohort):
    cohort = make_cohort(price_amount=PRICE, currency="usd")
    enrolment = enrolled(client, cohort.id, "kim@example.org")
    intent = enrolment["payment"]["payment_intent_id"]
    for n, (amount, currency) in enumerate([(100, "usd"), (PRICE, "eur")]):
        body = _event("payment_intent.succeeded", {"id": intent, "amount": amount, "currency": currency}, f"evt_{n}")
        response = client.post(URL, data=body, headers=signed(body))
        assert response.status_code == 200
        assert response.get_json()["outcome"] == "amount_mismatch"
    assert status_of(client, enrolment) == "pending_payment"


def test_an_event_for_an_unknown_payment_intent_is_acknowledged_and_recorded(stripe_app, client):
    body = _event("payment_intent.succeeded", {"id": "pi_not_ours", "amount": PRICE, "currency": "usd"})
    response = client.post(URL, data=body, headers=signed(body))
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "unknown_payment_intent"
    assert client.post(URL, data=body, headers=signed(body)).get_json()["outcome"] == "replay"
    recorded = fresh(select(WebhookEvent.id).where(WebhookEvent.payment_intent_id == "pi_not_ours"))
    assert recorded == ["evt_test_1"]
    assert fresh(select(Payment)) == []


def test_unknown_event_types_are_acknowledged(stripe_app, client):
    body = _event("customer.created", {"id": "cus_1"})
    response = client.post(URL, data=body, headers=signed(body))
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "ignored"


def test_a_refund_made_in_the_stripe_dashboard_is_recorded_once(paid, client, localstripe_server):
    enrolment, intent = paid
    localstripe_server.dashboard_refund(intent, 5000)
    charge = localstripe_server.charge(localstripe_server.payment_intent(intent)["latest_charge"]["id"])
    assert charge["amount_refunded"] == 5000
    charge.pop("status", None)
    body = _event("charge.refunded", charge, "evt_dashboard_refund")
    assert client.post(URL, data=body, headers=signed(body)).get_json()["outcome"] == "dashboard_refund_recorded"
    assert client.post(URL, data=body, headers=signed(body)).get_json()["outcome"] == "replay"
    again = _event("charge.refunded", charge, "evt_dashboard_refund_again")
    assert client.post(URL, data=again, headers=signed(again)).get_json()["outcome"] == "already_recorded"
    [refund] = fresh(select(Refund))
    assert (refund.amount, refund.source, refund.status) == (5000, "stripe_dashboard", "succeeded")
    assert [p.amount_refunded for p in fresh(select(Payment))] == [5000]


def test_a_full_refund_in_the_dashboard_ends_the_place_and_its_link(paid, client, localstripe_server):
    """Issue 14: money all given back in Stripe's dashboard must not leave a confirmed place with the link."""
    enrolment, intent = paid
    localstripe_server.dashboard_refund(intent, PRICE)
    charge = localstripe_server.charge(localstripe_server.payment_intent(intent)["latest_charge"]["id"])
    charge.pop("status", None)
    body = _event("charge.refunded", charge, "evt_dashboard_full_refund")
    assert client.post(URL, data=body, headers=signed(body)).get_json()["outcome"] == "dashboard_refund_withdrew"
    assert status_of(client, enrolment) == "withdrawn"
    seen = client.get(
        f"/api/v1/enrolments/{enrolment['id']}", headers={"Authorization": f"Bearer {enrolment['manage_token']}"}
    ).get_json()
    assert "meeting_url" not in seen and "calendar_url" not in seen


def test_the_webhook_is_reachable_over_real_http(stripe_app):
    body = _event("customer.created", {"id": "cus_1"})
    response = requests.post(stripe_app.live_url + URL, data=body, headers=signed(body), timeout=10)
    assert response.status_code == 200
