"""The console's actions through the same services as the JSON API, over HTTP with forms.

Each action answers 303 back to its page with a notice; a refusal (409) or a mistake (422)
comes back as the page with the reason beside the field or above the form, never JSON.
Every change is in the audit log with the staff member's name.
"""

import re
from datetime import UTC, datetime

import time_machine
from sqlalchemy import select

from scheduler.enrolment import self_service, staff_actions
from scheduler.enrolment.models import AuditEntry, Enrolment
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.payments.models import Refund
from scheduler.staff.models import Staff
from tests.desk_support import csrf_of, post_form, sign_in, text_of
from tests.helpers import enrol_opened


def _enrol(cohort, name, email):
    return enrol_opened(cohort.id, {"name": name, "email": email})


def _fresh(enrolment_id):
    db.session.rollback()
    return db.session.get(Enrolment, enrolment_id)


def _audit(enrolment_id):
    db.session.rollback()
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.enrolment_id == enrolment_id).order_by(AuditEntry.created_at)
    ).all()


def _page(enrolment_id):
    return f"/desk/enrolments/{enrolment_id}"


def test_today_shows_each_cohorts_numbers(desk, make_cohort):
    # No Stripe keys: payment by hand, so the hold is manual_hold_hours (here the shortest, 1).
    cohort = make_cohort(name="Thursday evenings", capacity=3, manual_hold_hours=1)
    _enrol(cohort, "Sam Rivera", "sam@example.org")  # held for payment
    for n in range(3):
        _enrol(cohort, f"Person {n}", f"p{n}@example.org")
    make_cohort(name="Draft group", status="draft")
    page = desk.get("/desk/")
    text = text_of(page)
    assert page.status_code == 200
    assert "Thursday evenings" in text and "Draft group" not in text
    assert "3 / 3" in text and "0 free" in text
    row = re.search(r'data-label="Cohort"><a [^>]*>Thursday evenings</a>.*?</tr>', page.get_data(as_text=True), re.S)[0]
    assert re.search(r'data-label="Waitlist"[^>]*>1<', row)
    assert "Sam Rivera" in text and re.search(r"lapses in [1-5]\d min", text)  # a hold to chase
    drafts = desk.get("/desk/?status=draft")
    assert "Draft group" in text_of(drafts) and "Thursday evenings" not in text_of(drafts)


def test_search_people_across_cohorts_by_name_or_email(desk, make_cohort):
    first, second = make_cohort(name="Thursdays"), make_cohort(name="Mondays")
    _enrol(first, "Sam Rivera", "sam@example.org")
    _enrol(second, "Samantha Lee", "lee@example.org")
    _enrol(second, "Alex Doe", "alex@example.org")
    text = text_of(desk.get("/desk/people?q=SAM"))
    assert "Sam Rivera" in text and "Samantha Lee" in text and "Alex Doe" not in text
    assert "Thursdays" in text and "Mondays" in text
    assert "Alex Doe" in text_of(desk.get("/desk/people?q=alex%40example"))
    assert "Nobody's name or email contains" in text_of(desk.get("/desk/people?q=%25"))


def test_confirm_a_desk_payment(desk, make_cohort):
    cohort = make_cohort()
    person = _enrol(cohort, "Sam Rivera", "sam@example.org")
    answer = post_form(
        desk,
        _page(person.id),
        f"/desk/enrolments/{person.id}/confirm",
        {"method": "cash", "amount": "360.00", "reference": "R-17"},
    )
    assert answer.status_code == 303 and answer.headers["Location"] == _page(person.id)
    page = desk.get(answer.headers["Location"])
    assert "Payment of $360.00 recorded; Sam Rivera is confirmed." in text_of(page)
    done = _fresh(person.id)
    assert (done.status, done.amount_paid, done.payment_method) == ("confirmed", 36000, "cash")
    last = _audit(person.id)[-1]
    assert (last.action, last.staff.name, last.after["reference"]) == ("confirmed_at_desk", "Fran Desk", "R-17")
    assert "Payment confirmed at the desk" in text_of(page) and "Fran Desk" in text_of(page)


