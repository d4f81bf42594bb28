"""A correctly signed Stripe webhook whose body is not an event object (issue 20, finding 8).

Stripe's signature proves who sent a body, not that it is sound: JSON that is not an object, or
that nests deeper than the app's guard allows anywhere else, is a 400 problem like the other
webhook errors, and records nothing. No Stripe double is needed: only the signature is checked.
"""

import json

import pytest
from sqlalchemy import select

from scheduler.foundation.http import MAX_JSON_DEPTH
from scheduler.payments.models import WebhookEvent
from tests.stripe_double import WEBHOOK_SECRET, fresh, signed

URL = "/api/v1/payments/stripe/webhook"
DEEP = "[" * 3000 + "]" * 3000


@pytest.fixture
def webhook_app(app):
    app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    return app


@pytest.mark.parametrize(
    "body",
    [
        "[1]",
        '"x"',
        "1",
        "null",
        "true",
        "[]",
        DEEP,
        json.dumps({"id": "evt_deep", "type": "payment_intent.succeeded", "data": {"object": {"x": "@"}}}).replace(
            '"@"', DEEP
        ),
        "{" * 3000,
    ],
    ids=["array", "string", "number", "null", "true", "empty array", "deep array", "deep in an event", "deep open"],
)
def test_a_signed_body_that_is_not_an_event_object_is_a_400_problem(webhook_app, client, body):
    response = client.post(URL, data=body, headers=signed(body))
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400
    assert fresh(select(WebhookEvent)) == []


def test_the_depth_guard_is_the_one_every_json_body_meets(webhook_app, client):
    too_deep = json.dumps({"id": "evt_1", "type": "x.unknown", "data": {"object": {}}}).replace(
        "{}", "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    )
    refused = client.post(URL, data=too_deep, headers=signed(too_deep))
    assert refused.status_code == 400
    assert f"more than {MAX_JSON_DEPTH} levels deep" in refused.get_json()["detail"]
    # A sound event of an unknown type is still taken (200) with the same secret.
    body = json.dumps({"id": "evt_2", "object": "event", "type": "customer.created", "data": {"object": {}}})
    answer = client.post(URL, data=body, headers=signed(body))
    assert answer.status_code == 200 and answer.get_json() == {"received": True, "outcome": "ignored"}
