"""Issue 25 in Chromium: the full programme run from the console and the person's page.

The front desk opens a person's programme from their enrolment, books a weekly series of individual
sessions with a therapist (Book the sessions), opens one session and moves it (Move the session);
the therapist finds it in their week (Week); the person cancels another from their page after a
confirmation step (Cancel, then Cancel the session). axe-core checks every page; screenshots go to
tests/artifacts/.
"""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from scheduler.appointments.services import WEEKDAYS
from scheduler.foundation import clock
from scheduler.staff import services as staff_services
from tests.browser.support import look

pytestmark = pytest.mark.slow


def _sign_in(page, member) -> None:
    page.goto(staff_services.issue_sign_in_link(member.email))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_the_desk_books_individual_sessions_the_therapist_sees_them_the_person_cancels_one(
    live_app, open_browser, make_staff, make_program, make_cohort, make_enrolment
):
    base = live_app.live_url
    desk_member, _ = make_staff("front_desk", name="Fran Desk")
    tess, _ = make_staff("facilitator", name="Dr Tess Hart")
    program = make_program(name="Skills group", price_amount=0)
    start = (clock.now() - timedelta(days=8)).date()
    cohort = make_cohort(
        program=program, name="Thursday evenings", price_amount=0, start_date=start, facilitator_ids=[tess.id]
    )
    ana = make_enrolment(cohort, email="ana@example.org", name="Ana Ruiz", timezone="America/Chicago")
    first_day = clock.now().date() + timedelta(days=2)

    desk = open_browser()
    _sign_in(desk, desk_member)
    desk.goto(f"{base}/desk/enrolments/{ana.id}")
    desk.get_by_role("link", name="Programme: group and individual sessions, attendance, booking").click()
    expect(desk.get_by_role("heading", name="Ana Ruiz's programme")).to_be_visible()
    desk.get_by_label("Therapist").select_option(label="Dr Tess Hart")
    desk.get_by_label("Weekday").select_option(WEEKDAYS[first_day.weekday()])
    desk.get_by_label("Time (HH:MM)").fill("10:00")
    desk.get_by_label("Time zone").fill("America/Chicago")
    desk.get_by_label("From (YYYY-MM-DD)").fill(clock.now().date().isoformat())
    desk.get_by_label("Number of sessions").fill("3")
    desk.get_by_role("button", name="Book the sessions").click()
    expect(desk.get_by_role("status")).to_contain_text("3 individual sessions are booked")
    expect(desk.get_by_role("link", name="Open individual session 3")).to_be_visible()
    expect(desk.get_by_role("link", name="Open the attendance sheet of group session 1")).to_be_visible()
    look(desk, "desk programme with individual sessions")

    desk.get_by_role("link", name="Open individual session 1").click()
    expect(desk.get_by_role("heading", name="Individual session 1 with Ana Ruiz")).to_be_visible()
    desk.get_by_label("New time (HH:MM)").fill("11:30")
    desk.get_by_role("button", name="Move the session").click()
    expect(desk.get_by_role("status")).to_contain_text("The session is moved")
    expect(desk.get_by_text("11:30 AM")).to_be_visible()
    look(desk, "desk individual session moved")
    desk.get_by_label("New date (YYYY-MM-DD)").fill((clock.now().date() - timedelta(days=1)).isoformat())
    desk.get_by_role("button", name="Move the session").click()
    expect(desk.get_by_text("That time has already passed: choose a date and time still ahead.")).to_be_visible()
    look(desk, "desk individual session move refused", error_status=True)

    therapist = open_browser()
    _sign_in(therapist, tess)
    therapist.get_by_role("link", name="Week", exact=True).click()
    expect(therapist.get_by_role("heading", name="Your week")).to_be_visible()
    therapist.get_by_role("link", name="Next week").click()
    expect(therapist.get_by_role("link", name="Individual session with Ana Ruiz")).to_have_count(1)
    look(therapist, "desk a therapists week")

    person = open_browser()
    person.goto(f"{base}/me/{ana.id}?token={ana.manage_token}")
    expect(person.get_by_role("heading", name="Your individual sessions")).to_be_visible()
    second = first_day + timedelta(days=7)
    person.get_by_role("link", name=f"Cancel the individual session of {second:%A, %B} {second.day}").click()
    expect(person.get_by_role("heading", name="Cancel your individual session?")).to_be_visible()
    look(person, "participant cancels an individual session")
    person.get_by_role("button", name="Cancel the session").click()
    expect(person.get_by_role("status")).to_contain_text("is cancelled; we have emailed you to confirm")
    expect(person.get_by_role("link", name="Join the individual session", exact=False)).to_have_count(2)
    look(person, "participant page after cancelling an individual session")
