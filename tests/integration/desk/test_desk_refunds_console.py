"""Refunds the desk owes, in the console: counted on Today, listed, and marked paid from the person's page.

The same services as the API (GET /api/v1/refunds, POST /api/v1/refunds/{id}/paid): audited
with the staff member, the person told once; admin and front desk only.
"""

import re
from datetime import date

import pytest
from sqlalchemy import select

from scheduler.enrolment import self_service, staff_actions
from scheduler.enrolment.models import AuditEntry
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.payments.models import Refund
from scheduler.staff.models import Staff
from tests.desk_support import csrf_of, post_form, sign_in, text_of
from tests.helpers import QueryCounter, enrol_opened


@pytest.fixture
def owed_refund(make_staff):
    other, _ = make_staff("front_desk", name="Omar Other")
    return lambda *args, **kwargs: _owed_refund(other, *args, **kwargs)


def _owed_refund(staff, cohort, name, email, paid=36000, refund=10000):
    """A person who paid at the desk and withdrew: the desk owes them `refund`."""
    person = enrol_opened(cohort.id, {"name": name, "email": email})
    staff = db.session.get(Staff, staff.id)
    staff_actions.confirm(person.id, {"method": "cash", "amount": paid}, staff)
    self_service.withdraw(person.id, staff, refund_amount=refund)
    db.session.rollback()
    refund_row = db.session.scalar(select(Refund).where(Refund.enrolment_id == person.id))
    assert refund_row.status == "owed_by_front_desk"
    return person, refund_row


def _page(enrolment_id):
    return f"/desk/enrolments/{enrolment_id}"


def test_today_counts_the_refunds_owed_and_the_list_shows_them_as_money(desk, make_cohort, owed_refund):
    assert "Refunds owed" not in text_of(desk.get("/desk/"))  # nothing owed: nothing to act on
    cohort = make_cohort(name="Thursday evenings")
    sam, _ = owed_refund(cohort, "Sam Rivera", "sam@example.org", refund=10000)
    kim, _ = owed_refund(cohort, "Kim Park", "kim@example.org", refund=36000)
    today = desk.get("/desk/")
    text = text_of(today)
    assert "Refunds owed (2)" in text
    assert "2 refunds are to be paid back by the desk; the oldest, $100.00 to Sam Rivera" in text
    assert 'href="/desk/refunds"' in today.get_data(as_text=True)
    listed = desk.get("/desk/refunds")
    html = listed.get_data(as_text=True)
    rows = re.findall(r"<tr>.*?</tr>", html.split("<tbody>")[1], re.S)
    assert [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).split(" sam")[0].strip() for r in rows][0] == "Sam Rivera"
    assert "Thursday evenings" in rows[0] and "$100.00" in rows[0] and "ago" in rows[0]
    assert "Kim Park" in rows[1] and "$360.00" in rows[1]
    assert f'href="/desk/enrolments/{sam.id}#refund-' in rows[0]


