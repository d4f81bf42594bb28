"""Issue 35, step 1: a public enrolment request goes to the inbox; the worker carries it out.

The tests call the service that queues a request and the worker's job directly (the public API
does not use them yet): every outcome is emailed with the person's link, a seat is held at most
confirm_email_minutes until that link is opened, and two workers never handle one request twice.
"""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from scheduler.enrolment import requested
from scheduler.enrolment.models import AuditEntry, Enrolment
from scheduler.foundation.database import write_transaction
from scheduler.foundation.errors import Conflict, Invalid
from scheduler.foundation.extensions import db
from scheduler.inbox.models import PublicRequest
from scheduler.inbox.services import handle_requests
from scheduler.notifications.models import OutboxMessage
from tests.helpers import QueryCounter, bearer, enrolled, follow_email

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
SUBJECT = "Your personal link · Test Clinic"


def _ask(cohort, email, name="Sam Rivera", key=None, **fields):
    return requested.request_enrolment(cohort.id, {"name": name, "email": email, **fields}, key)


def _mail_to(email) -> list[OutboxMessage]:
    db.session.rollback()
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == email).order_by(OutboxMessage.created_at)
    ).all()


def _enrolment_of(email) -> Enrolment:
    db.session.rollback()
    return db.session.scalars(select(Enrolment).where(Enrolment.email == email)).one()


def test_a_request_is_answered_check_email_and_handled_by_the_worker(app, make_cohort):
    cohort = make_cohort(capacity=2, price_amount=36000, confirm_email_minutes=20, manual_hold_hours=48)
    with time_machine.travel(T0, tick=False):
        answer = _ask(cohort, "sam@example.org")
        assert (answer.status, answer.email, answer.expires_at) == (
            "check_email",
            "sam@example.org",
            T0 + timedelta(minutes=20),
        )
        assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0  # nothing yet but the request
        assert handle_requests() == 1
    enrolment = _enrolment_of("sam@example.org")
    # Held for the link to be opened: confirm_email_minutes, not the 48 hours of a manual hold.
    assert enrolment.status == "pending_payment"
    assert enrolment.hold_expires_at == T0 + timedelta(minutes=20)
    assert enrolment.email_confirmed_at is None
    [message] = _mail_to("sam@example.org")
    assert message.subject == SUBJECT  # neither the group nor the outcome on a lock screen
    assert f"/me/{enrolment.id}?token={enrolment.manage_token}" in message.body_text
    assert "open your page by then" in message.body_text
    request = db.session.scalars(select(PublicRequest)).one()
    # Settled: it points to what it made and keeps nothing the person typed.
    assert (request.outcome, request.result_id) == ("enrolled", enrolment.id)
    assert request.email is None and request.payload is None and request.settled_at == T0
    assert handle_requests() == 0  # handled once


def test_every_outcome_is_emailed_with_the_persons_link(app, make_cohort, make_enrolment):
    cohort = make_cohort(capacity=1, price_amount=0)
    make_enrolment(cohort, status="confirmed", email="seat@example.org")
    make_enrolment(cohort, status="withdrawn", email="left@example.org")
    for email in ("seat@example.org", "left@example.org", "new@example.org"):
        _ask(cohort, email)
    assert handle_requests() == 3
    # Already enrolled: no second enrolment, the link to the one there is.
    assert db.session.scalar(select(func.count()).where(Enrolment.email == "seat@example.org")) == 1
    [again] = _mail_to("seat@example.org")
    seat = db.session.scalars(select(Enrolment).where(Enrolment.email == "seat@example.org")).one()
    assert again.subject == SUBJECT and f"/me/{seat.id}?token=" in again.body_text
    # Withdrew earlier: a new enrolment (the cohort is full now: the waitlist).
    statuses = db.session.scalars(select(Enrolment.status).where(Enrolment.email == "left@example.org")).all()
    assert sorted(statuses) == ["waitlisted", "withdrawn"]
    assert [m.subject for m in _mail_to("left@example.org")] == [SUBJECT]
    assert _enrolment_of("new@example.org").waitlist_rank is not None
    outcomes = db.session.execute(select(PublicRequest.outcome).order_by(PublicRequest.seq)).scalars().all()
    assert outcomes == ["already", "enrolled", "enrolled"]


def test_a_free_place_is_confirmed_and_emailed(app, make_cohort):
    cohort = make_cohort(capacity=3, price_amount=0)
    _ask(cohort, "free@example.org")
    handle_requests()
    assert _enrolment_of("free@example.org").status == "confirmed"
    [message] = _mail_to("free@example.org")
    assert message.subject == SUBJECT and message.kind == "enrolment_confirmed"


def test_a_request_the_cohort_can_no_longer_take_is_refused_by_email(app, make_cohort):
    cohort = make_cohort(capacity=3, price_amount=0)
    _ask(cohort, "late@example.org", name="Lee")
    with write_transaction():
        db.session.get(type(cohort), cohort.id).status = "closed"
    assert handle_requests() == 1
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0
    [message] = _mail_to("late@example.org")
    assert message.kind == "request_refused" and message.subject == SUBJECT
    assert "Hello Lee" in message.body_text and "closed before we could take your request" in message.body_text
    assert "Your enrolment:" not in message.body_text  # there is none to link to
    request = db.session.scalars(select(PublicRequest)).one()
    assert (request.outcome, request.email, request.payload) == ("refused", None, None)


