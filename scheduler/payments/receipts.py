"""Receipts: one printable HTML page per payment (card or desk), rendered from plain values.

What a receipt says about the person's care is their choice: by default the item is
the program's neutral calendar title ("Group session"), as on their calendar; for an
insurer (`?for=insurer`) it names the program, since that is what is claimed.
"""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import current_app, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from werkzeug.routing import BuildError

from ..foundation import i18n
from ..foundation.money import format_money, reader_locale

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
# The receipt's words in its reader's language (render() chooses it): _("…") in the template.
_env.install_gettext_callables(gettext, ngettext, newstyle=True)

METHOD_LABELS = {
    "card": _l("Card"),
    "cash": _l("Cash"),
    "check": _l("Check"),
    "card_in_person": _l("Card, in person"),
    "insurance": _l("Insurance"),
    "waived": _l("Waived by the clinic"),
    "bank_transfer": _l("Bank transfer"),  # how the desk may pay a refund out
}


def method_label(method: str) -> str:
    """How a payment was made, in the language being written."""
    label = METHOD_LABELS.get(method)
    return str(label) if label is not None else method.replace("_", " ").capitalize()


@dataclass(frozen=True)
class ReceiptData:
    """Everything a receipt shows, gathered by the enrolment domain (which knows who paid for what)."""

    number: str
    paid_at: datetime
    amount: int
    currency: str
    method: str
    reference: str | None
    payer_name: str
    item: str
    sessions: tuple | None  # (how many, first start, last start): the period the payment covers
    zone: str
    refunds: list = field(default_factory=list)  # [(amount, status, created_at)]
    language: str | None = None  # the payer's (their enrolment's locale); None: the clinic's


def _static(filename: str) -> str | None:
    # Files, not an inline <style>: the pages' Content-Security-Policy allows styles from 'self' only.
    try:
        return url_for("pages.static", filename=filename)
    except BuildError:  # served without the pages: the receipt still reads plainly
        return None


def render(data: ReceiptData) -> str:
    """The receipt as a self-contained, printable HTML page, in its reader's language (words, dates, money)."""
    with i18n.speaking(data.language):
        return _render(data, i18n.reader_language(data.language))


def _render(data: ReceiptData, language: str) -> str:
    config = current_app.config
    locale = reader_locale()
    zone = ZoneInfo(data.zone)

    def day(instant: datetime) -> str:
        return format_date(instant.astimezone(zone).date(), format="long", locale=locale)

    period = ""
    if data.sessions:
        count, first, last = data.sessions
        period = ngettext(
            "%(num)d session, %(first)s to %(last)s",
            "%(num)d sessions, %(first)s to %(last)s",
            count,
            first=day(first),
            last=day(last),
        )

    refunded = sum(amount for amount, _, _ in data.refunds)
    return _env.get_template("receipt.html").render(
        clinic=config["CLINIC_NAME"],
        address=[line.strip() for line in (config.get("CLINIC_ADDRESS") or "").split(",") if line.strip()],
        tax_id=config.get("CLINIC_TAX_ID") or None,
        number=data.number,
        date=day(data.paid_at),
        amount=format_money(data.amount, data.currency),
        method=method_label(data.method),
        reference=data.reference,
        payer=data.payer_name,
        item=data.item,
        period=period,
        refunds=[(format_money(a, data.currency), status, day(at)) for a, status, at in data.refunds],
        net=format_money(data.amount - refunded, data.currency) if refunded else None,
        lang=language,
        stylesheet=_static("receipt.css"),
        icon=_static("favicon.svg"),  # the site's icon, so that a browser does not ask for /favicon.ico
    )
