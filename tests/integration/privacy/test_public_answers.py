"""Issue 35 (issue 20, finding 1): a public enrolment answers the same for every address (new,
enrolled, waitlisted, withdrawn), through the API and the form, with the same statements run;
only the emailed link shows the outcome. An unopened link holds a seat at most
confirm_email_minutes; opening it starts the usual hold."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from scheduler.enrolment.jobs import expire_holds_and_offers
from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.payments.models import Payment
from tests.helpers import QueryCounter, as_participant, bearer, cohort_form, emailed_link, enrol, enrolled, handle_inbox

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
# Addresses of one length, so that even Content-Length cannot tell them apart.
NEW, CONFIRMED, WAITLISTED, WITHDRAWN = "new@example.org", "con@example.org", "wai@example.org", "wit@example.org"
SEEN_BY_ALL = ("Content-Type", "Content-Length", "Cache-Control", "Location", "Retry-After")


def _fill(cohort, client):
    """The seat holder, a waitlisted person and one who withdrew from the waitlist."""
    assert enrolled(client, cohort.id, CONFIRMED)["status"] == "confirmed"
    assert enrolled(client, cohort.id, WAITLISTED)["status"] == "waitlisted"
    leaver = enrolled(client, cohort.id, WITHDRAWN)
    assert client.post(f"/api/v1/enrolments/{leaver['id']}/withdraw", headers=as_participant(leaver)).status_code == 200


def _answer(response, email):
    """What a stranger sees of an answer, with the address they sent put back to one placeholder."""
    headers = {name: response.headers.get(name) for name in SEEN_BY_ALL}
    return response.status_code, tuple(headers.items()), response.get_data().replace(email.encode(), b"<address>")


def test_the_api_answers_every_address_with_the_same_bytes_and_statements(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=0)
    with time_machine.travel(T0, tick=False):
        _fill(cohort, client)
        answers, statements = {}, {}
        for email in (NEW, CONFIRMED, WAITLISTED, WITHDRAWN):
            db.session.rollback()
            with QueryCounter() as queries:
                answers[email] = enrol(client, cohort, email)
            statements[email] = [s.split()[0] for s in queries.statements]
        handle_inbox()
    first = answers[NEW]
    assert first.status_code == 202
    assert first.json == {"status": "check_email", "email": NEW, "expires_at": "2030-09-01T12:30:00Z"}
    assert {_answer(r, e) for e, r in answers.items()} == {_answer(first, NEW)}
    assert all(done == statements[NEW] for done in statements.values()), statements
    # Each hears the truth by email: the new address a waitlist place, the others their own state.
    told = dict(
        db.session.execute(
            select(OutboxMessage.to_address, OutboxMessage.kind).where(OutboxMessage.created_at >= T0)
        ).all()
    )
    assert told[NEW] == "waitlisted" and told[CONFIRMED] == told[WAITLISTED] == "already_enrolled"


def test_the_form_answers_every_address_with_the_same_page(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=0)
    with time_machine.travel(T0, tick=False):
        _fill(cohort, client)
        pages = {}
        for email in (NEW, CONFIRMED, WAITLISTED, WITHDRAWN):
            data = {**cohort_form(client, cohort), "name": "Sam", "email": email, "timezone": "UTC"}
            sent = client.post(f"/cohorts/{cohort.id}", data=data)
            assert (sent.status_code, sent.headers["Location"]) == (303, f"/cohorts/{cohort.id}/check-email")
            pages[email] = client.get(sent.headers["Location"])
    shown = {_answer(page, email) for email, page in pages.items()}
    assert len(shown) == 1
    status, _, body = shown.pop()
    assert status == 200 and b"Check your email" in body and b"<address>" in body
    # Each address still gets what is true for it, by email: a link to its own page.
    assert len({emailed_link(cohort.id, email) for email in pages}) == 4


def test_an_unopened_link_holds_the_seat_only_confirm_email_minutes(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=36000, confirm_email_minutes=20, manual_hold_hours=48)
    with time_machine.travel(T0, tick=False):
        assert enrol(client, cohort, "a@example.org").json["expires_at"] == "2030-09-01T12:20:00Z"
        waiting = enrol(client, cohort, "b@example.org")
        assert waiting.status_code == 202  # the same answer, though only a waitlist place is left
        handle_inbox()  # the worker, at once
    enrolment_id, _ = emailed_link(cohort.id, "a@example.org")
    with time_machine.travel(T0 + timedelta(minutes=19), tick=False):
        expire_holds_and_offers()
        assert db.session.get(Enrolment, enrolment_id).status == "pending_payment"
    with time_machine.travel(T0 + timedelta(minutes=21), tick=False):
        expire_holds_and_offers()
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment_id).status == "expired"
    # The seat went on to the next in line.
    b_id, _ = emailed_link(cohort.id, "b@example.org")
    assert db.session.get(Enrolment, b_id).status == "offered"


def test_opening_the_link_late_in_its_window_starts_the_full_manual_hold(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=36000, confirm_email_minutes=20, manual_hold_hours=48)
    with time_machine.travel(T0, tick=False):
        enrol(client, cohort, "a@example.org")
        handle_inbox()
    enrolment_id, token = emailed_link(cohort.id, "a@example.org")
    with time_machine.travel(T0 + timedelta(minutes=15), tick=False):
        page = client.get(f"/api/v1/enrolments/{enrolment_id}", headers=bearer(token)).json
    assert page["status"] == "pending_payment" and page["hold_expires_at"] == "2030-09-03T12:15:00Z"
    with time_machine.travel(T0 + timedelta(hours=47), tick=False):
        expire_holds_and_offers()
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment_id).status == "pending_payment"


@pytest.mark.slow
def test_opening_the_link_starts_the_card_hold_and_only_then_the_stripe_payment(
    stripe_app, client, make_cohort, localstripe_server
):
    cohort = make_cohort(capacity=2, price_amount=36000, confirm_email_minutes=20, hold_minutes=30)
    with time_machine.travel(T0, tick=True):
        enrol(client, cohort, "card@example.org")
        handle_inbox()
    enrolment_id, token = emailed_link(cohort.id, "card@example.org")
    assert db.session.scalars(select(Payment).where(Payment.enrolment_id == enrolment_id)).all() == []
    with time_machine.travel(T0 + timedelta(minutes=10), tick=True):
        page = client.get(f"/api/v1/enrolments/{enrolment_id}", headers=bearer(token)).json
    assert page["payment"]["provider"] == "stripe" and page["hold_expires_at"].startswith("2030-09-01T12:40:")
    db.session.rollback()
    intent = db.session.scalar(select(Payment.stripe_payment_intent_id).where(Payment.enrolment_id == enrolment_id))
    assert localstripe_server.payment_intent(intent)["amount"] == 36000
    # Opening it again changes nothing: the same hold, the same payment.
    with time_machine.travel(T0 + timedelta(minutes=12), tick=True):
        again = client.get(f"/api/v1/enrolments/{enrolment_id}", headers=bearer(token)).json
    assert again["hold_expires_at"] == page["hold_expires_at"]
    db.session.rollback()
    assert len(db.session.scalars(select(Payment).where(Payment.enrolment_id == enrolment_id)).all()) == 1


def test_any_call_with_the_emailed_token_counts_as_opening_the_link_and_staff_calls_do_not(client, make_cohort, auth):
    cohort = make_cohort(capacity=2, price_amount=36000, confirm_email_minutes=20, manual_hold_hours=48)
    with time_machine.travel(T0, tick=False):
        enrol(client, cohort, "a@example.org")
        handle_inbox()
    enrolment_id, token = emailed_link(cohort.id, "a@example.org")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        staff_view = client.get(f"/api/v1/enrolments/{enrolment_id}", headers=auth("front_desk")).json
        assert staff_view["hold_expires_at"] == "2030-09-01T12:20:00Z"  # the desk looking opens nothing
        rotated = client.post(f"/api/v1/enrolments/{enrolment_id}/calendar/rotate", headers=bearer(token))
        assert rotated.status_code == 200
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment_id).hold_expires_at == T0 + timedelta(hours=48, minutes=5)
