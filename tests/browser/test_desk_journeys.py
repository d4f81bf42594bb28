"""The staff console in Chromium, every control found by its role and accessible name.

Sign in with a link read from a real SMTP server; see a cohort's numbers; run the waitlist
and take a payment from the keyboard; offer a seat; transfer; withdraw with a partial
refund; read the audit trail with names; resend a message; a facilitator sees their own
cohort and not another's; a front-desk member cannot reach staff management. axe-core
checks every page and screenshots go to tests/artifacts/ (tests/browser/support.py).
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.enrolment.models import Enrolment
from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from scheduler.notifications import sender
from scheduler.staff import services as staff_services
from tests.browser.support import look
from tests.helpers import enrol_opened, handle_inbox

pytestmark = pytest.mark.slow


def _sign_in(page, member) -> None:
    """Open a one-time link (as `flask staff login-link` prints it) and press Sign in."""
    page.goto(staff_services.issue_sign_in_link(member.email))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _enrolment(email: str) -> Enrolment:
    db.session.rollback()  # the live server commits from its own sessions
    return db.session.scalar(select(Enrolment).where(Enrolment.email == email))


def _row(page, text: str):
    return page.get_by_role("row").filter(has_text=text)


def test_sign_in_with_a_link_from_email_see_a_cohorts_numbers_and_sign_out(
    live_app, open_browser, make_staff, make_cohort, smtp_server
):
    live_app.config["MAIL_URL"] = smtp_server.url
    member, _ = make_staff("front_desk", name="Fran Desk")
    cohort = make_cohort(name="Thursday evenings", capacity=3)
    for n, name in enumerate(("Sam Rivera", "Kim Park", "Alex Doe", "Robin Lee")):
        enrol_opened(cohort.id, {"name": name, "email": f"p{n}@example.org"})
    page = open_browser()

    page.goto(live_app.live_url + "/desk/")
    expect(page).to_have_url(re.compile(r"/desk/login\?next="))
    expect(page.get_by_role("heading", name="Sign in to the staff console")).to_be_visible()
    look(page, "desk sign-in")
    page.get_by_label("Email").fill("fran")
    page.get_by_role("button", name="Send sign-in link").click()
    expect(page.get_by_text("Not a valid email address")).to_be_visible()
    look(page, "desk sign-in with a mistake", error_status=True)
    page.get_by_label("Email").fill(member.email)
    page.get_by_role("button", name="Send sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    look(page, "desk sign-in link sent")

    handle_inbox()  # the worker carries the request out
    sender.deliver_outbox()
    [mail] = [m for m in smtp_server.messages if m.rcpt_tos == [member.email]]
    link = re.search(rf"{re.escape(live_app.live_url)}/desk/login/\S+", mail.message.get_body(("plain",)).get_content())
    mail_page = open_browser()
    mail_page.goto(link[0])
    expect(mail_page.get_by_role("heading", name="Sign in as Fran Desk")).to_be_visible()
    look(mail_page, "desk sign-in confirm")
    mail_page.get_by_role("button", name="Sign in").click()
    expect(mail_page.get_by_role("heading", name="Today")).to_be_visible()
    expect(mail_page.get_by_role("status")).to_contain_text("Signed in as Fran Desk")
    row = _row(mail_page, "Thursday evenings")
    expect(row.get_by_role("cell").nth(2)).to_contain_text("3 / 3")  # seats taken / capacity
    expect(row.get_by_role("cell").nth(3)).to_have_text("1")  # waitlist
    expect(row.get_by_role("cell").nth(4)).to_contain_text("3")  # held for payment
    look(mail_page, "desk today")

    mail_page.get_by_role("link", name="Thursday evenings").first.click()
    expect(mail_page.get_by_role("heading", name="Thursday evenings", level=1)).to_be_visible()
    stats = mail_page.get_by_role("definition")
    expect(stats.first).to_have_text("3 / 3")
    expect(mail_page.get_by_role("link", name="Export the roster (CSV)")).to_be_visible()
    expect(mail_page.get_by_role("button", name="Offer a seat")).to_have_count(1)
    look(mail_page, "desk cohort")

    # The link was spent: opening it again says so.
    again = open_browser()
    again.goto(link[0])
    expect(again.get_by_role("heading", name="This sign-in link no longer works")).to_be_visible()
    look(again, "desk sign-in link spent", error_status=True)

    mail_page.get_by_role("button", name="Sign out").click()
    expect(mail_page.get_by_role("heading", name="Sign in to the staff console")).to_be_visible()
    expect(mail_page.get_by_role("status")).to_contain_text("You have signed out")
    mail_page.goto(live_app.live_url + "/desk/")
    expect(mail_page).to_have_url(re.compile(r"/desk/login"))


def test_the_waitlist_is_reordered_and_a_seat_offered_from_the_keyboard(
    live_app, open_browser, make_staff, make_cohort, make_enrolment
):
    member, _ = make_staff("front_desk", name="Fran Desk")
    # A group that has started: a freed seat waits for the desk to choose who gets it.
    start = (clock.now() - timedelta(days=2)).date()
    cohort = make_cohort(name="Running group", capacity=2, price_amount=0, start_date=start)
    make_enrolment(cohort, status="confirmed")
    for rank, name in enumerate(("Ann", "Ben", "Cat"), start=1):
        make_enrolment(cohort, status="waitlisted", email=f"{name.lower()}@example.org", waitlist_rank=rank, name=name)
    page = open_browser()
    _sign_in(page, member)
    page.goto(f"{live_app.live_url}/desk/cohorts/{cohort.id}")
    waiting = page.locator("ol.waitlist > li")
    expect(waiting).to_have_count(3)

    # Cat moves up twice: Enter on the focused button; the page comes back with the focus on it.
    page.locator("ol.waitlist > li", has_text="Cat").get_by_role("button", name="Move up").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Cat is now number 2 in the waitlist.")
    moved_up = page.locator("ol.waitlist > li", has_text="Cat").get_by_role("button", name="Move up")
    expect(moved_up).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Cat is now number 1 in the waitlist.")
    expect(waiting.first).to_contain_text("Cat")
    # Ann to the end by typing her position.
    ann = page.locator("ol.waitlist > li", has_text="Ann")
    ann.get_by_label("Position").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Ann is now number 3 in the waitlist.")
    expect(waiting.nth(0)).to_contain_text("Cat")
    expect(waiting.nth(1)).to_contain_text("Ben")
    expect(waiting.nth(2)).to_contain_text("Ann")
    look(page, "desk cohort after reordering")

    # A position out of range is named beside the field.
    page.locator("ol.waitlist > li", has_text="Ben").get_by_label("Position").fill("7")
    page.locator("ol.waitlist > li", has_text="Ben").get_by_label("Position").press("Enter")
    expect(page.get_by_text("The waitlist has 3 people; give 1 to 3.")).to_be_visible()
    look(page, "desk cohort with a wrong position", error_status=True)

    # The free seat goes to Ben, out of turn.
    page.locator("ol.waitlist > li", has_text="Ben").get_by_role("button", name="Offer a seat").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("A seat is offered to Ben until")
    assert _enrolment("ben@example.org").status == "offered"
    assert _enrolment("cat@example.org").status == "waitlisted"
    expect(page.get_by_text("Offered a seat and deciding:")).to_be_visible()


def test_confirm_a_payment_by_keyboard_transfer_withdraw_with_a_partial_refund_and_resend(
    live_app, open_browser, make_staff, make_program, make_cohort, smtp_server
):
    live_app.config["MAIL_URL"] = smtp_server.url
    member, _ = make_staff("front_desk", name="Fran Desk")
    program = make_program(name="Skills group")
    source = make_cohort(program=program, name="Thursday evenings")
    target = make_cohort(program=program, name="Tuesday mornings")
    person = enrol_opened(source.id, {"name": "Sam Rivera", "email": "sam@example.org"})
    page = open_browser()
    _sign_in(page, member)

    # Find the person from Today's search field.
    page.get_by_role("searchbox", name="Search people").fill("rivera")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("1 enrolment matching"))).to_be_visible()
    look(page, "desk people search")
    page.get_by_role("link", name="Sam Rivera").click()
    expect(page.get_by_role("heading", name="Sam Rivera")).to_be_visible()
    look(page, "desk enrolment, pending payment")

    # A payment taken on the phone, without the mouse: Method, Amount, Reference, Enter.
    page.get_by_label("Method").focus()
    page.keyboard.press("ArrowDown")  # cash -> check
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("360.00")
    page.keyboard.press("Tab")
    page.keyboard.type("Check 1042")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Payment of $360.00 recorded; Sam Rivera is confirmed.")
    done = _enrolment("sam@example.org")
    assert (done.status, done.amount_paid, done.payment_method) == ("confirmed", 36000, "check")
    look(page, "desk enrolment, confirmed")

    # Transfer to the group with a free seat.
    page.get_by_label("Move to", exact=True).select_option(target.id)
    page.get_by_role("button", name="Transfer").click()
    expect(page.get_by_role("status")).to_contain_text("Sam Rivera moved to Tuesday mornings")
    assert _enrolment("sam@example.org").cohort.name == "Tuesday mornings"

    # Resend the confirmation email once it has gone out.
    sender.deliver_outbox()
    page.reload()
    confirmation = page.get_by_role("row").filter(has_text="Enrolment confirmed").first
    expect(confirmation).to_contain_text("Sent")
    confirmation.get_by_role("button", name="Resend").click()
    expect(page.get_by_role("status")).to_contain_text("“Enrolment confirmed” is queued to be sent again.")
    sender.deliver_outbox()
    assert sum(1 for m in smtp_server.messages if "enrolled" in m.message["Subject"]) == 2

    # Withdraw with a partial refund (the policy pre-fills the full 360.00).
    refund = page.get_by_label("Refund (USD)")
    expect(refund).to_have_value("360.00")
    refund.fill("500")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_text("$360.00 was paid; the refund cannot be more than that.")).to_be_visible()
    expect(page.get_by_label("Refund (USD)")).to_have_attribute("aria-invalid", "true")
    look(page, "desk enrolment, refund too large", error_status=True)
    page.get_by_label("Refund (USD)").fill("100.00")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("status")).to_contain_text("Sam Rivera is withdrawn; $100.00 is refunded")
    assert _enrolment("sam@example.org").status == "withdrawn"

    # The history names who did what.
    history = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="By"))
    for action in ("Payment confirmed at the desk", "Transferred to another cohort", "Message sent again", "Withdrawn"):
        expect(history.get_by_role("row").filter(has_text=action)).to_contain_text("Fran Desk")
    expect(history.get_by_role("row").filter(has_text="Enrolled")).to_contain_text("The participant")
    expect(page.get_by_role("table", name="Refunds")).to_contain_text("$100.00")
    look(page, "desk enrolment, withdrawn")
    assert person.id == done.id


def test_a_facilitator_sees_their_cohort_and_not_another(
    live_app, open_browser, make_staff, make_cohort, make_enrolment
):
    fay, _ = make_staff("facilitator", name="Fay Cilitator")
    mine = make_cohort(name="Fay's group", facilitator_ids=[fay.id])
    other = make_cohort(name="Another group")
    make_enrolment(mine, status="confirmed", amount_paid=36000, payment_method="cash")
    page = open_browser()
    _sign_in(page, fay)
    expect(page.get_by_role("heading", name="Your groups")).to_be_visible()
    expect(page.get_by_role("link", name="Fay's group")).to_be_visible()
    expect(page.get_by_role("link", name="Another group")).to_have_count(0)
    expect(page.get_by_role("searchbox", name="Search people")).to_have_count(0)
    look(page, "desk today, facilitator")
    page.get_by_role("link", name="Fay's group").click()
    expect(page.get_by_role("columnheader", name="Paid")).to_have_count(0)
    expect(page.get_by_role("link", name="https://video.example/j/123")).to_be_visible()
    expect(page.get_by_role("link", name="Subscribe to the cohort calendar")).to_have_attribute(
        "href", re.compile(r"^webcal://.*/calendar/cohorts/")
    )
    expect(page.get_by_role("heading", name="Attendance")).to_be_visible()
    look(page, "desk cohort, facilitator")
    page.goto(f"{live_app.live_url}/desk/cohorts/{other.id}")
    expect(page.get_by_role("heading", name="This page is not available to you")).to_be_visible()
    look(page, "desk 403", error_status=True)


def test_a_front_desk_member_cannot_reach_staff_management_and_an_admin_can(
    live_app, open_browser, make_staff, make_program
):
    desk_member, _ = make_staff("front_desk", name="Fran Desk")
    admin, _ = make_staff("admin", name="Ada Admin")
    make_program(name="Skills group")
    page = open_browser()
    _sign_in(page, desk_member)
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Staff")).to_have_count(0)
    page.goto(live_app.live_url + "/desk/staff")
    expect(page.get_by_role("heading", name="This page is not available to you")).to_be_visible()
    look(page, "desk staff refused to the front desk", error_status=True)

    # API tokens of one's own, from My account.
    page.goto(live_app.live_url + "/desk/account")
    page.get_by_label("Token name").fill("Report script")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Copy it now: it is not shown again.")).to_be_visible()
    look(page, "desk account with a new token")

    admin_page = open_browser()
    _sign_in(admin_page, admin)
    admin_nav = admin_page.get_by_role("navigation", name="Console")
    admin_nav.get_by_role("link", name="Staff").click()
    admin_page.get_by_label("Name", exact=True).fill("Fay Cilitator")
    admin_page.get_by_label("Email", exact=True).fill("fay@clinic.test")
    admin_page.get_by_label("Role", exact=True).select_option("facilitator")
    admin_page.get_by_role("button", name="Add staff member").click()
    expect(admin_page.get_by_role("status")).to_contain_text("Fay Cilitator can now sign in")
    fran = admin_page.get_by_role("row").filter(has_text="Fran Desk")
    fran.get_by_label("Role for Fran Desk").select_option("admin")
    fran.get_by_role("button", name="Change role").click()
    expect(admin_page.get_by_role("status")).to_contain_text("Fran Desk is now Admin")
    expect(admin_page.get_by_role("table", name="Staff accounts")).to_contain_text("fay@clinic.test")
    expect(admin_page.get_by_role("row").filter(has_text="Role changed")).to_contain_text("Ada Admin")
    look(admin_page, "desk staff")
    admin_nav.get_by_role("link", name="Programs").click()
    expect(admin_page.get_by_role("heading", name="New program")).to_be_visible()
    look(admin_page, "desk programs")
    admin_nav.get_by_role("link", name="New cohort").click()
    look(admin_page, "desk new cohort form")
    admin_page.get_by_label("Program").select_option(label="Skills group")
    admin_page.get_by_label("Name", exact=True).fill("Thursday evenings")
    admin_page.get_by_label("First session date").fill("2030-10-03")
    admin_page.get_by_label("Start time").fill("18:00")
    admin_page.get_by_label("Status").select_option("open")
    admin_page.get_by_role("button", name="Create cohort").click()
    expect(admin_page.get_by_role("heading", name="Thursday evenings", level=1)).to_be_visible()
    expect(admin_page.get_by_role("status")).to_contain_text("with 12 sessions")
    look(admin_page, "desk new cohort created")
    admin_page.get_by_role("link", name="Cancel this cohort…").click()
    look(admin_page, "desk cancel cohort step")
