"""Issue 22 in Chromium: what a person meets reads well whatever their browser.

A visitor whose browser speaks German, in Berlin, sees "your time" in the page's own language and
clock (never "18:00" beside "6:00 PM"); the confirmation email fits a phone with its calendar
buttons; the join page wears the clinic's stylesheet; a mistyped address is a page.
"""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from scheduler.enrolment import enrolling
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.notifications.outbox import ensure_rendered
from scheduler.staff.models import Staff
from tests.browser.support import ARTIFACTS, look

pytestmark = pytest.mark.slow


def test_your_time_follows_the_pages_language_not_the_browsers(live_app, open_browser, make_cohort):
    cohort = make_cohort(name="Thursday evenings")
    page = open_browser(timezone="Europe/Berlin", locale="de-DE")
    page.goto(f"{live_app.live_url}/cohorts/{cohort.id}")
    note = page.locator(".your-time").first
    expect(note).to_contain_text("your time")
    text = note.inner_text()
    assert re.search(r"Fridays at 12:00\s?AM GMT\+2|Fridays at 12:00\s?AM CEST", text), text
    assert "Freitag" not in text and "00:00" not in text
    look(page, "cohort page read from a German browser")


def test_the_confirmation_email_fits_a_phone_with_calendar_buttons(live_app, open_browser, make_cohort, make_staff):
    cohort = make_cohort(name="Thursday evenings", price_amount=0)
    member, _ = make_staff("front_desk")
    staff = db.session.get(Staff, member.id)
    enrolling.enrol(cohort.id, {"name": "Ana Ruiz", "email": "ana@example.org"}, staff)
    db.session.rollback()
    [email] = db.session.scalars(
        select(OutboxMessage).where(
            func.lower(OutboxMessage.to_address) == "ana@example.org", OutboxMessage.kind == "enrolment_confirmed"
        )
    ).all()
    ensure_rendered(email)
    page = open_browser()
    page.set_viewport_size({"width": 360, "height": 800})
    page.set_content(email.body_html)
    for name in ("Apple Calendar", "Google Calendar", "Outlook"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(ARTIFACTS / "email-enrolment-confirmed-phone-360.png"), full_page=True)


def test_the_join_page_and_a_mistyped_address_wear_the_clinics_pages(live_app, open_browser):
    page = open_browser()
    page.goto(f"{live_app.live_url}/join/jn_not-a-real-link")
    expect(page.get_by_role("heading", name="We don't recognise this link")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).margin") != "8px"  # the site's stylesheet, not the browser's
    look(page, "join page with an unknown link", error_status=True)
    page.goto(f"{live_app.live_url}/cohorts")
    expect(page.get_by_role("heading", name="We could not find this page")).to_be_visible()
    expect(page.get_by_role("link", name="See the groups open for enrolment")).to_be_visible()
    look(page, "a mistyped address", error_status=True)


def test_the_consoles_header_leaves_a_phone_its_screen(live_app, open_browser, make_staff):
    from scheduler.staff import services as staff_services

    member, _ = make_staff("admin", name="Ada Admin")  # the most links: every screen of the console
    page = open_browser()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(staff_services.issue_sign_in_link(member.email))
    page.get_by_role("button", name="Sign in").click()
    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_visible()
    brand, out = page.locator(".brand").bounding_box(), sign_out.bounding_box()
    # Sign out beside the clinic's name, every link of the console still on the screen, and the
    # header no more than a fifth of the phone's height (an admin has eight links).
    assert abs((brand["y"] + brand["height"] / 2) - (out["y"] + out["height"] / 2)) < 12
    nav = page.get_by_role("navigation", name="Console")
    for name in ("Today", "Week", "Intakes", "Programs", "New cohort", "Staff", "Availability", "My account"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_in_viewport()
    assert page.locator(".site-header").bounding_box()["height"] <= 844 / 5
    look(page, "console header on a phone")
