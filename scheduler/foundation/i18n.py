"""Languages: which one a page speaks, and its translations (Flask-Babel; catalogues in scheduler/translations/).

A translated page follows, in order: the person's own choice (a higher layer names it for this
request with `use_locale`: a participant page speaks its enrolment's `locale`; the Language chosen
on a form is remembered in this browser's session), the browser's
`Accept-Language` (best match among the shipped languages), then the clinic's language (the
language of CLINIC_LOCALE: en_US -> en). A screen not yet translated (a path prefix in
`english_only`) speaks English whatever the browser asks, so that `<html lang>` tells the truth.

Templates get `_()`, `gettext` and `ngettext`; `<html lang>` reads `page_language()`.
"""

from contextlib import contextmanager
from datetime import date
from datetime import time as wall_time
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request, session
from flask_babel import Babel, force_locale, get_locale, gettext, pgettext, refresh

LOCALES = ("en", "es")  # English and Spanish ship complete
DEFAULT = "en"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
_ENGLISH_ONLY = "i18n_english_only"  # app.extensions: the path prefixes of screens not yet translated
_STAFF_SCREENS = "i18n_staff_screens"  # app.extensions: the path prefixes of the clinic's own screens

babel = Babel()


def init_app(app: Flask, english_only: tuple[str, ...] = (), staff_screens: tuple[str, ...] = ()) -> None:
    """Install Flask-Babel with the locale selector (the compiled catalogues are committed: `make translations`).

    `staff_screens`: path prefixes of the clinic's own screens (the console), whose money and dates
    follow the clinic's conventions whenever they speak the clinic's language."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.extensions[_ENGLISH_ONLY] = tuple(english_only)
    app.extensions[_STAFF_SCREENS] = tuple(staff_screens)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["page_language"] = page_language
    app.before_request(_fresh)
    app.after_request(_vary)


def use_locale(name: str | None, remember: bool = False) -> None:
    """The person's own choice for this request (their enrolment's `locale`, the form's Language);
    None leaves it as it was. `remember`: the following pages in this browser speak it too."""
    if name in LOCALES:
        g.page_locale = name
        if remember:
            session["locale"] = name
        refresh()  # a locale read earlier in this request is read again


def forget_choice() -> None:
    """This request follows the browser again (the person just cleared their choice)."""
    g.pop("page_locale", None)
    refresh()


def _fresh() -> None:
    # Each request chooses anew (a request inside an app context already pushed shares its `g`).
    g.pop("page_locale", None)
    refresh()


def _translated() -> bool:
    return not request.path.startswith(current_app.extensions.get(_ENGLISH_ONLY, ()))


def _vary(response: Response) -> Response:
    # A translated page depends on the browser's languages: a shared cache keeps one copy per language.
    if response.mimetype == "text/html" and _translated():
        response.vary.add("Accept-Language")
    return response


def clinic_language() -> str:
    """The clinic's language, from CLINIC_LOCALE (en_US -> en; a language not shipped -> en)."""
    try:
        language = Locale.parse(current_app.config.get("CLINIC_LOCALE") or "en_US").language
    except (ValueError, UnknownLocaleError):
        return DEFAULT
    return language if language in LOCALES else DEFAULT


def select_locale() -> str:
    if not has_request_context():
        return clinic_language()
    chosen = g.get("page_locale")
    if chosen in LOCALES:
        return chosen
    if not _translated():
        return DEFAULT
    if session.get("locale") in LOCALES:  # chosen on a form earlier in this browser
        return session["locale"]
    return request.accept_languages.best_match(LOCALES) or clinic_language()


