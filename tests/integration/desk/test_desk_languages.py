"""The console in the member's language (issue 22, API.md "Late joiners and languages"): a browser
in Spanish gets every console screen in Spanish; a member's own choice on their account page wins
over the browser, and is kept; a service's refusal is said in the console's language while the
JSON API keeps answering in English."""

import re

import pytest

from scheduler.foundation.extensions import db
from scheduler.staff.models import Staff
from tests.console_spanish import english_words, es
from tests.desk_support import csrf_of, post_form, sign_in

SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def visible(html: str) -> str:
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def english_in(html: str) -> list[str]:
    return english_words(visible(html))


@pytest.fixture
def spanish_desk(client, make_staff):
    member, _ = make_staff("admin", name="Lucía Mesa")
    sign_in(client, member)
    client.member = member
    return client


def test_a_spanish_browser_gets_every_console_screen_in_spanish(
    spanish_desk, make_program, make_cohort, make_enrolment
):
    program = make_program(name="Habilidades DBT")
    cohort = make_cohort(program=program, name="Jueves por la tarde", capacity=2, price_amount=36000)
    ana = make_enrolment(cohort, status="pending_payment", name="Ana Pérez")
    beto = make_enrolment(cohort, status="confirmed", name="Beto Ruiz", amount_paid=36000)
    make_enrolment(cohort, status="waitlisted", name="Carla Díaz")
    make_enrolment(cohort, status="waitlisted", name="Darío Gil")
    session_id = cohort.sessions[0].id

    for path in (
        "/desk/",
        "/desk/week",
        f"/desk/cohorts/{cohort.id}",
        f"/desk/enrolments/{ana.id}",
        f"/desk/enrolments/{beto.id}",
        f"/desk/enrolments/{beto.id}/programme",
        f"/desk/enrolments/{beto.id}/statement",
        f"/desk/cohorts/{cohort.id}/cancel",
        "/desk/availability",
        f"/desk/sessions/{session_id}/attendance",
        "/desk/people?q=Ana",
        "/desk/programs",
        "/desk/cohorts/new",
        "/desk/staff",
        "/desk/refunds",
        "/desk/intakes",
        "/desk/account",
    ):
        page = spanish_desk.get(path, headers=SPANISH)
        html = page.get_data(as_text=True)
        assert page.status_code == 200, (path, page.status_code)
        assert '<html lang="es"' in html, path
        assert english_in(html) == [], (path, english_in(html), visible(html))
    missing = spanish_desk.get("/desk/nope", headers={**SPANISH, "Accept": "text/html"})
    assert missing.status_code == 404 and '<html lang="es"' in missing.get_data(as_text=True)
    assert english_in(missing.get_data(as_text=True)) == []
    roster = visible(spanish_desk.get(f"/desk/cohorts/{cohort.id}", headers=SPANISH).get_data(as_text=True))
    assert es("Move up") in roster and es("Move down") in roster


def test_the_sign_in_page_follows_the_browser(client):
    html = client.get("/desk/login", headers=SPANISH).get_data(as_text=True)
    assert '<html lang="es"' in html and es("Send sign-in link") in html
    assert english_in(html) == [], english_in(html)
    assert "Send sign-in link" in client.get("/desk/login", headers=ENGLISH).get_data(as_text=True)


def test_a_members_choice_wins_over_the_browser_and_is_kept(desk):
    answer = post_form(desk, "/desk/account", "/desk/account/language", {"locale": "es"}, headers=ENGLISH)
    assert answer.status_code == 303
    db.session.expire_all()
    assert db.session.get(Staff, desk.member.id).locale == "es"
    page = desk.get("/desk/account", headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="es"' in page and "La consola ahora está en Español." in visible(page)
    assert english_in(page) == [], english_in(page)

    # Back to the browser's language: an English browser gets English again.
    post_form(desk, "/desk/account", "/desk/account/language", {"locale": ""}, headers=ENGLISH)
    page = desk.get("/desk/", headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="en"' in page and "Today" in visible(page)
    db.session.expire_all()
    assert db.session.get(Staff, desk.member.id).locale is None


def test_a_language_not_offered_is_refused_beside_the_field(desk):
    page = desk.get("/desk/account", headers=ENGLISH)
    answer = desk.post("/desk/account/language", data={"locale": "fr", "csrf_token": csrf_of(page)}, headers=ENGLISH)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="console-language-error"' in html and "Choose English or Español." in visible(html)
    db.session.expire_all()
    assert db.session.get(Staff, desk.member.id).locale is None


def test_a_refusal_is_said_in_the_consoles_language_and_the_api_keeps_english(
    spanish_desk, auth, make_cohort, make_enrolment
):
    cohort = make_cohort(capacity=1)
    make_enrolment(cohort, status="confirmed", name="Beto Ruiz")
    carla = make_enrolment(cohort, status="waitlisted", name="Carla Díaz")
    refusal = "No seat is free in this cohort; raise the capacity or wait for one to free."

    answer = post_form(
        spanish_desk,
        f"/desk/enrolments/{carla.id}",
        f"/desk/enrolments/{carla.id}/offer",
        {"back": "enrolment"},
        headers=SPANISH,
    )
    shown = visible(answer.get_data(as_text=True))
    assert answer.status_code == 409
    assert es(refusal) in shown and refusal not in shown

    api = spanish_desk.post(f"/api/v1/enrolments/{carla.id}/offer", headers={**auth("front_desk"), **SPANISH})
    assert api.status_code == 409 and api.get_json()["detail"] == refusal


def test_the_intake_queue_and_an_intake_are_in_spanish(client, make_staff, make_program, make_cohort):
    from tests.integration.admission.test_intakes import requested

    program = make_program(admission="intake", name="Habilidades emocionales")
    make_cohort(program=program, capacity=1, name="Martes por la tarde")
    intake_id, _ = requested(client, program, "ana@example.org", name="Ana Ruiz", locale="es")
    desk = client.application.test_client()
    sign_in(desk, make_staff("front_desk")[0])

    for path in ("/desk/intakes", f"/desk/intakes/{intake_id}"):
        page = desk.get(path, headers=SPANISH)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and '<html lang="es"' in html, path
        assert english_in(html) == [], (path, english_in(html), visible(html))


def test_a_mistake_the_console_words_itself_is_said_beside_its_field_in_spanish(
    spanish_desk, make_cohort, make_enrolment
):
    cohort = make_cohort(price_amount=36000)
    beto = make_enrolment(cohort, status="confirmed", name="Beto Ruiz", amount_paid=36000)

    answer = post_form(
        spanish_desk,
        f"/desk/enrolments/{beto.id}",
        f"/desk/enrolments/{beto.id}/withdraw",
        {"refund_amount": "999.00"},
        headers=SPANISH,
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'id="withdraw-refund-error"' in html
    said = es("%(paid)s was paid; the refund cannot be more than that.") % {"paid": "$360.00"}
    assert said in visible(html)
