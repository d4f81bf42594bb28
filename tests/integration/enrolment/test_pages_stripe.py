"""The participant page with card payments, against localstripe: the card form, "confirming" until
the webhook arrives, and a fresh payment when the last one was cancelled."""

import os

import pytest
from sqlalchemy import select

from scheduler.foundation.extensions import db
from scheduler.payments.models import Payment
from tests.helpers import cohort_form, emailed_link

pytestmark = pytest.mark.slow


@pytest.fixture
def card_page(stripe_app, client, make_cohort, localstripe_server):
    """A person who enrolled through the form and opened the emailed link: a held seat, their cookie in `client`."""
    stripe_app.config["STRIPE_JS_URL"] = localstripe_server.url + "/js.stripe.com/v3/"
    cohort = make_cohort()
    fields = cohort_form(client, cohort)
    response = client.post(
        f"/cohorts/{cohort.id}", data={**fields, "name": "Robin Lee", "email": "robin@example.org", "timezone": "UTC"}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/check-email")
    enrolment_id, token = emailed_link(cohort.id, "robin@example.org")
    assert client.get(f"/me/{enrolment_id}", query_string={"token": token}).status_code in (200, 303)
    db.session.rollback()
    intent = db.session.scalar(select(Payment.stripe_payment_intent_id).where(Payment.enrolment_id == enrolment_id))
    return {"id": enrolment_id, "intent": intent, "csrf": fields["csrf_token"]}


def test_the_page_mounts_the_card_form_with_the_intents_client_secret(client, card_page, localstripe_server):
    response = client.get(f"/me/{card_page['id']}")
    html = response.get_data(as_text=True)
    secret = localstripe_server.payment_intent(card_page["intent"])["client_secret"]
    assert f'data-client-secret="{secret}"' in html and 'data-publishable-key="pk_test_localstripe"' in html
    assert f'<script src="{localstripe_server.url}/js.stripe.com/v3/"></script>' in html
    assert f"script-src 'self' {localstripe_server.url}" in response.headers["Content-Security-Policy"]
    assert ">Pay</button>" in html and "needs JavaScript" in html  # the <noscript> way out


def test_a_paid_intent_shows_confirming_until_the_webhook_arrives(client, card_page, localstripe_server):
    # Stripe's events go nowhere for now: the payment succeeded but the app has not heard.
    localstripe_server.register_webhook(f"scheduler-{os.getpid()}", "http://127.0.0.1:9/nowhere")
    assert localstripe_server.pay(card_page["intent"], "pm_card_visa")["status"] == "succeeded"
    html = client.get(f"/me/{card_page['id']}").get_data(as_text=True)
    assert "Payment received, confirming…" in html and '<meta http-equiv="refresh" content="5">' in html
    assert "data-client-secret" not in html

    # (the browser journey sees the same page turn into the confirmed one when the webhook arrives)


def test_a_cancelled_intent_is_replaced_by_a_fresh_one_from_the_pay_button(client, card_page, localstripe_server):
    localstripe_server._call("POST", f"/v1/payment_intents/{card_page['intent']}/cancel")
    html = client.get(f"/me/{card_page['id']}").get_data(as_text=True)
    assert "Start your card payment here" in html and "data-client-secret" not in html
    started = client.post(f"/me/{card_page['id']}/payment", data={"csrf_token": card_page["csrf"]})
    assert started.status_code == 303
    db.session.rollback()
    intents = db.session.scalars(
        select(Payment.stripe_payment_intent_id).where(Payment.enrolment_id == card_page["id"])
    )
    fresh = [i for i in intents if i != card_page["intent"]]
    assert len(fresh) == 1
    secret = localstripe_server.payment_intent(fresh[0])["client_secret"]
    assert f'data-client-secret="{secret}"' in client.get(f"/me/{card_page['id']}").get_data(as_text=True)