def test_a_mistyped_amount_is_named_beside_the_field_and_nothing_changes(desk, make_cohort):
    person = _enrol(make_cohort(), "Sam Rivera", "sam@example.org")
    answer = post_form(
        desk, _page(person.id), f"/desk/enrolments/{person.id}/confirm", {"method": "cash", "amount": "3 hundred"}
    )
    assert answer.status_code == 422 and answer.mimetype == "text/html"
    html = answer.get_data(as_text=True)
    assert 'id="confirm-amount-error"' in html and "Give an amount such as 360 or 360.00." in html
    assert 'value="3 hundred"' in html
    assert _fresh(person.id).status == "pending_payment"
    bad_method = post_form(
        desk, _page(person.id), f"/desk/enrolments/{person.id}/confirm", {"method": "barter", "amount": "1"}
    )
    assert bad_method.status_code == 422 and "Use one of: cash" in text_of(bad_method)


def test_a_conflict_from_the_service_is_a_clear_message_on_the_page(desk, make_cohort):
    cohort = make_cohort(capacity=1)
    holder = _enrol(cohort, "Alex Doe", "alex@example.org")
    waiting = _enrol(cohort, "Sam Rivera", "sam@example.org")
    answer = post_form(
        desk, _page(waiting.id), f"/desk/enrolments/{waiting.id}/confirm", {"method": "cash", "amount": "360"}
    )
    assert answer.status_code == 409 and answer.mimetype == "text/html"
    assert "This person holds no seat and none is free" in text_of(answer)
    assert 'role="alert"' in answer.get_data(as_text=True)
    offer = post_form(desk, f"/desk/cohorts/{cohort.id}", f"/desk/enrolments/{waiting.id}/offer")
    assert offer.status_code == 409 and "No seat is free in this cohort" in text_of(offer)
    assert _fresh(waiting.id).status == "waitlisted" and _fresh(holder.id).status == "pending_payment"


def test_withdraw_with_a_partial_refund(desk, make_cohort):
    person = _enrol(make_cohort(), "Sam Rivera", "sam@example.org")
    staff_actions.confirm(person.id, {"method": "cash", "amount": 36000}, db.session.get(Staff, desk.member.id))
    page = desk.get(_page(person.id))
    assert 'value="360.00"' in page.get_data(as_text=True)  # the policy's refund, pre-filled
    too_much = desk.post(
        f"/desk/enrolments/{person.id}/withdraw", data={"csrf_token": csrf_of(page), "refund_amount": "400"}
    )
    assert too_much.status_code == 422 and "$360.00 was paid; the refund cannot be more" in text_of(too_much)
    assert _fresh(person.id).status == "confirmed"
    answer = desk.post(
        f"/desk/enrolments/{person.id}/withdraw", data={"csrf_token": csrf_of(page), "refund_amount": "100.00"}
    )
    assert answer.status_code == 303
    assert "$100.00 is refunded (the desk owes it to them)" in text_of(desk.get(_page(person.id)))
    assert _fresh(person.id).status == "withdrawn"
    [refund] = db.session.scalars(select(Refund).where(Refund.enrolment_id == person.id)).all()
    assert (refund.amount, refund.status) == (10000, "owed_by_front_desk")
    assert (_audit(person.id)[-1].action, _audit(person.id)[-1].staff.name) == ("withdrawn", "Fran Desk")


def test_reorder_the_waitlist_and_offer_a_seat(desk, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=0)
    _enrol(cohort, "Holder", "holder@example.org")
    a, b, c = (_enrol(cohort, name, f"{name.lower()}@example.org") for name in ("Ann", "Ben", "Cat"))
    page_path = f"/desk/cohorts/{cohort.id}"
    answer = post_form(desk, page_path, f"/desk/enrolments/{c.id}/move", {"position": "2", "focus": "up"})
    assert answer.status_code == 303 and f"focus=up-{c.id}" in answer.headers["Location"]
    page = desk.get(answer.headers["Location"])
    assert f'id="up-{c.id}" aria-describedby="name-{c.id}" autofocus' in page.get_data(as_text=True)
    assert "Cat is now number 2 in the waitlist." in text_of(page)
    assert [v.name for v in staff_actions.waitlist(cohort.id, None)] == ["Ann", "Cat", "Ben"]
    post_form(desk, page_path, f"/desk/enrolments/{a.id}/move", {"position": "3", "focus": "position"})
    assert [v.name for v in staff_actions.waitlist(cohort.id, None)] == ["Cat", "Ben", "Ann"]
    wrong = post_form(desk, page_path, f"/desk/enrolments/{a.id}/move", {"position": "9"})
    assert wrong.status_code == 422 and "The waitlist has 3 people; give 1 to 3." in text_of(wrong)
    assert f'id="position-{a.id}-error"' in wrong.get_data(as_text=True)
    nonsense = post_form(desk, page_path, f"/desk/enrolments/{a.id}/move", {"position": "first"})
    assert nonsense.status_code == 422 and "Give a whole number" in text_of(nonsense)
    assert (_audit(a.id)[-1].action, _audit(a.id)[-1].staff.name) == ("moved", "Fran Desk")

    # A seat frees up on the cohort page: raise the capacity, then offer Ben one out of turn.
    post_form(desk, page_path, page_path, {"capacity": "3", "status": "open", "name": cohort.name})
    assert _fresh(c.id).status == "offered" and _fresh(b.id).status == "offered"  # new seats go down the list
    post_form(desk, page_path, page_path, {"capacity": "4", "status": "open", "name": cohort.name})
    assert _fresh(a.id).status == "offered"


