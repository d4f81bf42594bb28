"""A person's whole journey in Chromium, finding every control by its role and accessible name.

From the clinic's home page: enrol without JavaScript, enrol with it and pay by card through
localstripe's Stripe.js double, join the waitlist, get the offer by email (a real SMTP
server), follow the link, accept, subscribe, withdraw with the refund shown.
"""

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.enrolment.models import Enrolment, payment_reference
from scheduler.foundation.extensions import db
from scheduler.notifications import sender
from tests.browser.support import look, pay_with_a_3ds_card
from tests.helpers import emailed_link
from tests.stripe_double import wait_until

pytestmark = pytest.mark.slow


def _enrolment(email: str) -> Enrolment:
    db.session.rollback()  # the live server commits from its own sessions
    return db.session.scalar(select(Enrolment).where(Enrolment.email == email))


def _fill_form(page, name: str, email: str, phone: str = "") -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Phone", exact=True).fill(phone)


def _open_the_emailed_link(page, base_url: str, cohort_id: str, email: str, what: str) -> None:
    """The same answer for every address, then the link from the email opens the real outcome."""
    expect(page).to_have_url(f"{base_url}/cohorts/{cohort_id}/check-email")
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()  # shown once, to spot a typo
    look(page, f"check your email, {what}")
    enrolment_id, token = emailed_link(cohort_id, email)
    page.goto(f"{base_url}/me/{enrolment_id}?token={token}")


def test_find_a_group_and_enrol_without_javascript(live_app, open_browser, make_program, make_cohort):
    program = make_program(name="Skills group", description="Twelve weekly sessions of skills practice.")
    cohort = make_cohort(program=program, name="Thursday evenings", skip_dates=[date(2030, 10, 31)])
    make_cohort(program=make_program(name="Interpersonal group"), name="Monday mornings", price_amount=0)
    page = open_browser(javascript=False)

    page.goto(live_app.live_url + "/")
    expect(page.get_by_role("heading", name="Skills group")).to_be_visible()
    expect(page.get_by_role("heading", name="Interpersonal group")).to_be_visible()
    look(page, "home")

    page.get_by_role("link", name="Thursday evenings").click()
    expect(page).to_have_url(f"{live_app.live_url}/cohorts/{cohort.id}")
    expect(page.get_by_text("No session this week")).to_be_visible()
    expect(page.get_by_text("you get all your money back")).to_be_visible()
    # Without JavaScript the Time zone field keeps the group's own zone.
    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
    look(page, "cohort page")

    _fill_form(page, "Sam Rivera", "sam@example", "+1 555 0199")
    page.get_by_label("Time zone").select_option("Europe/London")
    page.get_by_role("button", name="Reserve a seat").click()
    # The form comes back with what was typed and the message beside the field.
    email = page.get_by_label("Email", exact=True)
    expect(email).to_have_value("sam@example")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email-error")).to_contain_text("Not a valid email address")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Sam Rivera")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/London")
    look(page, "cohort page with a mistake", error_status=True)

    email.fill("sam@example.org")
    page.get_by_role("button", name="Reserve a seat").click()
    _open_the_emailed_link(page, live_app.live_url, cohort.id, "sam@example.org", "no javascript")
    enrolment = _enrolment("sam@example.org")
    expect(page).to_have_url(f"{live_app.live_url}/me/{enrolment.id}")
    expect(page.get_by_role("heading", name=re.compile("Your place is held until"))).to_be_visible()
    expect(page.get_by_role("heading", name="How to pay")).to_be_visible()
    expect(page.get_by_text(payment_reference(enrolment.id))).to_be_visible()  # short, to read out
    expect(page.get_by_text("Times are in London (Europe/London)")).to_be_visible()
    look(page, "participant page, manual payment")
    assert (enrolment.status, enrolment.phone, enrolment.timezone) == (
        "pending_payment",
        "+1 555 0199",
        "Europe/London",
    )


