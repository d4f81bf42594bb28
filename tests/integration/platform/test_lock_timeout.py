"""A write that cannot get its lock in time answers 503 with Retry-After and changes nothing.

Stripe retries a webhook that gets a 5xx; a client retries an enrolment. Here another
connection holds the cohort's lock (a row lock on PostgreSQL, the write lock on SQLite)
while the request comes in, with DB_LOCK_TIMEOUT_SECONDS shortened for the test.
"""

import json
import sqlite3
from contextlib import contextmanager

import psycopg
import pytest
import stripe
from sqlalchemy import func, select

from scheduler import create_app
from scheduler.enrolment.models import Enrolment
from scheduler.foundation.config import for_tests
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db
from scheduler.payments.models import Payment, WebhookEvent
from tests.helpers import enrolled, opened

WEBHOOK_SECRET = "whsec_lock_test"


@contextmanager
def cohort_locked_elsewhere(database_url: str, cohort_id: str):
    """Hold the cohort's lock from a separate connection, as a slow transaction would."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
        conn.execute("SELECT id FROM cohorts WHERE id = %s FOR UPDATE", (cohort_id,))
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


@pytest.fixture
def impatient_app(app, database_url):
    """A second app on the same database whose writers wait only half a second for a lock."""
    other = create_app(for_tests(database_url, DB_LOCK_TIMEOUT_SECONDS=0.5, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET))
    with other.app_context():
        yield other
        db.session.remove()
        db.engine.dispose()


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_enrolment_waiting_too_long_for_the_cohort_lock_is_503_and_writes_nothing(
    impatient_app, database_url, make_cohort, auth
):
    """The desk's enrolment takes the cohort's lock while the caller waits: it gives up as a 503."""
    desk = auth("front_desk")
    cohort = make_cohort(price_amount=0)
    client = impatient_app.test_client()
    body = {"name": "Sam Rivera", "email": "sam@example.org"}
    with cohort_locked_elsewhere(database_url, cohort.id):
        response = client.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json=body, headers=desk)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert _count(Enrolment) == 0
    retried = client.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json=body, headers=desk)
    assert retried.status_code == 201 and retried.get_json()["status"] == "confirmed"


def test_a_public_request_is_answered_without_the_lock_and_carried_out_once_it_is_free(
    impatient_app, database_url, make_cohort
):
    """The public's answer waits on no seat lock; the worker that meets the lock tries again later."""
    from scheduler.inbox.models import PublicRequest
    from scheduler.inbox.services import handle_requests

    cohort = make_cohort(price_amount=0)
    client = impatient_app.test_client()
    body = {"name": "Sam Rivera", "email": "sam@example.org"}
    if database_url.startswith("sqlite"):  # SQLite's lock is the whole database: queue the request first
        assert client.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json=body).status_code == 202
    with cohort_locked_elsewhere(database_url, cohort.id):
        if not database_url.startswith("sqlite"):
            assert client.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json=body).status_code == 202
        assert handle_requests() == 0  # the worker gave up on the lock: nothing half-done
    assert _count(Enrolment) == 0
    waiting = db.session.scalars(select(PublicRequest)).one()
    assert waiting.settled_at is None and waiting.attempts == 0  # a busy lock is no failure of the request
    assert handle_requests() == 1
    assert opened(client, cohort.id, "sam@example.org")["status"] == "confirmed"


def test_stripe_webhook_blocked_by_a_lock_is_503_so_stripe_retries_and_the_retry_applies_once(
    impatient_app, database_url, make_cohort
):
    cohort = make_cohort(price_amount=36000)
    client = impatient_app.test_client()
    enrolment = enrolled(client, cohort, "sam@example.org", "Sam Rivera")
    assert enrolment["status"] == "pending_payment"
    with write_transaction():
        db.session.add(
            Payment(
                enrolment_id=enrolment["id"],
                provider="stripe",
                method="card",
                stripe_payment_intent_id="pi_lock_test",
                amount=36000,
                currency="usd",
            )
        )
    payload = json.dumps(
        {
            "id": "evt_lock_test",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {
                    "id": "pi_lock_test",
                    "object": "payment_intent",
                    "amount": 36000,
                    "currency": "usd",
                    "status": "succeeded",
                }
            },
        }
    )
    headers = {
        "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET),
        "Content-Type": "application/json",
    }

    with cohort_locked_elsewhere(database_url, cohort.id):
        blocked = client.post("/api/v1/payments/stripe/webhook", data=payload, headers=headers)
    assert blocked.status_code == 503
    assert "Retry-After" in blocked.headers
    assert _count(WebhookEvent) == 0
    assert db.session.get(Enrolment, enrolment["id"]).status == "pending_payment"

    # Stripe's retry, once the lock is gone, takes effect; a further replay changes nothing.
    for outcome in ("confirmed", "replay"):
        response = client.post("/api/v1/payments/stripe/webhook", data=payload, headers=headers)
        assert response.status_code == 200
        assert response.json["outcome"] == outcome
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment["id"]).status == "confirmed"


def test_a_staff_write_waits_its_turn_behind_a_concurrent_writer_instead_of_failing(
    client, auth, make_program, database_url
):
    """Issue 14, finding 9: on SQLite a staff write used to fail at once with 503 "database is
    locked" when an enrolment committed while it ran; every write now begins by taking the lock."""
    import threading

    program = make_program()
    headers = auth("front_desk")
    if database_url.startswith("sqlite"):
        other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE programs SET description = 'changed by another writer' WHERE id = ?", (program.id,))
    else:
        other = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
        other.execute("UPDATE programs SET description = 'changed by another writer' WHERE id = %s", (program.id,))
    finishing = threading.Timer(0.5, lambda: (other.commit(), other.close()))
    finishing.start()
    try:
        created = client.post("/api/v1/programs", headers=headers, json={"name": "Evening group"})
    finally:
        finishing.join()
    assert created.status_code == 201, created.get_json()
    assert client.get(f"/api/v1/programs/{created.get_json()['id']}", headers=headers).status_code == 200
