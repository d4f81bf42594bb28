"""Reading a console form: text from the browser turned into what the API's schemas expect.

The schemas are the JSON API's own (one set of rules); this module only converts form
text (amounts typed as 360.00, whole numbers, lines of text) and reports, per field,
what to fix in words for a person at a desk rather than for a programmer.
"""

import re

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError

from ..foundation.errors import _flatten
from ..foundation.money import amount_range, parse_amount, plain_amount
from ..pages.field_errors import field_messages

MONEY_MAX = 10_000_000  # the schemas' highest amount in minor units (100,000.00)
REQUIRED = "Missing data for required field."  # marshmallow's words, for programmers
NUL = _l("This contains a character that cannot be stored (NUL); please type it again.")


class FormErrors(Exception):
    """What to fix, field by field, and what was typed (to show the form again)."""

    def __init__(self, errors: dict[str, list[str]], values: dict):
        super().__init__(errors)
        self.errors = errors
        self.values = values


def text(name: str) -> str:
    return request.form.get(name, "").strip()


def to_minor_units(value: str) -> int:
    """An amount typed in the clinic's locale -> minor units: '360', '1,200.00' (en_US) or
    '360,00', '1.200,00' (fr_FR) -> 36000, 120000 (two-decimal currencies). ValueError says what to type."""
    return parse_amount(value)


def major_units(amount: int | None) -> str:
    """36000 -> '360.00' (en_US) or '360,00' (fr_FR): the value a money field shows."""
    return plain_amount(amount)


def parse(schema: type[Schema], fields: dict[str, str], messages: dict[str, str] | None = None) -> dict:
    """Read the named form fields, convert each by kind, and load them through `schema`.

    kinds: "text" (sent when not empty), "text0" (sent even when empty), "int", "money",
    "lines" (one item per line), "multi" (every value given), "yesno" (a choice of "yes" or "no":
    true or false; anything else is left for the schema to refuse). Raises FormErrors with a message beside each field.
    `messages` replaces a schema's message for a field (e.g. money typed in major units).
    """
    values = {name: request.form.get(name, "") for name in fields}
    payload, errors = {}, {}
    for name, kind in fields.items():
        if kind == "multi":  # checkboxes or a multiple select: every chosen value (none: an empty list)
            chosen = [v for v in request.form.getlist(name) if v and "\x00" not in v]
            values[name] = payload[name] = chosen
            continue
        raw = values[name]
        if "\x00" in raw:
            errors[name] = [str(NUL)]
            values[name] = raw.replace("\x00", "")
            continue
        raw = raw.strip() if kind != "lines" else raw
        if kind == "text0":
            payload[name] = raw
        elif raw == "" and kind != "lines":
            continue
        elif kind == "text":
            payload[name] = raw
        elif kind == "int":
            if not re.fullmatch(r"-?\d{1,9}", raw):
                errors[name] = [_("Give a whole number, for example 8.")]
            else:
                payload[name] = int(raw)
        elif kind == "yesno":
            payload[name] = {"yes": True, "no": False}.get(raw, raw)
        elif kind == "money":
            try:
                payload[name] = to_minor_units(raw)
            except ValueError as exc:
                errors[name] = [str(exc)]
        elif kind == "lines":
            payload[name] = [line.strip() for line in raw.splitlines() if line.strip()]
    try:
        data = schema().load(payload)
    except ValidationError as exc:
        found = _flatten(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages})
        unreadable = set(errors)  # a field whose text could not be read is told that alone
        for name, msgs in found.items():
            key = name.split(".")[0]
            if key in unreadable:
                continue
            if messages and key in messages:
                msgs = [messages[key]]
            elif msgs == [REQUIRED]:
                msgs = [_("Please fill this in.")]
            elif fields.get(key) == "money":
                msgs = [_("Give an amount from %(range)s.", range=amount_range(MONEY_MAX))]
            else:  # the schema's words, as the console's language says them
                msgs = field_messages({key: msgs})[key]
            errors.setdefault(key, []).extend(m for m in msgs if m not in errors.get(key, []))
        data = None
    if errors:
        raise FormErrors(errors, values)
    return data