def test_a_request_made_in_spanish_is_refused_in_spanish(app, make_cohort):
    cohort = make_cohort(capacity=3, price_amount=0)
    _ask(cohort, "tarde@example.org", name="Lía", locale="es")
    with write_transaction():
        db.session.get(type(cohort), cohort.id).status = "closed"
    assert handle_requests() == 1
    [message] = _mail_to("tarde@example.org")
    assert "Hola, Lía" in message.body_text or "Hola Lía" in message.body_text, message.body_text
    assert "la inscripción en este grupo se cerró antes de que pudiéramos atender su solicitud" in message.body_text
    assert "closed" not in message.body_text and "request" not in message.body_text


def test_what_is_the_same_for_everyone_is_refused_at_once(app, make_cohort):
    closed = make_cohort(capacity=3, price_amount=0, status="closed")
    with pytest.raises(Conflict):
        _ask(closed, "a@example.org")
    cohort = make_cohort(capacity=3)
    with pytest.raises(Invalid) as refused:
        _ask(cohort, "a@example.org", discount_code="NOSUCHCODE")
    assert list(refused.value.errors) == ["discount_code"]
    assert db.session.scalar(select(func.count()).select_from(PublicRequest)) == 0


def test_queueing_runs_the_same_statements_for_a_known_and_an_unknown_address(app, make_cohort, make_enrolment):
    cohort = make_cohort(capacity=1, price_amount=0)
    make_enrolment(cohort, status="confirmed", email="known@example.org")
    counts = {}
    for email in ("known@example.org", "newer@example.org"):
        db.session.rollback()
        with QueryCounter() as queries:
            _ask(cohort, email)
        counts[email] = [s.split()[0] for s in queries.statements]
    assert counts["known@example.org"] == counts["newer@example.org"]


def test_a_retry_with_the_same_key_adds_no_request_and_gets_the_first_deadline(app, make_cohort):
    cohort = make_cohort(capacity=3, price_amount=0)
    with time_machine.travel(T0, tick=False):
        first = _ask(cohort, "key@example.org", key="k-1")
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        again = _ask(cohort, "key@example.org", key="k-1")
        assert again == first
        with pytest.raises(Conflict):
            _ask(cohort, "other@example.org", key="k-1")
    handle_requests()
    # The retry after the request was settled still gets the first answer.
    assert _ask(cohort, "key@example.org", key="k-1") == first
    assert db.session.scalar(select(func.count()).select_from(PublicRequest)) == 1


def test_opening_the_link_starts_the_normal_hold_once(app, client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=36000, confirm_email_minutes=20, manual_hold_hours=48)
    with time_machine.travel(T0, tick=False):
        _ask(cohort, "open@example.org")
        handle_requests()
    enrolment = _enrolment_of("open@example.org")
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        page = client.get(f"/me/{enrolment.id}?token={enrolment.manage_token}")
        assert page.status_code == 303
    opened = _enrolment_of("open@example.org")
    assert opened.email_confirmed_at == T0 + timedelta(minutes=10)
    assert opened.hold_expires_at == T0 + timedelta(minutes=10, hours=48)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.enrolment_id == enrolment.id)).all()
    assert actions.count("link_opened") == 1
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert (
            client.get(f"/api/v1/enrolments/{enrolment.id}", headers=bearer(enrolment.manage_token)).status_code == 200
        )
    assert _enrolment_of("open@example.org").hold_expires_at == T0 + timedelta(minutes=10, hours=48)


def test_the_tests_helper_follows_the_email_as_the_person_would(app, client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=36000, confirm_email_minutes=20, manual_hold_hours=48)
    with time_machine.travel(T0, tick=False):
        _ask(cohort, "api@example.org")
        body = follow_email(client, cohort.id, "api@example.org")
    # Opened through the API with the emailed token: the normal hold from that moment.
    assert (body["status"], body["hold_expires_at"]) == ("pending_payment", "2030-09-03T12:00:00Z")
    assert body["manage_url"].endswith(f"/me/{body['id']}?token={body['manage_token']}")


def test_staff_enrolments_count_as_opened(app, client, make_cohort, auth):
    cohort = make_cohort(capacity=1, price_amount=36000)
    body = enrolled(client, cohort, "desk@example.org", headers=auth("front_desk"))
    enrolment = db.session.get(Enrolment, body["id"])
    assert enrolment.email_confirmed_at == enrolment.created_at


def test_two_workers_handle_each_request_once_in_arrival_order(app, make_cohort):
    cohort = make_cohort(capacity=12, price_amount=0)
    emails = [f"p{n:03d}@example.org" for n in range(300)]
    for email in emails:
        _ask(cohort, email)
    db.session.remove()
    settled, errors = [], []
    start = threading.Barrier(2)

    def worker():
        with app.app_context():
            try:
                start.wait()
                total = 0
                while _waiting():  # the other worker may hold the inbox for a moment: ask again
                    total += handle_requests(limit=25)
                settled.append(total)
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(settled) == 300
    rows = db.session.execute(select(Enrolment.email, Enrolment.status, Enrolment.waitlist_rank)).all()
    by_email = {row.email: row for row in rows}
    assert len(rows) == 300
    assert [by_email[e].status for e in emails[:12]] == ["confirmed"] * 12
    ranks = [by_email[e].waitlist_rank for e in emails[12:]]
    assert ranks == sorted(ranks) and len(set(ranks)) == 288  # the waitlist in arrival order
    sent = db.session.execute(select(OutboxMessage.to_address, func.count()).group_by(OutboxMessage.to_address)).all()
    assert sorted(sent) == [(e, 1) for e in emails]


def _waiting() -> bool:
    db.session.rollback()
    return bool(db.session.scalar(select(func.count()).where(PublicRequest.settled_at.is_(None))))
