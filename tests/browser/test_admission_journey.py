"""Issue 21: a whole admission in Chromium, every control found by its role and accessible name.

A person asks for a place from an intake program's cohort page, opens the emailed link to their
request, books a free assessment time (Book), looks at Change or cancel, and their personal Join
link leads to the video room in the appointment's window; the front desk records the outcome in
the console (Record outcome); the seat offered reaches the person's request page; they accept,
sign the program's agreement (Full name, I agree), pay by card (localstripe) and are enrolled.
Another person is found not suitable and reads the neutral message.
"""

import re
from datetime import date, time, timedelta

import pytest
import time_machine
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.admission.models import Intake
from scheduler.appointments.models import Appointment
from scheduler.appointments.services import WEEKDAYS, add_availability
from scheduler.cohorts.agreements import add_agreement
from scheduler.foundation.extensions import db
from scheduler.staff import services as staff_services
from scheduler.staff.services import create_staff
from tests.browser.support import look, pay_with_a_3ds_card
from tests.helpers import handle_inbox
from tests.integration.admission.test_intakes import LINK, mail_to

pytestmark = pytest.mark.slow


def _ask_for_a_place(page, base_url: str, cohort_id: str, name: str, email: str) -> None:
    page.goto(f"{base_url}/cohorts/{cohort_id}")
    expect(page.get_by_role("heading", name="How to join")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Request a place").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()
    handle_inbox()
    found = LINK.search(mail_to(email, "intake_link")[-1].body_text)
    page.goto(f"{base_url}/me/intakes/{found[1]}?token={found[2]}")
    expect(page.get_by_role("heading", name="Your request for a place")).to_be_visible()


def _record_outcome(desk, base_url: str, name: str, outcome: str, message: str = "") -> None:
    desk.goto(f"{base_url}/desk/intakes")
    row = desk.get_by_role("listitem").filter(has_text=name)
    row.get_by_role("link", name="Record outcome").click()
    expect(desk.get_by_role("heading", name=name)).to_be_visible()
    desk.get_by_label("Outcome", exact=True).select_option(label=outcome)
    desk.get_by_label("Staff note (never shown to the person)").fill("Assessed on video; notes on file.")
    if message:
        desk.get_by_label("Message to the person (optional)").fill(message)
    desk.get_by_role("button", name="Record outcome").click()
    expect(desk.get_by_role("status")).to_contain_text(f"Outcome recorded for {name}")


def _assessor_hours(member) -> None:
    """Weekly hours from two days on, so that there are free times to book whatever today is."""
    day = date.today() + timedelta(days=2)
    hours = {
        "weekday": WEEKDAYS[day.weekday()],
        "start_time": time(9, 0),
        "end_time": time(11, 0),
        "timezone": "America/Chicago",
        "slot_minutes": 50,
        "from_date": day,
        "meeting_url": "https://video.example/assess/7",
    }
    add_availability(member.id, hours, member)


def test_request_assessment_outcome_offer_agreements_pay_and_a_seat(
    stripe_app, localstripe_server, open_browser, make_staff, make_program, make_cohort
):
    live_app = stripe_app
    stripe_app.config["PUBLIC_BASE_URL"] = stripe_app.live_url
    stripe_app.config["STRIPE_JS_URL"] = localstripe_server.url + "/js.stripe.com/v3/"
    program = make_program(admission="intake", name="Emotion regulation skills")
    guidelines = {"title": "Group guidelines", "body": "Keep what others share in the group."}
    add_agreement(program.id, guidelines, make_staff("admin")[0])
    cohort = make_cohort(program=program, name="Tuesday evenings", capacity=1, price_amount=36000)
    _assessor_hours(create_staff("ada@staff.test", "Dr Ada", "facilitator", assessor=True).member)
    page = open_browser()
    _ask_for_a_place(page, live_app.live_url, cohort.id, "Ana Ruiz", "ana@example.org")
    expect(page.get_by_text("number 1")).to_be_visible()
    expect(page.get_by_role("heading", name="Book your assessment")).to_be_visible()
    look(page, "intake page, free times to book")
    page.get_by_role("button", name="Book").first.click()
    expect(page.get_by_role("status")).to_contain_text("Your assessment is booked for")
    join = page.get_by_role("link", name="Join")
    expect(join).to_have_attribute("href", re.compile(r"/join/join_[^/]+$"))
    look(page, "intake page, assessment booked")
    page.get_by_role("link", name="Change or cancel").click()
    expect(page.get_by_role("heading", name="Change or cancel your appointment")).to_be_visible()
    look(page, "change or cancel the assessment")
    page.get_by_role("link", name="Your request").click()
    # Ten minutes before the appointment the personal link leads to the video room.
    db.session.rollback()  # the live server committed the booking from its own session
    starts = db.session.scalar(select(Appointment.starts_at))
    with time_machine.travel(starts - timedelta(minutes=10)):
        opened = page.request.get(join.get_attribute("href"), max_redirects=0)
    assert opened.status == 302 and opened.headers["location"] == "https://video.example/assess/7"

    desk = open_browser()
    desk.goto(staff_services.issue_sign_in_link(make_staff("front_desk")[0].email))
    desk.get_by_role("button", name="Sign in").click()
    desk.get_by_role("link", name="Intakes").click()
    expect(desk.get_by_role("heading", name=re.compile("Emotion regulation skills"))).to_be_visible()
    look(desk, "desk intakes queue")
    _record_outcome(desk, live_app.live_url, "Ana Ruiz", "Approved: offer a place", "We look forward to seeing you.")
    expect(desk.get_by_text("Tuesday evenings")).to_be_visible()  # the seat offered at once
    look(desk, "desk intake after the outcome")

    page.reload()
    expect(page.get_by_text("We look forward to seeing you.")).to_be_visible()
    expect(page.get_by_role("heading", name="A place is offered to you")).to_be_visible()
    look(page, "intake page, offered")
    page.get_by_role("link", name="Answer the offer").click()
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("button", name="Pay")).to_have_count(0)  # the agreements come first
    page.get_by_label("Full name").fill("Ana Ruiz")
    look(page, "participant page, agreements before paying")
    page.get_by_role("button", name="I agree").click()
    pay = page.get_by_role("button", name="Pay")
    expect(pay).to_be_visible()
    db.session.rollback()
    enrolment_id = db.session.scalar(select(Intake.offer_enrolment_id))
    pay_with_a_3ds_card(page, pay, localstripe_server, enrolment_id)
    expect(page.get_by_role("heading", name="You are enrolled")).to_be_visible(timeout=30_000)
    look(page, "participant page, enrolled after intake")
    db.session.rollback()
    assert db.session.scalar(select(Intake.status)) == "enrolled"


