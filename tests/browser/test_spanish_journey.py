"""A Spanish-speaking client's whole journey in Chromium (issue 22): a browser in Spanish (es-MX, in
Mexico City) finds a group, enrols in Spanish, pays by card through localstripe's Stripe.js double,
lands on their page and opens their join link, without meeting an English word on the way.

On each page: no English word is visible (ENGLISH_WORDS, whole words of the visible text), axe finds
nothing serious, and screenshots at phone and desktop width go to tests/artifacts/ (`look`).
"""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from tests.browser.support import look, pay_with_a_3ds_card
from tests.helpers import emailed_link

pytestmark = pytest.mark.slow

# Words that would show an English page (or an English sentence left on a Spanish one).
ENGLISH_WORDS = (
    "Pay",
    "Paying",
    "Seat",
    "Session",
    "Withdraw",
    "Your",
    "your",
    "the",
    "left",
    "Join",
    "Schedule",
    "Receipt",
    "Name",
    "Email",
    "Phone",
    "and",
    "at",
)

# Records what the page asks of Stripe.js: the options of Stripe(key, options) and of elements(options).
_STRIPE_SPY = """
(() => {
  let real;
  window.__stripeAsked = [];
  Object.defineProperty(window, "Stripe", {
    configurable: true,
    set(value) { real = value; },
    get() {
      if (!real) return undefined;
      return function (key, options) {
        window.__stripeAsked.push(["Stripe", options || null]);
        const stripe = real(key, options);
        const elements = stripe.elements;
        stripe.elements = function (more) {
          window.__stripeAsked.push(["elements", more || null]);
          return elements.call(stripe, more);
        };
        return stripe;
      };
    },
  });
})();
"""


def no_english(page, where: str) -> None:
    text = page.locator("body").inner_text()
    found = sorted({w for w in ENGLISH_WORDS if re.search(rf"(?<![\w-]){w}(?![\w-])", text)})
    assert not found, f"{where}: English words {found} in {text!r}"


def _enrolment(email: str) -> Enrolment:
    db.session.rollback()  # the live server commits from its own sessions
    return db.session.scalar(select(Enrolment).where(Enrolment.email == email))


def test_a_spanish_speaker_enrols_pays_and_joins_in_spanish(
    stripe_app, localstripe_server, open_browser, make_program, make_cohort
):
    stripe_app.config["PUBLIC_BASE_URL"] = stripe_app.live_url
    stripe_app.config["STRIPE_JS_URL"] = localstripe_server.url + "/js.stripe.com/v3/"
    stripe_app.config["CLINIC_NAME"] = "Clínica Serena"
    program = make_program(
        name="Grupo de habilidades",
        description="Doce sesiones semanales de práctica.",
        calendar_title="Sesión de grupo",  # the clinic's own neutral title, shown on the receipt
    )
    cohort = make_cohort(program=program, name="Jueves por la tarde", capacity=4)
    page = open_browser(timezone="America/Mexico_City", locale="es-MX")
    page.add_init_script(_STRIPE_SPY)
    base = stripe_app.live_url

    # The clinic's groups, in Spanish.
    page.goto(base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Grupo de habilidades")).to_be_visible()
    no_english(page, "home")
    look(page, "spanish home")

    page.get_by_role("link", name="Jueves por la tarde").click()
    # The group meets at 18:00 in New York; the visitor's own time is beside it, in Spanish.
    expect(page.locator(".your-time").first).to_contain_text("en su hora")
    expect(page.get_by_label("Idioma")).to_have_value("es")
    no_english(page, "cohort page")
    look(page, "spanish cohort page")

    # A mistake is said in Spanish beside its field.
    page.get_by_label("Nombre", exact=True).fill("Ana Pérez")
    page.get_by_label("Correo electrónico", exact=True).fill("ana@example")
    page.get_by_role("button", name="Reservar un lugar").click()
    expect(page.locator("#email-error")).to_contain_text("No es una dirección de correo electrónico válida")
    no_english(page, "cohort page with a mistake")
    look(page, "spanish cohort page with a mistake", error_status=True)

    page.get_by_label("Correo electrónico", exact=True).fill("ana@example.org")
    page.get_by_role("button", name="Reservar un lugar").click()
    expect(page.get_by_role("heading", name="Revise su correo")).to_be_visible()
    no_english(page, "check your email")
    look(page, "spanish check your email")

    enrolment_id, token = emailed_link(cohort.id, "ana@example.org")
    page.goto(f"{base}/me/{enrolment_id}?token={token}")
    assert _enrolment("ana@example.org").locale == "es"
    expect(page.get_by_role("timer")).to_contain_text("quedan")
    pay = page.get_by_role("button", name="Pagar")
    expect(pay).to_be_visible()
    # Stripe's card field was asked for in the page's language.
    assert page.evaluate("window.__stripeAsked") == [["Stripe", {"locale": "es"}], ["elements", {"locale": "es"}]]
    no_english(page, "participant page, card payment")
    look(page, "spanish participant page, card payment")

    pay_with_a_3ds_card(page, pay, localstripe_server, enrolment_id)
    expect(page.get_by_role("status")).to_contain_text("Pago recibido, confirmando")
    expect(page.get_by_role("heading", name="Su inscripción está confirmada")).to_be_visible(timeout=30_000)
    no_english(page, "participant page, confirmed")
    look(page, "spanish participant page, confirmed")

    # The receipt of the payment, in Spanish too.
    page.get_by_role("link", name=re.compile("^Recibo")).first.click()
    expect(page.get_by_role("heading", name="Recibo")).to_be_visible()
    expect(page.get_by_text("Importe pagado")).to_be_visible()
    no_english(page, "receipt")
    look(page, "spanish receipt")
    page.go_back()

    join = page.get_by_role("link", name="Unirse")
    expect(join).to_have_attribute("href", re.compile(r"/join/[^/]+$"))
    join.click()
    expect(page.get_by_role("heading", name="Su sesión se abre pronto")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    no_english(page, "join page")
    look(page, "spanish join page")