def test_offer_a_seat_out_of_turn(desk, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=0)
    holder = _enrol(cohort, "Holder", "holder@example.org")
    first, second = _enrol(cohort, "Ann", "ann@example.org"), _enrol(cohort, "Ben", "ben@example.org")
    refused = post_form(desk, _page(second.id), f"/desk/enrolments/{second.id}/offer", {"back": "enrolment"})
    assert refused.status_code == 409 and "No seat is free" in text_of(refused)
    # Once the group has started, a freed seat waits for the desk to choose who gets it.
    with time_machine.travel(datetime(2030, 10, 4, 12, 0, tzinfo=UTC), tick=False):
        sign_in(desk, desk.member)
        self_service.withdraw(holder.id)
        assert _fresh(first.id).status == "waitlisted"
        answer = post_form(desk, _page(second.id), f"/desk/enrolments/{second.id}/offer", {"back": "enrolment"})
        assert answer.status_code == 303
        assert "A seat is offered to Ben until" in text_of(desk.get(_page(second.id)))
    assert (_fresh(second.id).status, _fresh(first.id).status) == ("offered", "waitlisted")
    assert (_audit(second.id)[-1].action, _audit(second.id)[-1].staff.name) == ("offered_by_staff", "Fran Desk")


def test_transfer_to_a_cohort_with_a_free_seat(desk, make_cohort, make_program):
    program = make_program()
    source = make_cohort(program=program, name="Thursdays")
    full = make_cohort(program=program, name="Full Mondays", capacity=1, price_amount=0)
    _enrol(full, "Someone", "someone@example.org")
    target = make_cohort(program=program, name="Tuesdays")
    person = _enrol(source, "Sam Rivera", "sam@example.org")
    staff_actions.confirm(person.id, {"method": "check", "amount": 36000}, db.session.get(Staff, desk.member.id))
    page = desk.get(_page(person.id))
    options = re.findall(r'<option value="(coh_[^"]+)"', page.get_data(as_text=True))
    assert options == [target.id]  # the full one and the person's own are not offered
    answer = desk.post(
        f"/desk/enrolments/{person.id}/transfer", data={"csrf_token": csrf_of(page), "cohort_id": target.id}
    )
    assert answer.status_code == 303
    assert "Sam Rivera moved to Tuesdays" in text_of(desk.get(_page(person.id)))
    moved = _fresh(person.id)
    assert (moved.cohort_id, moved.amount_paid, moved.status) == (target.id, 36000, "confirmed")
    assert (_audit(person.id)[-1].action, _audit(person.id)[-1].staff.name) == ("transferred", "Fran Desk")
    nothing = desk.post(f"/desk/enrolments/{person.id}/transfer", data={"csrf_token": csrf_of(page)})
    assert nothing.status_code == 422 and "Choose the cohort to move them to." in text_of(nothing)