def test_enrol_with_javascript_pay_by_card_subscribe_and_withdraw_with_the_refund(
    stripe_app, localstripe_server, open_browser, make_cohort
):
    stripe_app.config["PUBLIC_BASE_URL"] = stripe_app.live_url
    stripe_app.config["STRIPE_JS_URL"] = localstripe_server.url + "/js.stripe.com/v3/"
    cohort = make_cohort(name="Thursday evenings", capacity=4)
    page = open_browser(timezone="America/Chicago")

    page.goto(f"{stripe_app.live_url}/cohorts/{cohort.id}")
    # The visitor's own zone: the field defaults to it, and times show it too.
    expect(page.get_by_label("Time zone")).to_have_value("America/Chicago")
    expect(page.locator(".your-time").first).to_contain_text("your time")
    look(page, "cohort page in the visitor's zone")
    _fill_form(page, "Robin Lee", "robin@example")
    page.get_by_role("button", name="Reserve a seat").click()
    # The summary of what to fix takes the focus, so it is read out and in view.
    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.get_by_role("link", name=re.compile("^Email: Not a valid email address"))).to_be_visible()
    look(page, "cohort page with a mistake, javascript", error_status=True)
    page.get_by_label("Email", exact=True).fill("robin@example.org")
    page.get_by_role("button", name="Reserve a seat").click()
    _open_the_emailed_link(page, stripe_app.live_url, cohort.id, "robin@example.org", "javascript")

    enrolment = _enrolment("robin@example.org")
    expect(page).to_have_url(f"{stripe_app.live_url}/me/{enrolment.id}")
    expect(page.get_by_role("timer")).to_contain_text("left")
    pay = page.get_by_role("button", name="Pay")
    expect(pay).to_be_visible()
    look(page, "participant page, card payment")

    intent = pay_with_a_3ds_card(page, pay, localstripe_server, enrolment.id)
    expect(page.get_by_role("status")).to_contain_text("Payment received, confirming")
    expect(page.get_by_role("heading", name="You are enrolled")).to_be_visible(timeout=30_000)
    assert _enrolment("robin@example.org").status == "confirmed"

    expect(page.get_by_role("link", name="Join")).to_have_attribute("href", re.compile(r"/join/[^/]+$"))
    expect(page.get_by_role("link", name="Apple Calendar")).to_have_attribute("href", re.compile(r"^webcal://"))
    expect(page.get_by_role("link", name="Google Calendar")).to_have_attribute(
        "href", re.compile(r"^https://calendar\.google\.com/")
    )
    expect(page.get_by_role("link", name="Outlook")).to_have_attribute("href", re.compile(r"^https://outlook\."))
    with page.expect_download() as download:
        page.get_by_role("link", name="Download .ics").click()
    assert download.value.suggested_filename == "group-sessions.ics"
    assert "BEGIN:VEVENT" in open(download.value.path()).read()
    expect(page.get_by_text("You would get $360.00 back, to the card you paid with")).to_be_visible()
    look(page, "participant page, confirmed")

    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_text("You would get $360.00 back")).to_be_visible()
    look(page, "withdraw confirmation")
    page.get_by_role("button", name="Confirm withdrawal").click()
    expect(page.get_by_role("status")).to_contain_text("$360.00 is on its way back to your card")
    expect(page.get_by_role("heading", name="You have withdrawn from this group")).to_be_visible()
    expect(page.get_by_role("link", name="Join")).to_have_count(0)
    expect(page.get_by_role("link", name="Apple Calendar")).to_have_count(0)
    look(page, "participant page, withdrawn")
    wait_until(lambda: localstripe_server.refunds_for(intent), what="the card refund to reach Stripe")
    assert [r["amount"] for r in localstripe_server.refunds_for(intent)] == [36000]


