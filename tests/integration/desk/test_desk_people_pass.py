"""Issue 22, the front desk's findings: what the console says must be what is true.

Two payments by two methods read as both; Resend is offered only where it would be done; staff
activity reads in the clinic's zone; the card hold is labelled as the card hold.
"""

import re
from datetime import UTC, datetime

import time_machine
from sqlalchemy import select

from scheduler.enrolment import self_service
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from tests.desk_support import post_form, sign_in, text_of
from tests.helpers import enrol_opened


def test_two_payments_by_two_methods_read_as_both(desk, make_cohort):
    person = enrol_opened(make_cohort().id, {"name": "Sam Rivera", "email": "sam@example.org"})
    page = f"/desk/enrolments/{person.id}"
    for method, amount in (("cash", "100.00"), ("check", "260.00")):
        paid = post_form(desk, page, f"{page}/confirm", {"method": method, "amount": amount})
        assert paid.status_code == 303, text_of(paid)
    shown = text_of(desk.get(page))
    assert "Paid $360.00 ($100.00 cash + $260.00 check)" in shown
    assert "Paid $360.00 (Check)" not in shown


def test_resend_is_offered_only_where_it_would_be_done(desk, make_cohort):
    person = enrol_opened(make_cohort(price_amount=0).id, {"name": "Sam Rivera", "email": "sam@example.org"})
    for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.enrolment_id == person.id)):
        message.status = "sent"
    db.session.commit()
    page = f"/desk/enrolments/{person.id}"
    assert "Resend" in text_of(desk.get(page))  # confirmed: the confirmation may go again
    self_service.withdraw(person.id)
    shown = desk.get(page)
    mine = select(OutboxMessage).where(OutboxMessage.enrolment_id == person.id)
    carrying = [m for m in db.session.scalars(mine) if m.kind == "enrolment_confirmed"]
    assert carrying and "Carries the meeting link: only for a confirmed place" in text_of(shown)
    html = shown.get_data(as_text=True)
    for message in carrying:
        assert f"/messages/{message.id}/resend" not in html


def test_staff_activity_reads_in_the_clinics_zone(client, make_staff):
    admin, _ = make_staff("admin", name="Ada Admin")
    with time_machine.travel(datetime(2030, 1, 15, 17, 30, tzinfo=UTC), tick=False):
        sign_in(client, admin)
        post_form(
            client, "/desk/staff", "/desk/staff", {"name": "Fay C", "email": "fay@clinic.test", "role": "facilitator"}
        )
        log = text_of(client.get("/desk/staff"))
    assert "Jan 15, 12:30 PM EST" in log and "5:30 PM UTC" not in log


def test_the_card_hold_is_labelled_as_the_card_hold(desk, make_cohort):
    cohort = make_cohort()
    shown = text_of(desk.get(f"/desk/cohorts/{cohort.id}"))
    assert "Hold for a card payment (minutes)" in shown
    assert "A seat held for a payment at the desk or by transfer waits 72 hours." in shown


def test_receipts_are_on_the_persons_page_and_in_the_console(client, desk, make_cohort):
    from urllib.parse import urlsplit

    from scheduler.enrolment.models import Enrolment

    person = enrol_opened(make_cohort().id, {"name": "Sam Rivera", "email": "sam@example.org"})
    page = f"/desk/enrolments/{person.id}"
    assert post_form(desk, page, f"{page}/confirm", {"method": "cash", "amount": "360.00"}).status_code == 303
    html = desk.get(page).get_data(as_text=True)
    [receipt] = re.findall(r'href="(/desk/payments/[^"]+/receipt)"', html)
    shown = desk.get(receipt)
    assert shown.status_code == 200 and "$360.00" in text_of(shown) and "Sam Rivera" in text_of(shown)
    # The person, from their own page.
    me = client.application.test_client()
    token = db.session.get(Enrolment, person.id).manage_token
    assert me.get(f"/me/{person.id}?token={token}").status_code == 303
    mine = me.get(f"/me/{person.id}")
    assert "Your payments" in text_of(mine) and "$360.00 (Cash)" in text_of(mine)
    [link] = re.findall(r'href="(/me/[^"]+/receipts/[^"]+)"', mine.get_data(as_text=True))
    opened = me.get(link)
    assert opened.status_code == 200 and "$360.00" in text_of(opened)
    other = enrol_opened(make_cohort().id, {"name": "Ben", "email": "ben@example.org"})
    assert me.get(f"/me/{person.id}/receipts/{urlsplit(receipt).path.split('/')[3]}").status_code == 200
    assert me.get(f"/me/{other.id}/receipts/{urlsplit(receipt).path.split('/')[3]}").status_code == 403


def test_a_payment_reference_short_enough_to_read_out_finds_the_person(client, desk, make_cohort):
    from scheduler.enrolment.models import Enrolment, payment_reference

    person = enrol_opened(make_cohort().id, {"name": "Sam Rivera", "email": "sam@example.org"})
    reference = payment_reference(person.id)
    assert re.fullmatch(r"[A-Z0-9_-]{4}-[A-Z0-9_-]{4}", reference)
    me = client.application.test_client()
    assert me.get(f"/me/{person.id}?token={db.session.get(Enrolment, person.id).manage_token}").status_code == 303
    assert reference in text_of(me.get(f"/me/{person.id}")) and person.id not in text_of(me.get(f"/me/{person.id}"))
    assert reference in text_of(desk.get(f"/desk/enrolments/{person.id}"))
    for typed in (reference, reference.lower(), reference.replace("-", "")):
        assert "Sam Rivera" in text_of(desk.get("/desk/people", query_string={"q": typed})), typed


def test_a_reference_leaves_out_the_ids_dashes_and_underscores(desk, make_cohort, monkeypatch):
    # A random id may hold "-" and "_" (about one in eight has one in its first eight characters):
    # nobody reads those out on the phone, so the reference is the first eight letters and digits.
    from scheduler.enrolment import enrolling
    from scheduler.enrolment.models import payment_reference

    made = iter(["enr_Ab-Cd_EfGh12345678901", "enr_Zy-Xw_VuTs98765432101"])
    real = enrolling.new_id
    monkeypatch.setattr(enrolling, "new_id", lambda kind: next(made) if kind == "enr" else real(kind))
    cohort = make_cohort()
    sam = enrol_opened(cohort.id, {"name": "Sam Rivera", "email": "sam@example.org"})
    enrol_opened(cohort.id, {"name": "Kim Park", "email": "kim@example.org"})
    assert payment_reference(sam.id) == "ABCD-EFGH"
    assert "ABCD-EFGH" in text_of(desk.get(f"/desk/enrolments/{sam.id}"))
    # As read out, in any case, with or without the dash; and as the reference was written before
    # (the id's first eight characters, "AB-C-D_EF") for a message sent then.
    for typed in ("ABCD-EFGH", "abcdefgh", " abcd-efgh ", "AB-C-D_EF"):
        found = text_of(desk.get("/desk/people", query_string={"q": typed}))
        assert "Sam Rivera" in found and "Kim Park" not in found, typed
