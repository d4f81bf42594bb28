"""Console pages run a number of queries that does not grow with the rows they show.

Each page is measured twice, with few rows and with many; the SQL statement counts must
be equal (a query per row would show as a difference).
"""

from datetime import date, timedelta

from sqlalchemy import select

from scheduler.enrolment.audit import record
from scheduler.enrolment.models import Enrolment
from scheduler.foundation import clock
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.payments.models import Payment, Refund
from scheduler.staff.models import Staff
from tests.desk_support import sign_in
from tests.helpers import QueryCounter


def _count(client, path: str) -> int:
    client.get(path)  # warm: the session's activity note, caches
    db.session.rollback()
    with QueryCounter() as counter:
        answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code)
    return counter.count


def _busy_cohort(make_cohort, make_enrolment, program, n: int, **kwargs):
    cohort = make_cohort(program=program, capacity=max(n, 1), **kwargs)
    for i in range(n):
        status = ("confirmed", "pending_payment", "offered", "waitlisted")[i % 4]
        make_enrolment(cohort, status=status, waitlist_rank=i if status == "waitlisted" else None)
    return cohort


def test_today_queries_do_not_grow_with_the_cohorts_shown(
    client, make_staff, make_program, make_cohort, make_enrolment
):
    member, _ = make_staff("front_desk")
    sign_in(client, member)
    program = make_program()
    for n in range(3):
        _busy_cohort(make_cohort, make_enrolment, program, 4, start_date=date(2030, 10, 3) + timedelta(days=n))
    few = _count(client, "/desk/")
    for n in range(27):
        _busy_cohort(make_cohort, make_enrolment, program, 4, start_date=date(2030, 11, 3) + timedelta(days=n))
    assert _count(client, "/desk/") == few
    assert _count(client, "/desk/?status=all") == _count(client, "/desk/?status=open")


def test_a_cohort_page_queries_do_not_grow_with_its_roster_and_waitlist(
    client, make_staff, make_program, make_cohort, make_enrolment
):
    member, _ = make_staff("front_desk")
    facilitator, _ = make_staff("facilitator")
    sign_in(client, member)
    program = make_program()
    small = _busy_cohort(make_cohort, make_enrolment, program, 4, facilitator_ids=[facilitator.id])
    large = _busy_cohort(make_cohort, make_enrolment, program, 60, facilitator_ids=[facilitator.id])
    assert _count(client, f"/desk/cohorts/{large.id}") == _count(client, f"/desk/cohorts/{small.id}")
    sign_in(client, facilitator)
    assert _count(client, f"/desk/cohorts/{large.id}") == _count(client, f"/desk/cohorts/{small.id}")


def test_an_enrolment_page_queries_do_not_grow_with_its_history(
    client, make_staff, make_program, make_cohort, make_enrolment
):
    member, _ = make_staff("front_desk")
    sign_in(client, member)
    program = make_program()
    for n in range(3):
        make_cohort(program=program, start_date=date(2030, 10, 3) + timedelta(days=n))  # transfer targets
    cohort = make_cohort(program=program)
    quiet = make_enrolment(cohort, status="confirmed", amount_paid=36000, payment_method="cash")
    busy = make_enrolment(cohort, status="confirmed", amount_paid=36000, payment_method="cash")
    with write_transaction():
        for n in range(25):
            paid = {"provider": "desk", "method": "cash", "amount": 100, "currency": "usd", "status": "succeeded"}
            db.session.add(Payment(enrolment_id=busy.id, **paid))
            db.session.add(Refund(enrolment_id=busy.id, amount=1, currency="usd", reason="test", status="pending"))
            db.session.add(
                OutboxMessage(
                    enrolment_id=busy.id,
                    kind="reminder",
                    message_id=f"<{n}@x>",
                    from_address="a@x",
                    to_address="b@x",
                    subject="s",
                    body_text="t",
                    body_html="h",
                    status="sent",
                    next_attempt_at=clock.now(),
                )
            )
    with write_transaction():  # audit rows as the services write them, half of them by staff
        desk = db.session.get(Staff, member.id)
        for enrolment_id, rows in ((quiet.id, 2), (busy.id, 25)):
            row = db.session.get(Enrolment, enrolment_id)
            for n in range(rows):
                record(row, desk if n % 2 else None, "confirmed_at_desk", {"status": "confirmed"})
    assert _count(client, f"/desk/enrolments/{busy.id}") == _count(client, f"/desk/enrolments/{quiet.id}")


def test_people_search_queries_do_not_grow_with_the_matches(
    client, make_staff, make_program, make_cohort, make_enrolment
):
    member, _ = make_staff("front_desk")
    sign_in(client, member)
    program = make_program()
    for n in range(30):
        cohort = make_cohort(program=program, start_date=date(2030, 10, 3) + timedelta(days=n))
        make_enrolment(cohort, email=f"many{n}@example.org")
    make_enrolment(cohort, email="single@example.org")
    assert db.session.scalar(select(Enrolment.id).where(Enrolment.email == "single@example.org"))
    assert _count(client, "/desk/people?q=many") == _count(client, "/desk/people?q=single")