def test_join_the_waitlist_get_the_offer_by_email_accept_and_subscribe(
    live_app, open_browser, make_cohort, smtp_server
):
    live_app.config["MAIL_URL"] = smtp_server.url
    cohort = make_cohort(name="Thursday evenings", capacity=1, price_amount=0)
    assert (
        live_app.test_client()
        .post(f"/api/v1/cohorts/{cohort.id}/enrolments", json={"name": "Alex Doe", "email": "alex@example.org"})
        .status_code
        == 202
    )
    holder_id, token = emailed_link(cohort.id, "alex@example.org")
    page = open_browser(timezone="Europe/Berlin")

    page.goto(live_app.live_url + "/")
    expect(page.get_by_text("Full: waitlist open")).to_be_visible()
    look(page, "home, with javascript")
    page.get_by_role("link", name="Thursday evenings").click()
    expect(page.get_by_role("button", name="Reserve a seat")).to_have_count(0)
    look(page, "cohort page, full")
    _fill_form(page, "Kim Park", "kim@example.org")
    page.get_by_role("button", name="Join the waitlist").click()
    _open_the_emailed_link(page, live_app.live_url, cohort.id, "kim@example.org", "waitlist")
    expect(page.get_by_role("heading", name="You are on the waitlist")).to_be_visible()
    expect(page.get_by_text("You are number 1 in line")).to_be_visible()
    look(page, "participant page, waitlisted")

    # A seat frees: the offer goes out by email, through the outbox, to a real SMTP server.
    assert (
        live_app.test_client()
        .post(f"/api/v1/enrolments/{holder_id}/withdraw", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 200
    )
    sender.deliver_outbox()
    offers = [m for m in smtp_server.messages if m.rcpt_tos == ["kim@example.org"] and "free" in m.message["Subject"]]
    [offer] = offers
    text = offer.message.get_body(("plain",)).get_content()
    link = re.search(rf"{re.escape(live_app.live_url)}/me/\S+\?token=\S+", text)[0]

    # Opened from the email client: a browser with no cookie for this page yet.
    mail_page = open_browser(timezone="Europe/Berlin")
    mail_page.goto(link)
    enrolment = _enrolment("kim@example.org")
    expect(mail_page).to_have_url(f"{live_app.live_url}/me/{enrolment.id}")  # the token left the address bar
    expect(mail_page.get_by_role("heading", name="A place is free for you")).to_be_visible()
    expect(mail_page.get_by_role("button", name="Decline")).to_be_visible()
    look(mail_page, "participant page, offered")
    mail_page.get_by_role("button", name="Accept").click()
    expect(mail_page.get_by_role("status")).to_contain_text("You have accepted the place")
    expect(mail_page.get_by_role("heading", name="You are enrolled")).to_be_visible()
    for name in ("Join", "Apple Calendar", "Google Calendar", "Outlook", "Download .ics"):
        expect(mail_page.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(mail_page.get_by_text("Times are in Berlin (Europe/Berlin)")).to_be_visible()
    expect(mail_page.get_by_text("You have not paid anything, so there is nothing to refund.")).to_be_visible()
    look(mail_page, "participant page, accepted")
    assert _enrolment("kim@example.org").status == "confirmed"


def test_the_form_works_from_the_keyboard_with_a_visible_focus(live_app, open_browser, make_cohort):
    cohort = make_cohort(price_amount=0)
    page = open_browser()
    page.goto(f"{live_app.live_url}/cohorts/{cohort.id}")
    page.get_by_label("Name", exact=True).focus()
    outline = page.evaluate("getComputedStyle(document.activeElement, ':focus-visible').outlineStyle")
    assert outline != "none"
    page.keyboard.type("Jo Smith")
    page.keyboard.press("Tab")
    page.keyboard.type("jo@example.org")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "timezone"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "locale"  # Language
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "[document.activeElement.textContent, getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused == ["Reserve a seat", "solid"]
    page.keyboard.press("Enter")
    _open_the_emailed_link(page, live_app.live_url, cohort.id, "jo@example.org", "keyboard")
    expect(page.get_by_role("heading", name="You are enrolled")).to_be_visible()


def test_a_bad_link_gets_a_calm_page(live_app, open_browser, make_cohort):
    page = open_browser()
    page.goto(f"{live_app.live_url}/me/enr_unknown?token=mng_cut-short")
    expect(page.get_by_role("heading", name="This link does not open your page")).to_be_visible()
    look(page, "bad link", error_status=True)
    # The way out is on the page itself: the address, then the same answer whoever asks.
    page.get_by_label("Email", exact=True).fill("sam@example.org")
    page.get_by_role("button", name="Send my link again").click()
    expect(page).to_have_url(f"{live_app.live_url}/check-email")
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text("sam@example.org")).to_be_visible()
    look(page, "bad link, link asked again")
