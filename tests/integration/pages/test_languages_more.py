"""Languages, second step (issue 22): a Spanish-speaking person enrols, pays and joins without meeting
an English word. The scripts' words come from the page, the pages say the API's mistakes and refusals
in the page's language, the join page, the receipt and the statement follow the person's language,
Spanish says "a la 1:00" but "a las 18:00", and error pages follow the browser."""

import json
import re
from datetime import time, timedelta
from pathlib import Path

import pytest
import time_machine
from flask_babel import force_locale

from scheduler.foundation import i18n
from scheduler.pages import field_errors
from scheduler.pages.words import page_words

ROOT = Path(__file__).resolve().parents[3]
SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
# Words that give away an English page (the browser journey checks the same on screen).
ENGLISH_WORDS = ("Pay", "Seat", "Session", "Withdraw", "Your", "the", "Receipt", "Statement", "Join")


def visible(html: str) -> str:
    """The text a reader sees: no tags, no scripts or styles, entities left as they are."""
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_no_english(html: str) -> None:
    text = visible(html)
    found = [w for w in ENGLISH_WORDS if re.search(rf"\b{w}\b", text)]
    assert not found, (found, text)


def words_of(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="page-words">(.*?)</script>', html, re.S)
    assert block, "the page carries its scripts' words"
    return json.loads(block[1])


def opened(client, enrolment) -> str:
    """The person's page, opened from their emailed link (the cookie set, the token dropped)."""
    assert client.get(f"/me/{enrolment.id}?token={enrolment.manage_token}").status_code == 303
    return f"/me/{enrolment.id}"


# ---- 1. the scripts' words -------------------------------------------------------------------------


def test_the_scripts_words_come_from_the_page_in_its_language(client, make_cohort):
    cohort = make_cohort()
    spanish = words_of(client.get(f"/cohorts/{cohort.id}", headers=SPANISH).get_data(as_text=True))
    assert spanish["language"] == "es"
    assert spanish["paying"] == "Pagando…" and spanish["confirming"] == "Pago recibido, confirmando…"
    assert spanish["your_time"] == "(%(when)s en su hora)" and spanish["weekdays"][3] == "los jueves"
    assert spanish["weekly"] == "%(weekday)s a las %(time)s" and spanish["weekly_one"] == "%(weekday)s a la %(time)s"
    english = words_of(client.get(f"/cohorts/{cohort.id}", headers=ENGLISH).get_data(as_text=True))
    assert english["language"] == "en" and english["paying"] == "Paying…"
    assert english["left_minutes"] == "(%(minutes)s:%(seconds)s left)"


@pytest.mark.parametrize("script", ["pages.js", "payment.js"])
def test_the_scripts_write_no_english_of_their_own(app, script):
    """Every word a script shows is one the page gives it: no English sentence is left in the file,
    and every word it asks for is one the page has."""
    source = (ROOT / "scheduler" / "static" / script).read_text()
    code = re.sub(r"(?m)//.*$", "", source)
    literals = "\n".join(re.findall(r'"([^"\\]*)"', code))
    for gone in ("Paying", "confirming", "could not be loaded", "did not go through", "your time", " left", "s at "):
        assert gone not in literals, gone
    with app.test_request_context("/"):
        known = set(page_words())
    asked = set(re.findall(r'say\("(\w+)"', code)) | set(re.findall(r"words\.(\w+)", code))
    asked |= {name for pair in re.findall(r'say\(\w+ \? "(\w+)" : "(\w+)"', code) for name in pair}
    assert asked and asked <= known, asked - known


# ---- 2. the API's mistakes and refusals, said in the page's language ----------------------------


def test_a_spanish_form_shows_its_mistakes_in_spanish(client, make_cohort):
    cohort = make_cohort()
    client.get(f"/cohorts/{cohort.id}", headers=SPANISH)
    form = {"name": "Ana " * 60, "email": "ana@@example.org", "timezone": "Mars/Olympus", "locale": "es"}
    page = client.post(f"/cohorts/{cohort.id}", data={**_form(client, cohort), **form}, headers=SPANISH)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "No es una dirección de correo electrónico válida" in html
    assert "Use como máximo 200 caracteres." in html and "Elija una zona horaria de la lista." in html
    assert "Not a valid" not in html and "Length must be" not in html and "IANA" not in html
    english = client.post(f"/cohorts/{cohort.id}", data={**_form(client, cohort), **form, "locale": "en"})
    assert "Not a valid email address (for example sam@example.org)." in english.get_data(as_text=True)


def _form(client, cohort) -> dict:
    page = client.get(f"/cohorts/{cohort.id}", headers=SPANISH).get_data(as_text=True)
    return {n: re.search(rf'name="{n}" value="([^"]*)"', page)[1] for n in ("csrf_token", "idempotency_key")}


def test_an_unknown_api_message_is_never_shown_in_english_on_a_spanish_page(app):
    with app.test_request_context("/"), force_locale("es"):
        said = field_errors.field_messages({"email": ["Something new the API says."], "phone": ["Not a valid string."]})
        assert said == {"email": ["Revise lo que escribió aquí."], "phone": ["Escríbalo de nuevo, por favor."]}
    with app.test_request_context("/"), force_locale("en"):
        assert field_errors.field_messages({"email": ["Something new the API says."]}) == {
            "email": ["Something new the API says."]
        }


def test_a_services_refusal_is_said_in_spanish(app):
    from types import SimpleNamespace

    from scheduler.admission import booking
    from scheduler.foundation import clock
    from scheduler.foundation.errors import Conflict

    intake = SimpleNamespace(program=SimpleNamespace(assessment_cancel_hours=24))
    with app.test_request_context("/"), pytest.raises(Conflict) as refused:  # the service's own words
        booking._check_cutoff(intake, SimpleNamespace(starts_at=clock.now() + timedelta(hours=1)), None, "cancelled")
    detail = refused.value.detail
    with app.test_request_context("/"), force_locale("es"):
        said = field_errors.refusal(detail)
        assert said.startswith("Su evaluación se puede cancelar en línea hasta 24 horas antes")
        assert "comunicarse con la clínica" in said
        taken = field_errors.refusal("That time was just taken; choose another from the free slots.")
        assert taken.startswith("Ese horario se acaba de ocupar")
        assert field_errors.refusal("Anything else at all.").startswith("No se pudo hacer")


# ---- 3. the join page -----------------------------------------------------------------------------


def test_the_join_page_speaks_the_persons_language_with_the_site_stylesheet(client, make_cohort, make_enrolment):
    cohort = make_cohort(price_amount=0)
    ana = make_enrolment(cohort, locale="es", timezone="America/Mexico_City")
    with time_machine.travel(cohort.sessions[0].starts_at - timedelta(hours=2), tick=False):
        page = client.get(f"/join/{ana.join_token}", headers=ENGLISH)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="es">' in html
    assert "Su sesión se abre pronto" in html and "a las 15:45 CST" in html  # 17:00 in New York, 15 minutes early
    assert re.search(r'<link rel="stylesheet" href="/static/site\.css\?v=\w+">', html)
    assert "Accept-Language" in page.headers["Vary"]
    assert_no_english(html)
    sam = make_enrolment(cohort, locale="en")  # chose English: a Spanish browser does not change it
    with time_machine.travel(cohort.sessions[0].starts_at - timedelta(hours=2), tick=False):
        english = client.get(f"/join/{sam.join_token}", headers=SPANISH).get_data(as_text=True)
    assert '<html lang="en">' in english and "Your session opens soon" in english


def test_an_unknown_join_link_follows_the_browser(client):
    html = client.get("/join/jn_nothing_here", headers=SPANISH).get_data(as_text=True)
    assert '<html lang="es">' in html and "No reconocemos este enlace" in html
    assert_no_english(html)


# ---- 4. the receipt and the statement -------------------------------------------------------------


def test_the_receipt_and_the_statement_are_in_the_persons_language(client, make_cohort, make_enrolment):
    cohort = make_cohort()
    ana = make_enrolment(cohort, locale="es", name="Ana Pérez", amount_paid=36000)
    page = opened(client, ana)
    mine = client.get(page, headers=ENGLISH).get_data(as_text=True)
    assert "Sus pagos" in mine and "(Efectivo)" in mine
    [receipt] = re.findall(r'href="(/me/[^"]+/receipts/[^"]+)"', mine)
    shown = client.get(receipt, headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="es">' in shown and "Recibo" in shown and "Efectivo" in shown
    assert "12 sesiones, del 3 de octubre de 2030 al 19 de diciembre de 2030" in shown and "$360.00" in shown
    assert "Sesión de grupo" in shown  # the program's calendar title is in the clinic's language
    assert_no_english(shown)
    statement = client.get(f"{page}/statement", headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="es">' in statement and "Constancia de servicios" in statement
    assert "No hay ninguna sesión con asistencia registrada" in statement and "Descargue el PDF" in statement
    assert_no_english(statement)


def test_the_statement_pdf_is_in_the_persons_language(client, make_cohort, make_enrolment):
    import io

    from pypdf import PdfReader

    ana = make_enrolment(make_cohort(), locale="es", name="Ana Pérez", amount_paid=36000)
    page = opened(client, ana)
    pdf = client.get(f"{page}/statement.pdf", headers=ENGLISH)
    assert pdf.status_code == 200
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Constancia de servicios" in text and "Fechas de los servicios" in text and "Total pagado" in text
    assert "Statement" not in text and "Payments" not in text


def test_the_consoles_receipt_of_a_spanish_speaker_is_the_same_one(client, make_staff, make_cohort, make_enrolment):
    """The receipt is the person's: printed from the console, it is in their language too."""
    from sqlalchemy import select

    from scheduler.foundation.extensions import db
    from scheduler.payments.models import Payment
    from tests.desk_support import sign_in

    sign_in(client, make_staff("front_desk", name="Fran Desk")[0])
    ana = make_enrolment(make_cohort(), locale="es", amount_paid=36000)
    payment_id = db.session.scalar(select(Payment.id).where(Payment.enrolment_id == ana.id))
    shown = client.get(f"/desk/payments/{payment_id}/receipt").get_data(as_text=True)
    assert '<html lang="es">' in shown and "Importe pagado" in shown


# ---- 5. "a la 1:00", "a las 13:00" ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "spanish", "english"),
    [
        (time(1, 0), "Los jueves a la 1:00", "Thursdays at 1:00 AM"),
        (time(1, 30), "Los jueves a la 1:30", "Thursdays at 1:30 AM"),
        (time(13, 0), "Los jueves a las 13:00", "Thursdays at 1:00 PM"),
        (time(0, 30), "Los jueves a las 0:30", "Thursdays at 12:30 AM"),
    ],
)
def test_spanish_says_a_la_for_one_oclock_only(client, make_cohort, start, spanish, english):
    cohort = make_cohort(start_time=start)
    html = client.get(f"/cohorts/{cohort.id}", headers=SPANISH).get_data(as_text=True)
    assert spanish in html
    day = "jueves, 3 de octubre de 2030 " + spanish.split(" ", 2)[2]  # the first session, in full
    assert day in html
    assert english in client.get(f"/cohorts/{cohort.id}", headers=ENGLISH).get_data(as_text=True)


def test_when_text_agrees_with_the_hour(app):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/Mexico_City")
    with app.test_request_context("/"), force_locale("es"):
        assert i18n.when_text(datetime(2030, 10, 3, 1, 5, tzinfo=zone)).endswith("a la 1:05 CST")
        assert i18n.when_text(datetime(2030, 10, 3, 21, 0, tzinfo=zone)).endswith("a las 21:00 CST")


# ---- 6. error pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/cohorts/coh_nothing", "/nothing-here", "/me/enr_nothing"])
def test_error_pages_speak_spanish_to_a_spanish_browser(client, path):
    response = client.get(path, headers={**SPANISH, "Accept": "text/html"})
    assert response.status_code in (403, 404)
    html = response.get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "No pudimos encontrar esta página" in html or "Este enlace no abre su página" in html
    assert_no_english(html)


# ---- the clinic's default texts --------------------------------------------------------------------


def test_the_default_refund_note_is_translated_and_a_clinics_own_is_shown_as_written(app, client, make_cohort):
    cohort = make_cohort()
    html = client.get(f"/cohorts/{cohort.id}", headers=SPANISH).get_data(as_text=True)
    assert "Los grupos son pequeños" in html and "The groups are small" not in html
    assert "The groups are small" in client.get(f"/cohorts/{cohort.id}", headers=ENGLISH).get_data(as_text=True)
    app.config["REFUND_POLICY_NOTE"] = "Nuestra nota propia."
    assert "Nuestra nota propia." in client.get(f"/cohorts/{cohort.id}", headers=SPANISH).get_data(as_text=True)


def test_a_spanish_page_names_the_groups_time_zone_in_spanish(client, make_cohort):
    cohort = make_cohort(timezone="America/Mexico_City")

    spanish = client.get(f"/cohorts/{cohort.id}", headers=SPANISH).get_data(as_text=True)
    english = client.get(f"/cohorts/{cohort.id}", headers=ENGLISH).get_data(as_text=True)

    assert "Los horarios están en la hora de Ciudad de México (America/Mexico_City)." in visible(spanish)
    assert "Times are Mexico City time (America/Mexico_City)." in visible(english)