def test_the_audit_trail_shows_staff_names(desk, make_cohort, make_staff):
    cohort = make_cohort(capacity=1, price_amount=0)
    holder = _enrol(cohort, "Holder", "holder@example.org")
    person = _enrol(cohort, "Sam Rivera", "sam@example.org")
    other, _ = make_staff("front_desk", name="Omar Other")
    self_service.withdraw(holder.id, db.session.get(Staff, other.id), refund_amount=0)
    sam = text_of(desk.get(_page(person.id)))
    assert "Enrolled" in sam and "The participant" in sam
    assert "Offered a seat from the waitlist" in sam and "Automatic" in sam  # the freed seat went down the list
    holder_page = text_of(desk.get(_page(holder.id)))
    assert "Withdrawn Confirmed → Withdrawn Omar Other" in holder_page


def test_resend_a_message(desk, make_cohort):
    person = _enrol(make_cohort(price_amount=0), "Sam Rivera", "sam@example.org")
    [message] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.enrolment_id == person.id)).all()
    page = desk.get(_page(person.id))
    assert "Goes out by itself" in text_of(page)  # not sent yet: nothing to resend
    early = desk.post(f"/desk/enrolments/{person.id}/messages/{message.id}/resend", data={"csrf_token": csrf_of(page)})
    assert early.status_code == 409 and "has not been sent yet" in text_of(early)
    message.status = "sent"
    db.session.commit()
    answer = post_form(desk, _page(person.id), f"/desk/enrolments/{person.id}/messages/{message.id}/resend")
    assert answer.status_code == 303
    assert "“Enrolment confirmed” is queued to be sent again." in text_of(desk.get(_page(person.id)))
    db.session.rollback()
    copies = db.session.scalars(select(OutboxMessage).where(OutboxMessage.resend_of == message.id)).all()
    assert len(copies) == 1 and copies[0].to_address == "sam@example.org"
    assert (_audit(person.id)[-1].action, _audit(person.id)[-1].staff.name) == ("message_resent", "Fran Desk")


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(desk, make_cohort):
    person = _enrol(make_cohort(), "Sam Rivera", "sam@example.org")
    for action, data in (
        ("confirm", {"method": "cash", "amount": "360"}),
        ("withdraw", {}),
        ("offer", {}),
        ("move", {"position": "1"}),
    ):
        answer = desk.post(f"/desk/enrolments/{person.id}/{action}", data=data)
        assert answer.status_code == 400 and answer.mimetype == "text/html", action
        assert "This form could not be sent" in text_of(answer)
    assert _fresh(person.id).status == "pending_payment"


def test_cohort_settings_capacity_below_the_seats_taken_is_refused(desk, make_cohort):
    cohort = make_cohort(capacity=2, price_amount=0)
    for n in range(2):
        _enrol(cohort, f"P{n}", f"p{n}@example.org")
    path = f"/desk/cohorts/{cohort.id}"
    answer = post_form(desk, path, path, {"capacity": "1", "status": "open", "name": cohort.name})
    assert answer.status_code == 409 and "2 seats are taken; capacity cannot go below that." in text_of(answer)
    typo = post_form(desk, path, path, {"capacity": "ten", "status": "open"})
    assert typo.status_code == 422 and 'id="set-capacity-error"' in typo.get_data(as_text=True)
    closed = post_form(desk, path, path, {"capacity": "2", "status": "closed", "meeting_url": "https://v.example/n"})
    assert closed.status_code == 303
    db.session.rollback()
    assert "Closed" in text_of(desk.get(path)) and "https://v.example/n" in text_of(desk.get(path))


def test_reschedule_and_cancel_a_session(desk, make_cohort):
    cohort = make_cohort(price_amount=0)
    path = f"/desk/cohorts/{cohort.id}"
    session = cohort.sessions[1]
    moved = post_form(desk, path, f"/desk/sessions/{session.id}", {"date": "2030-10-11", "time": "19:30"})
    assert moved.status_code == 303
    page = text_of(desk.get(path))
    assert "Fri, Oct 11, 7:30 PM EDT" in page and "Changed once" in page
    gap = post_form(desk, path, f"/desk/sessions/{session.id}", {"date": "2031-03-09", "time": "02:30"})
    assert gap.status_code == 422 and "does not exist" in text_of(gap)
    empty = post_form(desk, path, f"/desk/sessions/{session.id}", {"date": "", "time": "19:30"})
    assert empty.status_code == 422 and "Give the new date and start time." in text_of(empty)
    cancelled = post_form(desk, path, f"/desk/sessions/{session.id}/cancel")
    assert cancelled.status_code == 303 and "Changed 2 times" in text_of(desk.get(path))


