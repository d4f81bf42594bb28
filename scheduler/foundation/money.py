"""Money as people read it: amounts in minor units shown in the clinic's locale with Babel.

`format_money(36000, "usd")` is "$360.00" in en_US; `format_money(36000, "eur", "fr_FR")` is
"360,00 €". The locale is the clinic's (CLINIC_LOCALE, default en_US). Amounts everywhere
else stay integers in the currency's minor unit, as the API carries them.
"""

from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision
from flask import current_app, has_app_context

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


def format_money(amount: int, currency: str, locale: str | None = None) -> str:
    """An amount in minor units as the clinic's locale writes it: $360.00, 360,00 €, CHF 360.00."""
    return format_currency(to_major(amount, currency), currency.upper(), locale=locale or clinic_locale())
