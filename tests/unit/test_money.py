"""Money reads like money: minor units shown in the clinic's locale (Babel), and the locale setting."""

import pytest

from scheduler.foundation import config
from scheduler.foundation.money import AmountError, format_money, parse_amount, plain_amount, reader_locale, to_major
from scheduler.payments.models import DiscountCode


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        (36000, "usd", "en_US", "$360.00"),
        (36000, "eur", "fr_FR", "360,00\xa0€"),
        (36000, "eur", "de_DE", "360,00\xa0€"),
        (123456, "gbp", "en_GB", "£1,234.56"),
        (36000, "chf", "de_CH", "CHF\xa0360.00"),
        (5, "usd", "en_US", "$0.05"),
        (0, "cad", "en_CA", "$0.00"),
    ],
)
def test_amounts_in_minor_units_read_as_the_locale_writes_them(amount, currency, locale, shown):
    assert format_money(amount, currency, locale) == shown


def test_the_minor_unit_follows_the_currency():
    assert str(to_major(36000, "usd")) == "360.00"
    assert str(to_major(36000, "jpy")) == "36000"  # no minor unit


def test_clinic_locale_comes_from_the_environment_and_a_wrong_one_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("SCHEDULER_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("CLINIC_LOCALE", raising=False)
    assert config.from_environment()["CLINIC_LOCALE"] == "en_US"
    monkeypatch.setenv("CLINIC_LOCALE", "fr_FR")
    assert config.from_environment()["CLINIC_LOCALE"] == "fr_FR"
    monkeypatch.setenv("CLINIC_LOCALE", "klingon")
    with pytest.raises(ValueError, match="CLINIC_LOCALE must be a locale such as en_US"):
        config.from_environment()


def test_change_notice_delay_defaults_to_ten_minutes(monkeypatch, tmp_path):
    monkeypatch.setenv("SCHEDULER_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("CHANGE_NOTICE_DELAY_MINUTES", raising=False)
    assert config.from_environment()["CHANGE_NOTICE_DELAY_MINUTES"] == 10


@pytest.mark.parametrize(
    ("kind", "size", "price", "off"),
    [
        ("percent_off", 20, 36000, 7200),
        ("percent_off", 33, 1001, 330),  # 330.33 rounds to the nearest cent
        ("percent_off", 50, 101, 51),  # half a cent rounds up
        ("percent_off", 100, 36000, 36000),
        ("amount_off", 5000, 36000, 5000),
        ("amount_off", 50000, 36000, 36000),  # never more than the price
    ],
)
def test_what_a_code_takes_off(kind, size, price, off):
    import scheduler.models  # noqa: F401  (every table, so the mapper can be configured)

    assert DiscountCode(**{kind: size}).discount_on(price) == off


@pytest.mark.parametrize(
    ("locale", "typed", "minor"),
    [
        ("en_US", "360", 36000),
        ("en_US", "360.00", 36000),
        ("en_US", "1,200.00", 120000),
        ("en_US", ".50", 50),
        ("fr_FR", "360,00", 36000),
        ("fr_FR", "1.200,00", 120000),
        ("fr_FR", "1 200,00", 120000),
        ("fr_FR", "1\u202f200,50", 120050),  # the narrow no-break space French grouping uses
        ("fr_FR", "360.00", 36000),  # a dot and two digits: the decimal point everyone knows
        ("de_DE", "1.200,00", 120000),
        ("de_DE", "360,5", 36050),
        ("de_CH", "1’200.00", 120000),
    ],
)
def test_amounts_typed_at_the_desk_are_read_in_the_clinics_locale(locale, typed, minor):
    assert parse_amount(typed, locale) == minor


@pytest.mark.parametrize(
    ("locale", "typed", "example"),
    [
        ("en_US", "360,00", "360 or 360.00"),  # could be 36,000: refused, never guessed
        ("en_US", "1.200,00", "360 or 360.00"),
        ("en_US", "3 hundred", "360 or 360.00"),
        ("en_US", "-5", "360 or 360.00"),
        ("fr_FR", "1,200.00", "360 or 360,00"),
        ("fr_FR", "1.20.00", "360 or 360,00"),
        ("de_DE", "12,345", "360 or 360,00"),  # three decimals
        ("de_DE", "", "360 or 360,00"),
    ],
)
def test_an_amount_that_cannot_be_read_says_how_the_clinic_writes_one(locale, typed, example):
    with pytest.raises(AmountError, match=f"Give an amount such as {example}."):
        parse_amount(typed, locale)


def test_an_amount_field_shows_the_clinics_decimal_mark():
    assert (plain_amount(120000, "en_US"), plain_amount(120000, "fr_FR"), plain_amount(None, "en_US")) == (
        "1200.00",
        "1200,00",
        "",
    )


def test_money_follows_the_readers_language_in_the_clinics_country(app):
    from flask_babel import force_locale

    with app.app_context():
        app.config["CLINIC_LOCALE"] = "en_US"
        assert (format_money(36000, "usd"), reader_locale()) == ("$360.00", "en_US")
        with force_locale("es"):  # an email to a Spanish-speaking person of a US clinic
            assert reader_locale() == "es_US" and format_money(120000, "usd") == "$1,200.00"
        app.config["CLINIC_LOCALE"] = "de_DE"
        with force_locale("es"):  # Babel has no es_DE: Spanish as Spanish writes it
            assert reader_locale() == "es" and format_money(120000, "eur") == "1.200,00\xa0€"
        with force_locale("en"):
            assert format_money(120000, "eur") == "1.200,00\xa0€"