def test_cancel_a_cohort_after_a_confirmation_step(desk, make_cohort):
    cohort = make_cohort(price_amount=0)
    person = _enrol(cohort, "Sam Rivera", "sam@example.org")
    step = desk.get(f"/desk/cohorts/{cohort.id}/cancel")
    assert "1 person holds a seat" in text_of(step) and _fresh(person.id).status == "confirmed"
    desk.post(f"/desk/cohorts/{cohort.id}/cancel", data={"csrf_token": csrf_of(step)})
    assert _fresh(person.id).status == "cancelled"


def test_enrol_someone_on_the_phone(desk, make_cohort):
    cohort = make_cohort(price_amount=0)
    path = f"/desk/cohorts/{cohort.id}"
    answer = post_form(desk, path, f"/desk/cohorts/{cohort.id}/enrol", {"name": "Sam Rivera", "email": "sam@x.org"})
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/desk/enrolments/enr_")
    assert "Sam Rivera is enrolled: Confirmed." in text_of(desk.get(answer.headers["Location"]))
    again = post_form(desk, path, f"/desk/cohorts/{cohort.id}/enrol", {"name": "Sam", "email": "SAM@x.org"})
    assert again.status_code == 409 and "already enrolled" in text_of(again)
    blank = post_form(desk, path, f"/desk/cohorts/{cohort.id}/enrol", {"name": "", "email": "x"})
    assert blank.status_code == 422 and 'id="enrol-name-error"' in blank.get_data(as_text=True)


def test_the_roster_export_has_payments_for_the_desk(desk, make_cohort):
    cohort = make_cohort()
    person = _enrol(cohort, "=cmd|' /C calc'!A0", "sam@example.org")
    staff_actions.confirm(person.id, {"method": "cash", "amount": 36000}, None)
    answer = desk.get(f"/desk/cohorts/{cohort.id}/roster.csv")
    assert answer.mimetype == "text/csv" and "attachment" in answer.headers["Content-Disposition"]
    lines = answer.get_data(as_text=True).splitlines()
    assert lines[0].startswith("id,name,email") and "amount_paid" in lines[0]
    # amount_due, amount_paid, amount_refunded, balance, payment_method
    assert "'=cmd" in lines[1] and ",36000,36000,0,0,cash" in lines[1]


def test_the_cohort_page_shows_attendance_and_who_needs_following_up(client, make_staff, make_program, make_cohort):
    from datetime import timedelta

    from scheduler.attendance import services as attendance
    from scheduler.foundation import clock

    fay, _ = make_staff("facilitator", name="Fay Cilitator")
    program = make_program(missed_sessions_limit=2)
    cohort = make_cohort(
        program=program, price_amount=0, start_date=(clock.now() - timedelta(days=15)).date(), facilitator_ids=[fay.id]
    )
    member = db.session.get(Staff, fay.id)
    here = _enrolment_in_running(cohort, "Ann Present", "ann@example.org")
    away = _enrolment_in_running(cohort, "Ben Away", "ben@example.org")
    first, second = cohort.sessions[0], cohort.sessions[1]
    for session in (first, second):
        marks = [{"enrolment_id": here.id, "status": "present"}, {"enrolment_id": away.id, "status": "absent"}]
        attendance.record_session(session.id, marks, member)
    sign_in(client, fay)
    page = client.get(f"/desk/cohorts/{cohort.id}")
    html = page.get_data(as_text=True)
    grid = re.search(r'<table class="table table--grid".*?</table>', html, re.S)[0]
    ann = re.search(r"<tr>\s*<th scope=\"row\">Ann Present</th>.*?</tr>", grid, re.S)[0]
    ben = re.search(r"<tr>\s*<th scope=\"row\">Ben Away</th>.*?</tr>", grid, re.S)[0]
    assert ann.count('title="present"') == 2 and "Missed the limit" not in ann
    assert ben.count('title="absent"') == 2 and "Missed the limit" in ben


def _enrolment_in_running(cohort, name, email):
    """A confirmed person in a cohort that has started (enrolment has closed, so written directly)."""
    from scheduler.enrolment.models import Participant

    with write_transaction():
        participant = Participant(email_normalised=email)
        enrolment = Enrolment(cohort=cohort, participant=participant, status="confirmed", name=name, email=email)
        db.session.add(enrolment)
    return enrolment