def reading_language() -> str | None:
    """The language of whoever reads what is being written now (a translated page, or a message
    rendered under `flask_babel.force_locale`); None on a screen kept in English, on the console
    speaking the clinic's language, or outside the app, where the clinic's own conventions apply."""
    if not has_app_context():
        return None
    locale = get_locale()
    if locale is None:
        return None
    # force_locale marks its context (Flask-Babel 4): a message in its reader's language.
    forced = getattr(getattr(g, "_flask_babel", None), "forced_babel_locale", None) is not None
    if not forced and has_request_context():
        if not _translated():
            return None
        staff = request.path.startswith(current_app.extensions.get(_STAFF_SCREENS, ()))
        if staff and locale.language == clinic_language():
            return None
    return locale.language


def page_language() -> str:
    """The language the page is in: "en" or "es" (the <html lang>)."""
    return str(get_locale() or DEFAULT)


# ---- dates and times as the language writes them --------------------------------------------------

# English keeps the wording the pages had ("Thursday, October 3, 2030", "6:00 PM"); CLDR's own short
# English time puts a narrow no-break space before PM.
_DAY = {"en": "EEEE, MMMM d, y"}
_TIME = {"en": "h:mm a"}


def day_text(local) -> str:
    """A local date in words: Thursday, October 3, 2030 / jueves, 3 de octubre de 2030."""
    return _day(page_language(), local.date() if hasattr(local, "date") else local)


def time_text(local) -> str:
    """A local wall-clock time: 6:00 PM / 18:00."""
    return _time(page_language(), local.hour, local.minute)


# A schedule writes a dozen dates and times of few distinct values: Babel's work on each is kept.
@lru_cache(maxsize=2048)
def _day(language: str, day: date) -> str:
    return format_date(day, _DAY.get(language, "full"), locale=language)


@lru_cache(maxsize=512)
def _time(language: str, hour: int, minute: int) -> str:
    # Neither pattern names a zone, so the wall-clock time alone decides the text.
    return format_time(wall_time(hour, minute), _TIME.get(language, "short"), locale=language)


# "at" before a time agrees with the hour in Spanish: "a las 18:00", but "a la 1:00" (1:00 to 1:59,
# the one singular hour of a 24-hour clock). The hour-one wording is the same sentence under the
# context "one o'clock" (a literal where it is used: extraction reads literals only), so a language that
# needs no difference translates both alike.
def at_one(local) -> bool:
    """Whether a local time falls in the hour that Spanish says in the singular (1:00 to 1:59)."""
    return local.hour == 1


def when_text(local) -> str:
    """A local date and time in words: Thursday, October 3, 2030 at 6:00 PM EDT /
    jueves, 3 de octubre de 2030 a las 18:00 EDT (a la 1:30 EDT)."""
    names = {"day": day_text(local), "time": time_text(local), "zone": f"{local:%Z}"}
    if at_one(local):
        return pgettext("one o'clock", "%(day)s at %(time)s %(zone)s", **names)
    return gettext("%(day)s at %(time)s %(zone)s", **names)


def shown_title(calendar_title: str | None) -> str | None:
    """The title of a group's sessions for whoever reads now (email subjects, calendar entries,
    receipts): the program's calendar title in the clinic's language, else "Group session" in the
    reader's. Neither names the program nor what it treats."""
    if page_language() == clinic_language():
        return calendar_title
    return gettext("Group session")


# ---- a message in its reader's language ------------------------------------------------------------


def reader_language(chosen: str | None) -> str:
    """The language a person's messages speak: the one they chose (an enrolment's or an intake's
    `locale`), else the clinic's."""
    return chosen if chosen in LOCALES else clinic_language()


@contextmanager
def speaking(chosen: str | None):
    """Write what follows (emails, calendar text, money, dates) in this person's language.

    flask_babel.force_locale, made safe to nest: an inner one (a message rendered inside a handler
    that already speaks the person's language) leaves the outer one in force when it ends.
    """
    language = reader_language(chosen)
    state = getattr(g, "_flask_babel", None) if has_app_context() else None
    outer = getattr(state, "forced_babel_locale", None)
    if outer is not None and outer.language == language:
        yield
        return
    try:
        with force_locale(language):
            yield
    finally:
        if outer is not None:
            g._flask_babel.forced_babel_locale = outer
