"""The console's attendance sheet and refunds owed, in Chromium, found by role and accessible name.

A facilitator takes a session's attendance with the keyboard only (Mark everyone present,
Tab from person to person, arrow keys within a person, Enter on Save attendance), and sees
a session that has not started read-only. The front desk finds a refund owed from Today
and marks it paid. axe-core checks every page; screenshots go to tests/artifacts/.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.attendance.models import AttendanceRecord
from scheduler.enrolment import self_service, staff_actions
from scheduler.foundation import clock
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db
from scheduler.payments.models import Refund
from scheduler.staff import services as staff_services
from scheduler.staff.models import Staff
from tests.browser.support import look
from tests.helpers import enrol_opened

pytestmark = pytest.mark.slow


def _sign_in(page, member) -> None:
    page.goto(staff_services.issue_sign_in_link(member.email))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _records(session_id) -> dict:
    db.session.rollback()  # the live server commits from its own sessions
    rows = db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)).all()
    return {r.enrolment_id: (r.status, r.source) for r in rows}


def test_a_facilitator_takes_attendance_with_the_keyboard_only(
    live_app, open_browser, make_staff, make_program, make_cohort, make_enrolment
):
    fay, _ = make_staff("facilitator", name="Fay Cilitator")
    program = make_program(name="Skills group", price_amount=0)
    # Started 15 days ago: sessions 1 to 3 have been held (the third yesterday), the fourth is ahead.
    start = (clock.now() - timedelta(days=15)).date()
    cohort = make_cohort(
        program=program, name="Thursday evenings", price_amount=0, start_date=start, facilitator_ids=[fay.id]
    )
    people = {}
    for name in ("Ann Avery", "Ben Brook", "Cat Cole"):
        people[name.split()[0]] = make_enrolment(cohort, email=f"{name.split()[0].lower()}@example.org", name=name)
    third, fourth = cohort.sessions[2], cohort.sessions[3]
    # Ann opened the meeting through her personal link: a provisional present.
    with write_transaction():
        db.session.add(
            AttendanceRecord(
                session_id=third.id,
                enrolment_id=people["Ann"].id,
                status="present",
                source="join",
                recorded_at=third.starts_at + timedelta(minutes=3),
                joined_at=third.starts_at + timedelta(minutes=3),
            )
        )
    page = open_browser()
    _sign_in(page, fay)

    page.get_by_role("link", name="Thursday evenings").click()
    take = page.get_by_role("link", name="Take attendance", exact=True)
    expect(take).to_have_attribute("href", f"/desk/sessions/{third.id}/attendance")
    expect(page.get_by_role("link", name="Take attendance for session 1")).to_be_visible()
    expect(page.get_by_role("link", name="Take attendance for session 4")).to_have_count(0)
    look(page, "desk cohort with attendance to take")
    take.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Attendance: session 3 of 12")).to_be_visible()
    ann = page.get_by_role("group", name="Ann Avery")
    expect(ann.get_by_role("radio", name="Present")).to_be_checked()
    expect(ann).to_contain_text("Provisional")
    expect(page.get_by_role("group", name="Ben Brook").get_by_role("radio", name="Present")).not_to_be_checked()
    look(page, "desk attendance sheet")

    # Everyone present, then Ben late and Cat absent, without the mouse.
    page.get_by_role("button", name="Mark everyone present").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("3 people are marked present.")).to_be_attached()
    page.keyboard.press("Tab")  # Ann's group: her choice
    expect(ann.get_by_role("radio", name="Present")).to_be_focused()
    page.keyboard.press("Tab")  # Ben's group
    page.keyboard.press("ArrowRight")  # Present -> Late
    page.keyboard.press("Tab")  # Cat's group
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # Present -> Late -> Absent
    expect(page.get_by_role("group", name="Cat Cole").get_by_role("radio", name="Absent")).to_be_checked()
    page.keyboard.press("Tab")
    save = page.get_by_role("button", name="Save attendance")
    expect(save).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("is saved: 1 present, 1 late, 1 absent.")
    expect(page.get_by_role("button", name="Save attendance")).to_be_focused()
    expect(page.get_by_text("Last saved by Fay Cilitator")).to_be_visible()
    look(page, "desk attendance sheet saved")
    assert _records(third.id) == {
        people["Ann"].id: ("present", "staff"),
        people["Ben"].id: ("late", "staff"),
        people["Cat"].id: ("absent", "staff"),
    }

    # The next session has not started: the sheet is there to read, not to save.
    page.get_by_role("navigation", name="Other sessions").get_by_role(
        "link", name=re.compile("Next: session 4")
    ).click()
    expect(page.get_by_text("This session has not started yet")).to_be_visible()
    expect(page.get_by_role("button", name="Save attendance")).to_have_count(0)
    expect(page.get_by_role("group", name="Ann Avery").get_by_role("radio", name="Present")).to_be_disabled()
    look(page, "desk attendance sheet, not started")
    assert _records(fourth.id) == {}


def test_the_front_desk_finds_a_refund_owed_and_marks_it_paid(live_app, open_browser, make_staff, make_cohort):
    member, _ = make_staff("front_desk", name="Fran Desk")
    cohort = make_cohort(name="Thursday evenings")
    person = enrol_opened(cohort.id, {"name": "Sam Rivera", "email": "sam@example.org"})
    staff = db.session.get(Staff, member.id)
    staff_actions.confirm(person.id, {"method": "cash", "amount": 36000}, staff)
    self_service.withdraw(person.id, staff, refund_amount=12000)
    page = open_browser()
    _sign_in(page, member)

    owed = page.get_by_role("region", name=re.compile("Refunds owed"))
    expect(owed).to_contain_text("$120.00 to Sam Rivera")
    look(page, "desk today with refunds owed")
    owed.get_by_role("link", name="See the refunds owed").click()
    expect(page.get_by_role("heading", name="Refunds owed", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Sam Rivera")
    expect(row).to_contain_text("Thursday evenings")
    expect(row).to_contain_text("$120.00")
    look(page, "desk refunds owed")
    row.get_by_role("link", name="Mark paid").click()

    form = page.get_by_role("region", name=re.compile("Mark refund paid"))
    expect(form).to_contain_text("$120.00")
    form.get_by_role("button", name="Mark refund paid").click()
    expect(page.get_by_text("Choose how the money was paid back")).to_be_visible()
    expect(page.get_by_role("combobox", name="Method")).to_have_attribute("aria-invalid", "true")
    look(page, "desk refund form with a mistake", error_status=True)

    method = page.get_by_role("combobox", name="Method")
    method.focus()
    method.select_option("check")
    page.keyboard.press("Tab")
    page.keyboard.type("Check 1042")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(
        "The refund of $120.00 is marked paid (Check, reference Check 1042); Sam Rivera is told by email."
    )
    expect(page.get_by_role("table", name="Refunds")).to_contain_text("Paid out by the front desk")
    look(page, "desk enrolment, refund paid out")
    db.session.rollback()
    refund = db.session.scalar(select(Refund).where(Refund.enrolment_id == person.id))
    assert (refund.status, refund.paid_method, refund.paid_reference) == ("paid_by_front_desk", "check", "Check 1042")
