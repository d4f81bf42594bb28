"""Issue 21: a whole admission in Chromium, every control found by its role and accessible name.

A person asks for a place from an intake program's cohort page, opens the emailed link to their
request; the front desk records the outcome in the console (Record outcome); the seat offered
reaches the person's request page; they accept, sign the program's agreement (Full name, I agree)
and are enrolled. Another person is found not suitable and reads the neutral message.
"""

import re

import pytest
from playwright.sync_api import expect

from scheduler.cohorts.agreements import add_agreement
from scheduler.staff import services as staff_services
from tests.browser.support import look
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
    desk.get_by_label("Outcome").select_option(label=outcome)
    desk.get_by_label("Staff note (never shown to the person)").fill("Assessed on video; notes on file.")
    if message:
        desk.get_by_label("Message to the person (optional)").fill(message)
    desk.get_by_role("button", name="Record outcome").click()
    expect(desk.get_by_role("status")).to_contain_text(f"Outcome recorded for {name}")


def test_request_assessment_outcome_offer_agreements_and_a_seat(
    live_app, open_browser, make_staff, make_program, make_cohort
):
    program = make_program(admission="intake", name="Emotion regulation skills", price_amount=0)
    add_agreement(program.id, {"title": "Group guidelines", "body": "Keep what others share in the group."}, None)
    cohort = make_cohort(program=program, name="Tuesday evenings", capacity=1, price_amount=0)
    page = open_browser()
    _ask_for_a_place(page, live_app.live_url, cohort.id, "Ana Ruiz", "ana@example.org")
    expect(page.get_by_text("number 1")).to_be_visible()
    look(page, "intake page, requested")

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
    page.get_by_label("Full name").fill("Ana Ruiz")
    look(page, "participant page, agreements before the seat")
    page.get_by_role("button", name="I agree").click()
    expect(page.get_by_role("heading", name="You are enrolled")).to_be_visible()
    look(page, "participant page, enrolled after intake")


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
    expect(page.get_by_text("not the right fit")).to_be_visible()
    expect(page.get_by_text("Individual sessions may suit you better.")).to_be_visible()
    expect(page.get_by_role("link", name="Withdraw my request")).to_have_count(0)
    look(page, "intake page, not suitable")
    [told] = mail_to("ben@example.org", "intake_outcome")
    assert "Interpersonal" not in told.subject and "notes on file" not in told.body_text
