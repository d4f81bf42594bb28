"""The enrolment side of paying: apply_payment under lock_enrolment, and a cancelled cohort's refunds."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from scheduler.enrolment import seat_keeping, views
from scheduler.enrolment.models import Enrolment
from scheduler.foundation.database import write_transaction
from scheduler.foundation.errors import NotFound
from scheduler.foundation.extensions import db
from scheduler.payments import ledger
from scheduler.payments.models import PaymentStatus
from tests.helpers import enrolled

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)


def pay(enrolment_id, amount=100):
    """A card payment the ledger holds (as the webhook records it), then apply_payment."""
    with write_transaction():
        enrolment = views.lock_enrolment(enrolment_id)
        payment = ledger.open_card_payment(enrolment.id, amount, "usd")
        payment.move_to(PaymentStatus.SUCCEEDED)
        result = seat_keeping.apply_payment(enrolment, method="card")
    return result, db.session.get(Enrolment, enrolment_id)


def test_payment_in_time_confirms_and_a_second_one_changes_nothing(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=100)
    held = enrolled(client, cohort.id, "a@example.org")
    result, enrolment = pay(held["id"])
    assert (result, enrolment.status, enrolment.amount_paid, enrolment.payment_method) == (
        "confirmed",
        "confirmed",
        100,
        "card",
    )
    result, enrolment = pay(held["id"])
    assert result == "already_confirmed"


def test_part_of_the_price_keeps_the_hold(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=100)
    held = enrolled(client, cohort.id, "a@example.org")
    result, enrolment = pay(held["id"], amount=40)
    assert (result, enrolment.status, enrolment.amount_paid) == ("partial", "pending_payment", 40)
    result, enrolment = pay(held["id"], amount=60)
    assert (result, enrolment.status, enrolment.amount_paid) == ("confirmed", "confirmed", 100)


def test_late_payment_confirms_when_a_seat_is_still_free(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=100, manual_hold_hours=1)
    with time_machine.travel(T0, tick=False) as traveller:
        held = enrolled(client, cohort.id, "a@example.org")
        traveller.move_to(T0 + timedelta(hours=2))
        result, enrolment = pay(held["id"])
        assert (result, enrolment.status) == ("confirmed", "confirmed")


def test_late_payment_after_the_seat_went_to_someone_else_expires_it(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=100, manual_hold_hours=1)
    with time_machine.travel(T0, tick=False) as traveller:
        held = enrolled(client, cohort.id, "a@example.org")
        traveller.move_to(T0 + timedelta(hours=2))
        # The seat counts as free once the hold lapses: someone else takes it.
        other = enrolled(client, cohort.id, "b@example.org")
        assert other["status"] == "pending_payment"
        result, enrolment = pay(held["id"])
        # The caller (the webhook) refunds it; the enrolment is over.
        assert (result, enrolment.status) == ("no_seat", "expired")


def test_lock_enrolment_of_an_unknown_id_is_404(app):
    with pytest.raises(NotFound), write_transaction():
        views.lock_enrolment("enr_nope")


def test_seat_helpers_refuse_to_run_without_the_cohort_lock(client, make_cohort):
    """Preconditions are checked, not just stated: no write outside the idiom, no seat change unlocked."""
    cohort = make_cohort(capacity=1, price_amount=100)
    held = enrolled(client, cohort.id, "a@example.org")
    enrolment = db.session.get(Enrolment, held["id"])
    with pytest.raises(RuntimeError, match="write_transaction"):
        views.lock_enrolment(held["id"])
    with pytest.raises(RuntimeError, match="lock of cohort"), write_transaction():
        seat_keeping.apply_payment(enrolment, method="card")
    with pytest.raises(RuntimeError, match="lock of cohort"), write_transaction():
        seat_keeping.offer_free_seats(enrolment.cohort)
    db.session.rollback()
    assert db.session.get(Enrolment, held["id"]).status == "pending_payment"


def test_cancelling_a_cohort_cancels_everyone_and_refunds_the_paid_in_full(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=100)
    paid = enrolled(client, cohort.id, "paid@example.org")
    client.post(f"/api/v1/enrolments/{paid['id']}/confirm", headers=desk, json={"method": "cash", "amount": 100})
    waiting = enrolled(client, cohort.id, "waiting@example.org")
    assert client.patch(f"/api/v1/cohorts/{cohort.id}", headers=desk, json={"status": "cancelled"}).status_code == 200
    db.session.rollback()
    assert {db.session.get(Enrolment, e["id"]).status for e in (paid, waiting)} == {"cancelled"}
    audit = client.get(f"/api/v1/audit?enrolment_id={paid['id']}", headers=desk).json
    assert audit[0]["action"] == "cohort_cancelled" and audit[0]["after"]["refund"]["amount"] == 100
