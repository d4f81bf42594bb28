"""The clinic's own texts on the pages (REFUND_POLICY_NOTE, PAYMENT_INSTRUCTIONS): what the clinic wrote
is shown as written; the defaults it did not replace are the app's words, so they are translated."""

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..foundation.config import DEFAULT_PAYMENT_INSTRUCTIONS, DEFAULT_REFUND_POLICY_NOTE

# Each default as the catalogue knows it (the same English words as foundation/config.py).
_DEFAULTS = {
    DEFAULT_REFUND_POLICY_NOTE: _l(
        "The groups are small, so a place given up close to the start can rarely be offered to someone else in time."
    ),
    DEFAULT_PAYMENT_INSTRUCTIONS: _l(
        "Call or visit the front desk to pay by card, cash or check, and mention your reference "
        "so that we can match your payment to your place."
    ),
}


def clinic_text(key: str) -> str:
    """A text from the clinic's configuration, in the page's language when it is the app's default."""
    value = current_app.config.get(key, "") or ""
    default = _DEFAULTS.get(value)
    return str(default) if default is not None else value
