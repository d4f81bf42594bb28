"""Stripe is charged what is owed: levels and discounts, a price changed before payment, the
rest after a desk part payment, a balance after a transfer, and an overpayment given back."""

import pytest
from sqlalchemy import select

from scheduler.enrolment import jobs as enrolment_jobs
from scheduler.payments.models import Payment, Refund
from tests.helpers import as_participant, enrolled
from tests.stripe_double import fresh, wait_for_status, wait_until

pytestmark = pytest.mark.slow
PRICE = 36000
LEVELS = [{"code": "reduced", "name": "Reduced", "amount": 18000}]


def body_of(client, enrolment):
    from scheduler.foundation.extensions import db

    db.session.rollback()
    return client.get(f"/api/v1/enrolments/{enrolment['id']}", headers=as_participant(enrolment)).json


def test_a_self_chosen_level_with_a_discount_is_what_stripe_charges(
    stripe_app, client, make_program, make_cohort, localstripe_server, auth
):
    program = make_program(price_levels=LEVELS, self_select_price_level=True)
    cohort = make_cohort(program=program, capacity=2, price_amount=PRICE)
    client.post("/api/v1/discount-codes", json={"code": "TEN", "percent_off": 10}, headers=auth("front_desk"))
    enrolment = enrolled(client, cohort.id, "sam@example.org", price_level="reduced", discount_code="TEN")
    payment = enrolment["payment"]
    assert payment["amount"] == 16200
    intent = localstripe_server.payment_intent(payment["payment_intent_id"])
    assert (intent["amount"], intent["currency"]) == (16200, "usd")

    assert localstripe_server.pay(payment["payment_intent_id"], "pm_card_visa")["status"] == "succeeded"
    wait_for_status(client, enrolment, "confirmed")
    body = body_of(client, enrolment)
    assert (body["amount_due"], body["amount_paid"], body["balance"]) == (16200, 16200, 0)
    [paid] = body["payments"]
    assert (paid["amount"], paid["method"]) == (16200, "card")


def test_a_price_changed_before_payment_gets_a_new_intent_for_the_new_balance(
    stripe_app, client, make_cohort, localstripe_server, auth
):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=2, price_amount=PRICE)
    enrolment = enrolled(client, cohort.id, "sam@example.org")
    old_intent = enrolment["payment"]["payment_intent_id"]
    changed = client.patch(
        f"/api/v1/enrolments/{enrolment['id']}", json={"amount_due": 20000, "reason": "reduced fee"}, headers=desk
    )
    assert changed.status_code == 200, changed.json
    new = changed.json["payment"]
    assert new["amount"] == 20000 and new["payment_intent_id"] != old_intent
    assert localstripe_server.payment_intent(new["payment_intent_id"])["amount"] == 20000
    assert body_of(client, enrolment)["payment"]["payment_intent_id"] == new["payment_intent_id"]

    assert localstripe_server.pay(new["payment_intent_id"], "pm_card_visa")["status"] == "succeeded"
    wait_for_status(client, enrolment, "confirmed")
    assert body_of(client, enrolment)["balance"] == 0
    # The old intent, for the old price, can no longer be paid.
    assert enrolment_jobs.cancel_lapsed_payment_intents() == 1
    assert localstripe_server.payment_intent(old_intent)["status"] == "canceled"


def test_the_rest_after_a_desk_part_payment_is_charged_by_card(
    stripe_app, client, make_cohort, localstripe_server, auth
):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=2, price_amount=PRICE)
    enrolment = enrolled(client, cohort.id, "sam@example.org")
    part = client.post(
        f"/api/v1/enrolments/{enrolment['id']}/confirm", json={"method": "cash", "amount": 10000}, headers=desk
    )
    assert part.json["status"] == "pending_payment" and part.json["balance"] == 26000
    # The first intent, for the whole price, would now overpay: the job cancels it.
    assert enrolment_jobs.cancel_lapsed_payment_intents() == 1
    assert localstripe_server.payment_intent(enrolment["payment"]["payment_intent_id"])["status"] == "canceled"
    retry = client.post(f"/api/v1/enrolments/{enrolment['id']}/payment", headers=as_participant(enrolment))
    assert retry.status_code == 200 and retry.json["amount"] == 26000
    assert localstripe_server.pay(retry.json["payment_intent_id"], "pm_card_visa")["status"] == "succeeded"
    wait_for_status(client, enrolment, "confirmed")
    body = body_of(client, enrolment)
    assert (body["amount_paid"], body["balance"]) == (PRICE, 0)
    assert sorted(p["method"] for p in body["payments"]) == ["card", "cash"]


def test_paying_an_old_intent_after_the_desk_took_part_refunds_only_the_excess(
    stripe_app, client, make_cohort, localstripe_server, auth
):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=2, price_amount=PRICE)
    enrolment = enrolled(client, cohort.id, "sam@example.org")
    intent = enrolment["payment"]["payment_intent_id"]  # for the whole price
    client.post(f"/api/v1/enrolments/{enrolment['id']}/confirm", json={"method": "cash", "amount": 10000}, headers=desk)
    assert localstripe_server.pay(intent, "pm_card_visa")["status"] == "succeeded"
    wait_for_status(client, enrolment, "confirmed")
    wait_until(lambda: localstripe_server.refunds_for(intent), what="the refund of the excess at Stripe")
    assert [r["amount"] for r in localstripe_server.refunds_for(intent)] == [10000]
    body = body_of(client, enrolment)
    assert (body["amount_paid"], body["amount_refunded"], body["balance"]) == (PRICE + 10000, 10000, 0)
    assert [(r.amount, r.reason) for r in fresh(select(Refund))] == [(10000, "overpaid")]


def test_a_balance_after_a_transfer_to_a_dearer_group_is_paid_by_card(
    stripe_app, client, make_program, make_cohort, localstripe_server, auth
):
    desk = auth("front_desk")
    program = make_program()
    source = make_cohort(program=program, capacity=2, price_amount=PRICE)
    dearer = make_cohort(program=program, capacity=2, price_amount=40000)
    enrolment = enrolled(client, source.id, "sam@example.org")
    localstripe_server.pay(enrolment["payment"]["payment_intent_id"], "pm_card_visa")
    wait_for_status(client, enrolment, "confirmed")
    moved = client.post(f"/api/v1/enrolments/{enrolment['id']}/transfer", json={"cohort_id": dearer.id}, headers=desk)
    assert moved.json["balance"] == 4000 and moved.json["transfer"]["balance"] == 4000
    more = client.post(f"/api/v1/enrolments/{enrolment['id']}/payment", headers=as_participant(enrolment))
    assert more.status_code == 200 and more.json["amount"] == 4000
    assert enrolment_jobs.cancel_lapsed_payment_intents() == 0  # a confirmed person's balance stays payable
    localstripe_server.pay(more.json["payment_intent_id"], "pm_card_visa")
    wait_until(lambda: body_of(client, enrolment)["balance"] == 0, what="the balance to be paid")
    assert [p.amount for p in fresh(select(Payment).order_by(Payment.created_at))] == [PRICE, 4000]
    paid_up = client.post(f"/api/v1/enrolments/{enrolment['id']}/payment", headers=as_participant(enrolment))
    assert paid_up.status_code == 409
