"""The staff console in Spanish, in Chromium (issue 22): a front-desk member whose browser speaks
Spanish signs in, reads Today and a group's roster, takes a payment (with a mistake first, said in
Spanish beside the field), and then chooses English on their account page, which the console keeps.

On each Spanish page: no English word is visible (tests/console_spanish.py),
axe finds nothing serious, and screenshots at phone and desktop width go to tests/artifacts/ (`look`).
Controls are found by their Spanish names as the catalogue gives them (`es`).
"""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from scheduler.staff import services as staff_services
from scheduler.staff.models import Staff
from tests.browser.support import look
from tests.console_spanish import english_words, es
from tests.helpers import enrol_opened

pytestmark = pytest.mark.slow


def no_english(page, where: str) -> None:
    text = page.locator("body").inner_text()
    found = english_words(text)
    assert not found, f"{where}: English words {found} in {text!r}"


def test_a_spanish_speaking_front_desk_runs_a_group_and_can_choose_english(
    live_app, open_browser, make_staff, make_program, make_cohort
):
    member, _ = make_staff("front_desk", name="Lucía Mesa")
    program = make_program(name="Habilidades DBT")
    cohort = make_cohort(program=program, name="Jueves por la tarde", capacity=2, price_amount=36000)
    enrol_opened(cohort.id, {"name": "Ana Pérez", "email": "ana@example.org", "locale": "es"})
    enrol_opened(cohort.id, {"name": "Beto Ruiz", "email": "beto@example.org", "locale": "es"})
    enrol_opened(cohort.id, {"name": "Carla Díaz", "email": "carla@example.org", "locale": "es"})
    enrol_opened(cohort.id, {"name": "Darío Gil", "email": "dario@example.org", "locale": "es"})
    page = open_browser(timezone="America/Mexico_City", locale="es-MX")
    base = live_app.live_url

    # Signed out: the sign-in page, in the browser's language.
    page.goto(base + "/desk/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name=es("Sign in to the staff console"))).to_be_visible()
    no_english(page, "sign-in")
    look(page, "spanish console sign-in")

    page.goto(staff_services.issue_sign_in_link(member.email))
    page.get_by_role("button", name=es("Sign in"), exact=True).click()
    expect(page.get_by_role("heading", name=es("Today"), exact=True)).to_be_visible()
    no_english(page, "today")
    look(page, "spanish console today")

    # The group's roster and waitlist.
    page.goto(f"{base}/desk/cohorts/{cohort.id}")
    expect(page.get_by_role("heading", name="Jueves por la tarde")).to_be_visible()
    expect(page.get_by_role("button", name=es("Move up")).first).to_be_visible()
    no_english(page, "roster")
    look(page, "spanish console roster")

    # A payment at the desk: an amount written wrongly is said in Spanish beside the field.
    page.get_by_role("link", name="Ana Pérez").click()
    expect(page.get_by_role("heading", name="Ana Pérez")).to_be_visible()
    amount = page.get_by_label(re.compile("^" + es("Amount")))
    amount.fill("tres")
    page.get_by_role("button", name=es("Confirm payment")).click()
    expect(page.get_by_text(es("Give an amount such as %(example)s.") % {"example": "360 o 360.00"})).to_be_visible()
    no_english(page, "enrolment with a mistake")
    look(page, "spanish console payment with a mistake", error_status=True)

    page.get_by_label(re.compile("^" + es("Amount"))).fill("360.00")
    page.get_by_role("button", name=es("Confirm payment")).click()
    expect(page.get_by_role("status")).to_contain_text("Ana Pérez")
    db.session.rollback()  # the live server commits from its own sessions
    ana = db.session.scalar(select(Enrolment).where(Enrolment.email == "ana@example.org"))
    assert (ana.status, ana.amount_paid) == ("confirmed", 36000)
    no_english(page, "enrolment confirmed")
    look(page, "spanish console payment taken")

    # The member prefers English: the console keeps it, whatever the browser says.
    page.goto(base + "/desk/account")
    page.get_by_label(es("Language"), exact=True).select_option("en")
    page.get_by_role("button", name=es("Save language")).click()
    expect(page.get_by_role("status")).to_contain_text("The console now speaks English.")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(base + "/desk/")
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    db.session.rollback()
    assert db.session.get(Staff, member.id).locale == "en"
    look(page, "console after choosing english")
