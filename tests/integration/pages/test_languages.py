"""Languages on the public and participant pages (issue 22, first step): a page follows the person's
choice (the form's Language, kept on the enrolment as `locale`), then Accept-Language, then the
clinic's CLINIC_LOCALE; `<html lang>` says which. The catalogue covers every marked string."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from scheduler.foundation.i18n import TRANSLATIONS
from tests.helpers import cohort_form, emailed_link, enrol, enrolled

ROOT = Path(__file__).resolve().parents[3]
SPANISH = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_home_page_speaks_spanish_to_a_spanish_browser_and_english_otherwise(client, make_cohort):
    make_cohort(capacity=3)
    spanish = _html(client.get("/", headers=SPANISH))
    assert '<html lang="es">' in spanish
    assert "Grupos abiertos a inscripción" in spanish and "Quedan 3 lugares" in spanish
    assert "Los jueves a las 18:00 EDT" in spanish and "Ir al contenido principal" in spanish
    english = client.get("/")  # no Accept-Language: the clinic's language (en_US)
    assert '<html lang="en">' in _html(english) and "Groups open for enrolment" in _html(english)
    assert "3 seats left" in _html(english) and "Thursdays at 6:00 PM EDT" in _html(english)
    assert "Accept-Language" in english.headers["Vary"]  # a shared cache keeps one copy per language


def test_a_cohort_page_in_spanish_dates_and_all(client, make_cohort):
    cohort = make_cohort(capacity=1)
    html = _html(client.get(f"/cohorts/{cohort.id}", headers=SPANISH))
    assert '<html lang="es">' in html
    assert "jueves, 3 de octubre de 2030 a las 18:00 EDT" in html  # the first session
    assert "Reservar un lugar" in html and "Zona horaria" in html
    # The Language field defaults to the page's language.
    assert re.search(r'<option value="es" lang="es" selected>Español</option>', html)
    english = _html(client.get(f"/cohorts/{cohort.id}"))
    assert "Reserve a seat" in english and "Thursday, October 3, 2030 at 6:00 PM EDT" in english
    assert re.search(r'<option value="en" lang="en" selected>English</option>', english)


def test_the_clinic_locale_decides_when_the_browser_names_no_shipped_language(app, client, make_cohort):
    cohort = make_cohort()
    app.config["CLINIC_LOCALE"] = "es_MX"
    assert '<html lang="es">' in _html(client.get(f"/cohorts/{cohort.id}", headers={"Accept-Language": "fr"}))
    assert '<html lang="en">' in _html(client.get(f"/cohorts/{cohort.id}", headers=ENGLISH))


def test_a_person_who_chose_spanish_sees_their_page_in_spanish_whatever_the_browser_says(client, make_cohort):
    cohort = make_cohort()
    person = enrolled(client, cohort, "ana@example.org", "Ana Pérez", locale="es")
    assert person["locale"] == "es"
    client.get(f"/me/{person['id']}?token={person['manage_token']}")
    html = _html(client.get(f"/me/{person['id']}", headers=ENGLISH))
    assert '<html lang="es">' in html
    assert "Su lugar en" in html and "Hola, Ana Pérez." in html and "Retirarse" in html
    # Someone without the link does not learn the person's language: the error page follows the browser.
    other = client.application.test_client()
    assert '<html lang="en">' in other.get(f"/me/{person['id']}", headers=ENGLISH).get_data(as_text=True)


def test_the_form_takes_a_language_and_remembers_it(client, make_cohort):
    cohort = make_cohort()
    person = {"name": "Luis Gómez", "email": "luis@example.org", "timezone": "America/Chicago", "locale": "es"}
    answer = client.post(f"/cohorts/{cohort.id}", data={**cohort_form(client, cohort), **person}, headers=ENGLISH)
    assert answer.status_code == 303
    check = _html(client.get(answer.headers["Location"], headers=ENGLISH))
    assert '<html lang="es">' in check and "Revise su correo" in check  # this browser chose Spanish
    enrolment_id, _token = emailed_link(cohort.id, "luis@example.org")
    from scheduler.enrolment.models import Enrolment
    from scheduler.foundation.extensions import db

    assert db.session.get(Enrolment, enrolment_id).locale == "es"


def test_a_language_not_shipped_is_refused(client, make_cohort):
    cohort = make_cohort()
    response = enrol(client, cohort, "fr@example.org", locale="fr")
    assert response.status_code == 422
    assert "locale" in str(response.get_json())
    form = {**cohort_form(client, cohort), "name": "Zoé", "email": "zoe@example.org", "locale": "fr"}
    page = client.post(f"/cohorts/{cohort.id}", data=form)
    assert page.status_code == 422 and 'id="locale-error"' in page.get_data(as_text=True)


# ---- the catalogue ----------------------------------------------------------------------------------

KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "lazy_gettext": None,
    "_l": None,
    "lazy_pgettext": ((1, "c"), 2),
    "_lp": ((1, "c"), 2),
}


def _method_map() -> list:
    """The files `make translations` reads, as babel.cfg lists them."""
    lines = (ROOT / "babel.cfg").read_text().splitlines()
    return [tuple(reversed(m.groups())) for m in map(re.compile(r"\[(\w+): (.+)\]").fullmatch, lines) if m]


def _marked() -> set:
    """Every string marked for translation, extracted as `make translations` does (babel.cfg):
    (context or None, message), the message a (singular, plural) pair for one marked with ngettext."""
    return {
        (context, message)
        for _file, _line, message, _comments, context in extract_from_dir(ROOT, _method_map(), keywords=KEYWORDS)
    }


def _entry(catalogue, marked):
    context, message = marked
    return catalogue.get(message[0] if isinstance(message, tuple) else message, context=context)


def _catalogue():
    with (TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale="es")


def test_every_marked_string_has_a_spanish_translation():
    catalogue = _catalogue()
    marked = _marked()
    assert len(marked) > 250
    missing = [m for m in marked if _entry(catalogue, m) is None]
    assert not missing, missing
    for marked_message in marked:
        entry = _entry(catalogue, marked_message)
        message = entry.id
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(s.strip() for s in strings), f"untranslated: {message!r}"
        assert not entry.fuzzy, f"fuzzy: {message!r}"
        names = set(re.findall(r"%\(\w+\)[sd]", " ".join(message if isinstance(message, tuple) else (message,))))
        assert names == set(re.findall(r"%\(\w+\)[sd]", " ".join(strings))), message


def test_the_compiled_catalogue_matches_the_po():
    """The committed .mo (what the app reads) says what the .po says: run `make translations` after editing it."""
    catalogue = _catalogue()
    with (TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
        compiled = read_mo(mo)
    assert _strings(compiled) == _strings(catalogue)


def _strings(catalogue) -> dict:
    def plain(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    def context(value):  # read_mo gives a context as bytes
        return value.decode() if isinstance(value, bytes) else value

    return {(context(m.context), plain(m.id)): plain(m.string) for m in catalogue if m.id}


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_translation_formats_in_each_language(app, language):
    """A translation with a broken placeholder fails here rather than on someone's page."""
    from flask_babel import force_locale, gettext, ngettext, pgettext

    with app.test_request_context("/"), force_locale(language):
        for context, message in _marked():
            if isinstance(message, tuple):  # ngettext fills num itself
                names = {k: v for k, v in _names(message[1]).items() if k != "num"}
                assert ngettext(message[0], message[1], 2, **names)
            elif context:
                assert pgettext(context, message, **_names(message))
            else:
                assert gettext(message, **_names(message))


def _names(text: str) -> dict:
    return dict.fromkeys(re.findall(r"%\((\w+)\)s", text), "x")
