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
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from werkzeug.routing import BuildError

from ..foundation.money import clinic_locale, format_money

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

METHOD_LABELS = {
    "card": "Card",
    "cash": "Cash",
    "check": "Check",
    "card_in_person": "Card, in person",
    "insurance": "Insurance",
    "waived": "Waived by the clinic",
}


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method.replace("_", " ").capitalize())


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
    period: str
    zone: str
    refunds: list = field(default_factory=list)  # [(amount, status, created_at)]


def _stylesheet() -> str | None:
    # A file, not an inline <style>: the pages' Content-Security-Policy allows styles from 'self' only.
    try:
        return url_for("pages.static", filename="receipt.css")
    except BuildError:  # served without the pages: the receipt still reads plainly
        return None


def render(data: ReceiptData) -> str:
    """The receipt as a self-contained, printable HTML page."""
    config = current_app.config
    locale = clinic_locale()
    zone = ZoneInfo(data.zone)

    def day(instant: datetime) -> str:
        return format_date(instant.astimezone(zone).date(), format="long", locale=locale)

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
        period=data.period,
        refunds=[(format_money(a, data.currency), status, day(at)) for a, status, at in data.refunds],
        net=format_money(data.amount - refunded, data.currency) if refunded else None,
        lang=locale.split("_")[0],
        stylesheet=_stylesheet(),
    )
