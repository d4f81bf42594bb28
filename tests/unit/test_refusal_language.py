"""A service's refusal: the API answers it in English (`detail`), a screen in its reader's language (`said`)."""

from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from scheduler.enrolment.models import status_word
from scheduler.foundation import i18n
from scheduler.foundation.errors import Conflict


def _app() -> Flask:
    app = Flask(__name__)
    i18n.init_app(app)
    return app


def test_a_refusal_raised_on_a_spanish_screen_stays_english_for_the_api():
    with _app().app_context(), force_locale("es"):
        refused = Conflict(_l("This session was already cancelled."))  # a sentence the catalogue has
        assert refused.detail == "This session was already cancelled."
        assert str(refused) == "This session was already cancelled."
        assert refused.said() == "Esta sesión ya estaba cancelada."


def test_a_refusal_naming_a_status_keeps_the_code_in_english_and_says_a_word_in_spanish():
    with _app().app_context(), force_locale("es"):
        refused = Conflict(
            _l(
                "Only a waitlisted enrolment can be moved; this one is %(status)s.",
                status=status_word("pending_payment"),
            )
        )
        assert refused.detail == "Only a waitlisted enrolment can be moved; this one is pending_payment."
        assert refused.said() == "Solo se puede mover una inscripción en lista de espera; esta está pendiente de pago."
        assert status_word("someday") == "someday"  # a status with no word is said as its code


def test_a_plain_string_refusal_is_said_as_it_is():
    refused = Conflict("No seat is free.")
    assert refused.detail == refused.said() == "No seat is free."
