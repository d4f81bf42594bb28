"""A service's refusal: the API answers it in English (`detail`), a screen in its reader's language (`said`)."""

from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

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


def test_a_refusal_with_values_keeps_its_english_words_byte_for_byte():
    with _app().app_context(), force_locale("es"):
        refused = Conflict(_l("Only a waitlisted enrolment can be moved; this one is %(status)s.", status="confirmed"))
        assert refused.detail == "Only a waitlisted enrolment can be moved; this one is confirmed."
        assert isinstance(refused.said(), str) and "confirmed" in refused.said()


def test_a_plain_string_refusal_is_said_as_it_is():
    refused = Conflict("No seat is free.")
    assert refused.detail == refused.said() == "No seat is free."