def test_mark_a_refund_paid_from_the_persons_page(desk, make_cohort, owed_refund):
    person, refund = owed_refund(make_cohort(), "Sam Rivera", "sam@example.org")
    page = desk.get(_page(person.id))
    html = page.get_data(as_text=True)
    assert "Mark refund paid: $100.00" in text_of(page)
    assert f'action="/desk/refunds/{refund.id}/paid"' in html
    token = csrf_of(page)

    nothing = desk.post(f"/desk/refunds/{refund.id}/paid", data={"csrf_token": token, "reference": "chk 9"})
    assert nothing.status_code == 422
    assert f'id="refund-{refund.id}-method-error"' in nothing.get_data(as_text=True)
    assert "Choose how the money was paid back: Cash, Check, Bank transfer" in text_of(nothing)
    assert 'value="chk 9"' in nothing.get_data(as_text=True)  # what was typed stays
    too_long = desk.post(
        f"/desk/refunds/{refund.id}/paid", data={"csrf_token": token, "method": "check", "reference": "x" * 201}
    )
    assert too_long.status_code == 422 and f'id="refund-{refund.id}-reference-error"' in too_long.get_data(True)
    no_csrf = desk.post(f"/desk/refunds/{refund.id}/paid", data={"method": "check"})
    assert no_csrf.status_code == 400
    db.session.rollback()
    assert db.session.get(Refund, refund.id).status == "owed_by_front_desk"

    answer = desk.post(
        f"/desk/refunds/{refund.id}/paid", data={"csrf_token": token, "method": "check", "reference": "chk 1042"}
    )
    assert answer.status_code == 303 and answer.headers["Location"] == _page(person.id) + "#payments-heading"
    after = text_of(desk.get(_page(person.id)))
    assert "The refund of $100.00 is marked paid (Check, reference chk 1042); Sam Rivera is told by email." in after
    assert "Paid out by the front desk" in after and "Mark refund paid" not in after
    assert "Refund paid out by the desk" in after and "Fran Desk" in after  # the history names who
    db.session.rollback()
    paid = db.session.get(Refund, refund.id)
    assert (paid.status, paid.paid_method, paid.paid_reference, paid.paid_by_staff_id) == (
        "paid_by_front_desk",
        "check",
        "chk 1042",
        desk.member.id,
    )
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.enrolment_id == person.id, AuditEntry.action == "refund_paid_out")
    ).all()
    assert entry.staff_id == desk.member.id and entry.after["reference"] == "chk 1042"
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.enrolment_id == person.id)).all()
    [email] = [m for m in told if m.kind == "refund_paid"]
    from scheduler.notifications.outbox import ensure_rendered

    ensure_rendered(email)
    assert "$100.00" in email.body_text and "Check" in email.body_text
    assert "chk 1042" not in email.body_text and "chk 1042" not in (email.body_html or "")  # the desk's own note

    again = desk.post(f"/desk/refunds/{refund.id}/paid", data={"csrf_token": token, "method": "cash"})
    assert again.status_code == 409 and "already paid out" in text_of(again)
    assert 'role="alert"' in again.get_data(as_text=True)
    assert "Refunds owed" not in text_of(desk.get("/desk/"))
    assert "The clinic owes no refund right now." in text_of(desk.get("/desk/refunds"))
    assert desk.post("/desk/refunds/rfd_nope/paid", data={"csrf_token": token, "method": "cash"}).status_code == 404


def test_facilitators_never_see_refunds(client, make_staff, make_cohort, owed_refund):
    fay, _ = make_staff("facilitator", name="Fay Cilitator")
    cohort = make_cohort(facilitator_ids=[fay.id])
    person, refund = owed_refund(cohort, "Sam Rivera", "sam@example.org")
    sign_in(client, fay)
    assert "Refund" not in text_of(client.get("/desk/"))
    assert client.get("/desk/refunds").status_code == 403
    token = csrf_of(client.get("/desk/account"))
    refused = client.post(f"/desk/refunds/{refund.id}/paid", data={"csrf_token": token, "method": "cash"})
    assert refused.status_code == 403 and refused.mimetype == "text/html"
    db.session.rollback()
    assert db.session.get(Refund, refund.id).status == "owed_by_front_desk"
    signed_out = client.application.test_client()
    assert signed_out.get("/desk/refunds").headers["Location"].startswith("/desk/login")


def test_admins_mark_refunds_paid_too(client, make_staff, make_cohort, owed_refund):
    admin, _ = make_staff("admin", name="Ada Admin")
    person, refund = owed_refund(make_cohort(), "Sam Rivera", "sam@example.org")
    sign_in(client, admin)
    assert "Sam Rivera" in text_of(client.get("/desk/refunds"))
    answer = post_form(client, _page(person.id), f"/desk/refunds/{refund.id}/paid", {"method": "bank_transfer"})
    assert answer.status_code == 303
    assert "(Bank transfer); Sam Rivera is told" in text_of(client.get(_page(person.id)))
    db.session.rollback()
    assert db.session.get(Refund, refund.id).paid_by_staff_id == db.session.get(Staff, admin.id).id


def test_the_refunds_list_runs_a_constant_number_of_queries(desk, make_program, make_cohort, owed_refund):
    program = make_program()

    def count() -> int:
        desk.get("/desk/refunds")
        db.session.rollback()
        with QueryCounter() as counter:
            assert desk.get("/desk/refunds").status_code == 200
        return counter.count

    owed_refund(make_cohort(program=program), "P0", "p0@example.org")
    few = count()
    for n in range(1, 12):
        owed_refund(make_cohort(program=program, start_date=date(2030, 10, 3 + n)), f"P{n}", f"p{n}@example.org")
    assert count() == few
