"""Paying for a held seat, end to end: the app's HTTP API, localstripe, and its signed webhooks."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from scheduler.foundation import clock
from scheduler.payments.models import Payment, Refund, WebhookEvent
from tests.helpers import as_participant, bearer, emailed_link, enrolled, opened
from tests.stripe_double import (
    PUBLISHABLE_KEY,
    fresh,
    status_of,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.slow
PRICE = 36000


@pytest.fixture
def paid_cohort(stripe_app, make_cohort):
    def make(**overrides):
        return make_cohort(**{"price_amount": PRICE, "currency": "usd", "capacity": 2, **overrides})

    return make


def test_paying_with_a_good_card_confirms_the_seat(stripe_app, client, paid_cohort, localstripe_server):
    cohort = paid_cohort()
    enrolment = enrolled(client, cohort.id, "sam@example.org")
    assert enrolment["status"] == "pending_payment"
    payment = enrolment["payment"]
    assert payment["provider"] == "stripe"
    assert payment["amount"] == PRICE and payment["currency"] == "usd"
    assert payment["publishable_key"] == PUBLISHABLE_KEY
    assert payment["client_secret"].startswith(payment["payment_intent_id"] + "_secret_")

    intent = localstripe_server.payment_intent(payment["payment_intent_id"])
    assert intent["amount"] == PRICE and intent["currency"] == "usd"
    # Stripe learns ids only: no name, email or program name.
    assert set(intent["metadata"]) == {"enrolment_id", "cohort_id", "attempt"}
    assert intent["metadata"]["enrolment_id"] == enrolment["id"]
    assert "sam" not in str(intent).lower() and "skills" not in str(intent).lower()

    paid = localstripe_server.pay(payment["payment_intent_id"], "pm_card_visa")
    assert paid["status"] == "succeeded"
    wait_for_status(client, enrolment, "confirmed")

    body = client.get(f"/api/v1/enrolments/{enrolment['id']}", headers=as_participant(enrolment)).get_json()
    assert body["amount_paid"] == PRICE
    assert body["join_url"].startswith("https://scheduler.test/join/") and "meeting_url" not in body
    [row] = fresh(select(Payment))
    assert (row.status, row.amount, row.amount_refunded) == ("succeeded", PRICE, 0)
    # (only this intent's events: localstripe delivers a second late, so an earlier test's may land here)
    mine = select(WebhookEvent).where(WebhookEvent.payment_intent_id == payment["payment_intent_id"])
    assert [e.outcome for e in fresh(mine)] == ["confirmed"]


def test_a_failing_card_keeps_the_hold_and_a_retry_with_a_good_card_confirms(
    stripe_app, client, paid_cohort, localstripe_server
):
    cohort = paid_cohort()
    enrolment = enrolled(client, cohort.id, "alex@example.org")
    first = enrolment["payment"]["payment_intent_id"]

    declined = localstripe_server.pay(first, "pm_card_chargeCustomerFail")
    assert declined["status"] == 402
    outcomes = select(WebhookEvent.outcome).where(WebhookEvent.payment_intent_id == first)
    wait_until(lambda: fresh(outcomes) == ["failure_recorded"], what="payment_failed webhook")
    assert status_of(client, enrolment) == "pending_payment"

    retry = client.post(f"/api/v1/enrolments/{enrolment['id']}/payment", headers=as_participant(enrolment))
    assert retry.status_code == 200, retry.get_json()
    second = retry.get_json()
    assert second["provider"] == "stripe" and second["payment_intent_id"] != first
    hold_before = enrolment["hold_expires_at"]

    assert localstripe_server.pay(second["payment_intent_id"], "pm_card_visa")["status"] == "succeeded"
    wait_for_status(client, enrolment, "confirmed")
    assert hold_before == enrolment["hold_expires_at"]

    # The failed intent can no longer be used: the job cancels it.
    from scheduler.enrolment import jobs as enrolment_jobs

    assert enrolment_jobs.cancel_lapsed_payment_intents() == 1
    assert localstripe_server.payment_intent(first)["status"] == "canceled"
    statuses = {p.stripe_payment_intent_id: p.status for p in fresh(select(Payment))}
    assert statuses == {first: "cancelled", second["payment_intent_id"]: "succeeded"}


def test_a_card_that_needs_3d_secure_confirms_once_authenticated(stripe_app, client, paid_cohort, localstripe_server):
    cohort = paid_cohort()
    enrolment = enrolled(client, cohort.id, "kim@example.org")
    payment = enrolment["payment"]
    card = localstripe_server._call(
        "POST",
        "/v1/payment_methods",
        {
            "type": "card",
            "card[number]": "4000002500003155",
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
    )

    assert localstripe_server.pay(payment["payment_intent_id"], card["id"])["status"] == "requires_action"
    assert status_of(client, enrolment) == "pending_payment"

    done = localstripe_server.authenticate_3ds(payment["payment_intent_id"], payment["client_secret"])
    assert done["status"] == "succeeded"
    wait_for_status(client, enrolment, "confirmed")


def test_payment_after_the_hold_lapsed_and_the_seat_went_to_someone_else_is_refunded(
    stripe_app, client, paid_cohort, localstripe_server
):
    cohort = paid_cohort(capacity=1, hold_minutes=30)
    # Sam's hold was taken an hour ago, so it lapsed half an hour ago.
    with time_machine.travel(clock.now() - timedelta(hours=1), tick=True):
        sam = enrolled(client, cohort.id, "sam@example.org")
    robin = enrolled(client, cohort.id, "robin@example.org")
    assert robin["status"] == "pending_payment"  # the cohort is full again

    intent = sam["payment"]["payment_intent_id"]
    assert localstripe_server.pay(intent, "pm_card_visa")["status"] == "succeeded"

    wait_until(lambda: localstripe_server.refunds_for(intent), what="the automatic refund at Stripe")
    assert sum(r["amount"] for r in localstripe_server.refunds_for(intent)) == PRICE
    assert status_of(client, sam) == "expired"
    assert status_of(client, robin) == "pending_payment"
    [refund] = fresh(select(Refund))
    assert (refund.amount, refund.status) == (PRICE, "succeeded")
    # Told twice: the hold lapsed (when Robin took the seat), then the late payment went back.
    from scheduler.notifications.models import OutboxMessage

    kinds = fresh(select(OutboxMessage.kind).where(OutboxMessage.enrolment_id == sam["id"]))
    assert kinds.count("hold_expired") == 2


def test_payment_after_the_hold_lapsed_confirms_when_a_seat_is_still_free(
    stripe_app, client, paid_cohort, localstripe_server
):
    cohort = paid_cohort(capacity=1, hold_minutes=30)
    with time_machine.travel(clock.now() - timedelta(hours=1), tick=True):
        sam = enrolled(client, cohort.id, "sam@example.org")
    localstripe_server.pay(sam["payment"]["payment_intent_id"], "pm_card_visa")
    wait_for_status(client, sam, "confirmed")
    assert fresh(select(Refund)) == []


def test_a_lapsed_hold_cancels_its_payment_intent(stripe_app, client, paid_cohort, localstripe_server):
    from scheduler.enrolment import jobs as enrolment_jobs

    cohort = paid_cohort(hold_minutes=30)
    sam = enrolled(client, cohort.id, "sam@example.org")
    intent = sam["payment"]["payment_intent_id"]
    assert enrolment_jobs.cancel_lapsed_payment_intents() == 0  # the hold still stands
    with time_machine.travel(clock.now() + timedelta(minutes=31), tick=True):
        assert enrolment_jobs.cancel_lapsed_payment_intents() == 1
    assert localstripe_server.payment_intent(intent)["status"] == "canceled"
    assert [p.status for p in fresh(select(Payment))] == ["cancelled"]


def test_when_stripe_is_down_the_seat_is_still_held_and_paying_works_once_it_answers(
    stripe_app, client, paid_cohort, localstripe_server
):
    """The hold commits before Stripe is called: Stripe being down loses nobody their seat."""
    real_base = stripe_app.config["STRIPE_API_BASE"]
    stripe_app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    cohort = paid_cohort()
    response = client.post(
        f"/api/v1/cohorts/{cohort.id}/enrolments",
        headers={"Idempotency-Key": "down-1"},
        json={"name": "Sam Rivera", "email": "sam@example.org"},
    )
    assert response.status_code == 202, response.get_json()
    held = opened(client, cohort.id, "sam@example.org")  # the emailed link, opened while Stripe is down
    assert held["status"] == "pending_payment"
    assert held["payment"]["status"] in ("none", "unavailable") and "client_secret" not in held["payment"]
    assert client.get(f"/api/v1/cohorts/{cohort.id}").get_json()["seats_available"] == 1
    [row] = fresh(select(Payment))
    assert row.status == "creating" and row.stripe_payment_intent_id is None

    stripe_app.config["STRIPE_API_BASE"] = real_base
    # The person presses Pay again on their page: the same enrolment, now with an intent to pay.
    again = client.post(f"/api/v1/enrolments/{held['id']}/payment", headers=as_participant(held))
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["client_secret"]
    assert localstripe_server.pay(again.get_json()["payment_intent_id"], "pm_card_visa")["status"] == "succeeded"
    wait_for_status(client, held, "confirmed")


def test_the_worker_finishes_a_payment_that_stripe_could_not_take_when_the_seat_was_held(
    stripe_app, client, paid_cohort, localstripe_server
):
    from scheduler.enrolment import jobs as enrolment_jobs

    real_base = stripe_app.config["STRIPE_API_BASE"]
    stripe_app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    held = enrolled(client, paid_cohort().id, "sam@example.org")
    stripe_app.config["STRIPE_API_BASE"] = real_base
    with time_machine.travel(clock.now() + timedelta(minutes=1), tick=True):
        assert enrolment_jobs.finish_creating_payments() == 1
        assert enrolment_jobs.finish_creating_payments() == 0
    paying = client.get(f"/api/v1/enrolments/{held['id']}", headers=as_participant(held)).get_json()["payment"]
    assert paying["client_secret"] and paying["payment_intent_id"].startswith("pi_")
    assert localstripe_server.payment_intent(paying["payment_intent_id"])["metadata"]["enrolment_id"] == held["id"]


def test_without_stripe_keys_payment_is_manual_and_the_desk_confirms(app, client, make_cohort, auth):
    cohort = make_cohort(price_amount=PRICE, currency="usd")
    enrolment = enrolled(client, cohort.id, "sam@example.org")
    assert enrolment["payment"] == {"provider": "manual", "amount": PRICE, "currency": "usd"}
    confirmed = client.post(
        f"/api/v1/enrolments/{enrolment['id']}/confirm",
        headers=auth("front_desk"),
        json={"method": "cash", "amount": PRICE, "reference": "receipt 12"},
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["status"] == "confirmed"
    [row] = fresh(select(Payment))
    assert (row.provider, row.method, row.amount, row.status) == ("desk", "cash", PRICE, "succeeded")


def test_every_create_refund_and_cancel_carries_an_idempotency_key_from_our_ids(
    stripe_app, client, paid_cohort, localstripe_server
):
    """A recording proxy between the app and localstripe shows what Stripe would receive."""

    from scheduler.enrolment import jobs as enrolment_jobs
    from tests.stripe_double import StripeProxy

    seen = []

    def record(request):
        seen.append(
            (request.method, request.path, request.headers.get("Idempotency-Key"), request.get_data(as_text=True))
        )

    server = StripeProxy(localstripe_server, record).start()
    try:
        stripe_app.config["STRIPE_API_BASE"] = server.url
        cohort = paid_cohort()
        sam = enrolled(client, cohort.id, "sam@example.org")
        localstripe_server.pay(sam["payment"]["payment_intent_id"], "pm_card_visa")
        wait_for_status(client, sam, "confirmed")
        client.post(f"/api/v1/enrolments/{sam['id']}/withdraw", headers=as_participant(sam))
        kim = enrolled(client, cohort.id, "kim@example.org")
        with time_machine.travel(clock.now() + timedelta(hours=1), tick=True):
            enrolment_jobs.cancel_lapsed_payment_intents()
    finally:
        server.stop()

    writes = [(method, path, key, body) for method, path, key, body in seen if method == "POST"]
    [refund] = fresh(select(Refund))
    assert [(path, key) for _, path, key, _ in writes] == [
        ("/v1/payment_intents", f"pi-{sam['id']}-1"),
        ("/v1/refunds", f"refund-{refund.id}"),
        ("/v1/payment_intents", f"pi-{kim['id']}-1"),
        (
            f"/v1/payment_intents/{kim['payment']['payment_intent_id']}/cancel",
            f"cancel-{fresh(select(Payment.id).where(Payment.enrolment_id == kim['id']))[0]}",
        ),
    ]
    created = writes[0][3]
    assert "Sam" not in created and "example.org" not in created and "Skills" not in created
    assert f"metadata[enrolment_id]={sam['id']}" in created.replace("%5B", "[").replace("%5D", "]")


def test_real_stripe_gets_a_generic_description_and_ids_only():
    from scheduler.payments.gateway import DESCRIPTION, intent_params

    params = intent_params(
        amount=PRICE, currency="usd", enrolment_id="enr_1", cohort_id="coh_1", attempt=2, with_description=True
    )
    assert params["description"] == DESCRIPTION == "Group program enrolment"
    assert params["metadata"] == {"enrolment_id": "enr_1", "cohort_id": "coh_1", "attempt": "2"}


def test_a_slow_stripe_does_not_delay_another_enrolment_in_the_same_cohort(stripe_app, paid_cohort, localstripe_server):
    """No network call under the cohort lock: while Stripe sits on one person's PaymentIntent,
    the next person enrols in the same cohort (under the old design they waited for the lock)."""
    import threading

    import requests

    from tests.stripe_double import StripeProxy

    first_call_arrived, release = threading.Event(), threading.Event()
    calls = []

    def slow_stripe(request):
        calls.append(request.path)
        if request.path == "/v1/payment_intents" and len(calls) == 1:
            first_call_arrived.set()
            release.wait(30)  # Stripe answering slowly: held until the test lets it go

    proxy = StripeProxy(localstripe_server, slow_stripe).start()
    stripe_app.config["STRIPE_API_BASE"] = proxy.url
    cohort = paid_cohort()
    url = f"{stripe_app.live_url}/api/v1/cohorts/{cohort.id}/enrolments"
    for name in ("a", "b"):  # both ask for a place; Stripe is reached once each opens the emailed link
        assert requests.post(url, json={"name": name, "email": f"{name}@example.org"}, timeout=20).status_code == 202
    links = {name: emailed_link(cohort.id, f"{name}@example.org") for name in ("a", "b")}

    def open_link(name):
        enrolment_id, token = links[name]
        return requests.get(
            f"{stripe_app.live_url}/api/v1/enrolments/{enrolment_id}", headers=bearer(token), timeout=60
        )

    results = {}

    def enrol_first():
        results["first"] = open_link("a")

    first = threading.Thread(target=enrol_first)
    first.start()
    try:
        assert first_call_arrived.wait(20), "the first enrolment never reached Stripe"
        second = open_link("b")
        assert "first" not in results, "the first enrolment finished before Stripe answered it"
        assert second.status_code == 200, second.text
        assert second.json()["status"] == "pending_payment" and second.json()["payment"]["client_secret"]
    finally:
        release.set()
        first.join(30)
        proxy.stop()
    assert results["first"].status_code == 200 and results["first"].json()["payment"]["client_secret"]