def test_a_not_suitable_outcome_reaches_the_person_neutrally(
    live_app, open_browser, make_staff, make_program, make_cohort
):
    program = make_program(admission="intake", name="Interpersonal therapy group")
    cohort = make_cohort(program=program, name="Monday mornings")
    page = open_browser(javascript=False)
    _ask_for_a_place(page, live_app.live_url, cohort.id, "Ben Okafor", "ben@example.org")
    desk = open_browser()
    desk.goto(staff_services.issue_sign_in_link(make_staff("front_desk")[0].email))
    desk.get_by_role("button", name="Sign in").click()
    _record_outcome(desk, live_app.live_url, "Ben Okafor", "Not suitable", "Individual sessions may suit you better.")
    page.reload()
    expect(page.get_by_text("We do not think this program is the right fit for you")).to_be_visible()
    expect(page.get_by_text("Individual sessions may suit you better.")).to_be_visible()
    expect(page.get_by_text("To talk this over, or to ask what else might help")).to_be_visible()  # a next step
    expect(page.get_by_role("link", name="Withdraw my request")).to_have_count(0)
    look(page, "intake page, not suitable")
    [told] = mail_to("ben@example.org", "intake_outcome")
    assert "Interpersonal" not in told.subject and "notes on file" not in told.body_text
