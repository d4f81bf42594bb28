"""Money as people read it: amounts in minor units shown with Babel, and amounts typed at the desk.

`format_money(36000, "usd")` is "$360.00" in en_US; `format_money(36000, "eur", "fr_FR")` is
"360,00 €". Without a locale an amount is written for whoever reads it (`reader_locale`): the
clinic's locale (CLINIC_LOCALE, default en_US), or, for a person whose page or email speaks another
language, that language as written in the clinic's country (es in a US clinic: es_US, "$360.00").
Amounts typed at the desk are read in the clinic's locale (`parse_amount`: "360,00" and "1.200,00"
under fr_FR). Amounts everywhere else stay integers in the currency's minor unit, as the API carries them.
"""

import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal, get_currency_precision, get_decimal_symbol
from flask import current_app, has_app_context
from flask_babel import gettext

from . import i18n

DEFAULT_LOCALE = "en_US"


def valid_locale(name: str) -> bool:
    """Whether Babel knows this locale (en_US, fr_FR, de_CH …)."""
    try:
        Locale.parse(name)
    except (ValueError, UnknownLocaleError):
        return False
    return True


def clinic_locale() -> str:
    if has_app_context():
        return current_app.config.get("CLINIC_LOCALE") or DEFAULT_LOCALE
    return DEFAULT_LOCALE


def to_major(amount: int, currency: str) -> Decimal:
    """36000 usd -> Decimal('360.00'): the minor unit moved by the currency's precision."""
    digits = get_currency_precision(currency.upper())
    return Decimal(amount).scaleb(-digits)


def reader_locale() -> str:
    """The locale money is written in for whoever reads now: the clinic's, unless the page or email
    speaks another language (a person's choice), then that language in the clinic's country when
    Babel knows the pair (es_US), else the language alone. Screens kept in English (the console)
    write the clinic's money."""
    return _reader_locale(clinic_locale(), i18n.reading_language())


# A console page writes fifty amounts: what Babel works out once is kept (locales and amounts are few).
@lru_cache(maxsize=64)
def _reader_locale(clinic: str, language: str | None) -> str:
    try:
        ours = Locale.parse(clinic)
    except (ValueError, UnknownLocaleError):
        return DEFAULT_LOCALE
    if language is None or language == ours.language:
        return clinic
    if ours.territory:
        paired = f"{language}_{ours.territory}"
        if valid_locale(paired):
            return paired
    return language


def format_money(amount: int, currency: str, locale: str | None = None) -> str:
    """An amount in minor units as its reader's locale writes it: $360.00, 360,00 €, CHF 360.00."""
    return _formatted(amount, currency.upper(), locale or reader_locale())


@lru_cache(maxsize=4096)
def _formatted(amount: int, currency: str, locale: str) -> str:
    return format_currency(to_major(amount, currency), currency, locale=locale)


# ---- amounts typed at the desk -------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f]")  # spaces of any kind only ever group digits


class AmountError(ValueError):
    """An amount typed that cannot be read; its message says what to type instead."""


def amount_example(locale: str | None = None) -> str:
    """How the clinic writes an amount in a form: "360 or 360.00" (en_US), "360 or 360,00" (fr_FR)."""
    return gettext("%(whole)s or %(decimal)s", whole="360", decimal=plain_amount(36000, locale))


def amount_range(highest: int, locale: str | None = None) -> str:
    """ "0.00 to 100,000.00" (en_US), "0,00 to 100 000,00" (fr_FR): the amounts a field accepts."""
    locale = locale or clinic_locale()
    highest_text = format_decimal(Decimal(highest).scaleb(-2), "#,##0.00", locale=locale)
    return gettext("%(lowest)s to %(highest)s", lowest=plain_amount(0, locale), highest=highest_text)


def plain_amount(amount: int | None, locale: str | None = None) -> str:
    """36000 -> "360.00" (en_US) or "360,00" (fr_FR): the value an amount field shows, without grouping."""
    if amount is None:
        return ""
    return format_decimal(Decimal(amount).scaleb(-2), "0.00", locale=locale or clinic_locale())


def parse_amount(text: str, locale: str | None = None) -> int:
    """An amount typed in the clinic's locale, in minor units of a two-decimal currency.

    en_US: "360", "360.5", "1,200.00", ".50". fr_FR / de_DE (decimal comma): "360,00", "1.200,00",
    "1 200,00", and "360.00" (a dot followed by one or two digits is read as the decimal point everyone
    knows). Grouping must be by threes and one character throughout; "360,00" in en_US is refused (it
    could mean 36,000): AmountError says what to type.
    """
    locale = locale or clinic_locale()
    decimal = get_decimal_symbol(locale)
    cleaned = _SPACES.sub("", text)
    groups = "[,'’]" if decimal == "." else "[.'’]"
    if decimal == "," and re.fullmatch(r"\d*\.\d{1,2}", cleaned):
        cleaned = cleaned.replace(".", ",")
    point = re.escape(decimal)
    found = re.fullmatch(rf"(\d{{1,3}}(?:({groups})\d{{3}})?(?:\2\d{{3}})*|\d+)?(?:{point}(\d{{1,2}}))?", cleaned)
    if not cleaned or found is None or not (found.group(1) or found.group(3)):
        raise AmountError(gettext("Give an amount such as %(example)s.", example=amount_example(locale)))
    whole = re.sub(r"\D", "", found.group(1) or "0")
    cents = (found.group(3) or "").ljust(2, "0")
    return int(whole) * 100 + int(cents)
