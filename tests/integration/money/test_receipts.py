"""Receipts for a card and a desk payment: who may open them and what they say."""

import html
import re

import pytest
from sqlalchemy import select

from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from tests.helpers import as_participant, enrolled
from tests.stripe_double import wait_for_status

PRICE = 36000


def text(response) -> str:
    """The receipt as a person reads it: tags dropped, entities and spaces normalised."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def test_a_desk_receipt_says_who_paid_what_for_what_how_and_when(app, client, make_program, make_cohort, auth):
    app.config.update(CLINIC_ADDRESS="1 Example Street, Springfield", CLINIC_TAX_ID="TAX-123-456")
    desk = auth("front_desk")
    program = make_program(name="DBT Skills Group")
    cohort = make_cohort(program=program, name="Thursday evenings", capacity=2, price_amount=PRICE)
    held = enrolled(client, cohort.id, "sam@example.org")
    paid = client.post(
        f"/api/v1/enrolments/{held['id']}/confirm",
        json={"method": "check", "amount": PRICE, "reference": "chk 1042"},
        headers=desk,
    ).json
    [payment] = paid["payments"]
    url = payment["receipt_url"].removeprefix("https://scheduler.test")
    receipt = client.get(url, headers=as_participant(held))
    assert receipt.status_code == 200 and receipt.mimetype == "text/html"
    assert receipt.headers["Cache-Control"] == "no-store"
    # Styled from a file: the Content-Security-Policy of HTML responses allows no inline <style>.
    page = receipt.get_data(as_text=True)
    assert (
        "<style" not in page
        and "/static/receipt.css" in page
        and "style-src 'self'" in receipt.headers["Content-Security-Policy"]
    )
    body = text(receipt)
    for expected in (
        "Test Clinic",
        "1 Example Street",
        "Springfield",
        "Tax id: TAX-123-456",
        f"Receipt number {payment['id']}",
        "Received from Sam Rivera",
        "For Group session",
        "12 sessions, October 3, 2030 to December 19, 2030",
        "Paid by Check (reference chk 1042)",
        "Amount paid $360.00",
    ):
        assert expected in body, expected
    assert "DBT" not in body  # the neutral title, as on the calendar

    insurer = text(client.get(url + "?for=insurer", headers=desk))
    assert "For DBT Skills Group: Thursday evenings" in insurer
    assert client.get(url + "?for=boss", headers=desk).status_code == 422

    # After the person withdrew with a refund, the receipt says so.
    client.post(f"/api/v1/enrolments/{held['id']}/withdraw", headers=desk)
    after = text(client.get(url, headers=desk))
    assert "Refunded $360.00" in after and "to be paid back by the front desk" in after and "Net paid $0.00" in after


def test_only_the_payer_and_the_desk_open_a_receipt(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=3, price_amount=PRICE)
    mine = enrolled(client, cohort.id, "a@example.org")
    other = enrolled(client, cohort.id, "b@example.org")
    paid = client.post(
        f"/api/v1/enrolments/{mine['id']}/confirm", json={"method": "cash", "amount": PRICE}, headers=desk
    ).json
    url = f"/api/v1/payments/{paid['payments'][0]['id']}/receipt"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=as_participant(other)).status_code == 404
    assert client.get(url, headers=auth("facilitator")).status_code == 403
    assert client.get(url, headers=auth("admin")).status_code == 200
    assert client.get(url + f"?token={mine['manage_token']}").status_code == 200
    assert client.get("/api/v1/payments/pay_nope/receipt", headers=desk).status_code == 404


def test_a_locale_formats_the_receipt_and_the_emails(app, client, make_cohort, auth):
    app.config["CLINIC_LOCALE"] = "fr_FR"
    desk = auth("front_desk")
    cohort = make_cohort(capacity=2, price_amount=PRICE, currency="eur")
    held = enrolled(client, cohort.id, "a@example.org")
    paid = client.post(
        f"/api/v1/enrolments/{held['id']}/confirm", json={"method": "cash", "amount": PRICE}, headers=desk
    ).json
    body = text(client.get(f"/api/v1/payments/{paid['payments'][0]['id']}/receipt", headers=desk))
    assert "360,00 €" in body
    db.session.rollback()
    received = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.enrolment_id == held["id"], OutboxMessage.kind == "enrolment_received"
        )
    )
    assert "to pay 360,00\xa0€" in received.body_text


@pytest.mark.slow
def test_a_card_receipt_is_linked_from_the_confirmation_email(stripe_app, client, make_cohort, localstripe_server):
    cohort = make_cohort(capacity=2, price_amount=PRICE)
    held = enrolled(client, cohort.id, "sam@example.org")
    localstripe_server.pay(held["payment"]["payment_intent_id"], "pm_card_visa")
    wait_for_status(client, held, "confirmed")
    db.session.rollback()
    confirmation = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.enrolment_id == held["id"], OutboxMessage.kind == "enrolment_confirmed"
        )
    )
    [link] = re.findall(r"https://scheduler\.test(/api/v1/payments/\S+/receipt\?token=\S+)", confirmation.body_text)
    assert "$360.00 (Card)" in confirmation.body_text
    receipt = client.get(link)  # the token in the emailed link is the credential
    assert receipt.status_code == 200
    body = text(receipt)
    assert "Paid by Card" in body and "Amount paid $360.00" in body and "Received from Sam Rivera" in body
