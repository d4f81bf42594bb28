"""The public forms (enrolling, asking for a place): their fields, loaded through the API's own schemas,
and the mistakes to show beside each field."""

from dataclasses import dataclass

from flask import request
from flask_babel import lazy_gettext
from marshmallow import ValidationError

from ..foundation import i18n
from . import field_errors

FORM_FIELDS = ("name", "email", "phone", "timezone", "locale")
BLANK_MESSAGES = {
    "name": lazy_gettext("Please enter your name."),
    "email": lazy_gettext("Please enter your email address."),
}
UNREADABLE = lazy_gettext("This contains a character we cannot store (NUL); please type it again.")


def _form_errors(values: dict, error: ValidationError) -> dict:
    messages = error.messages if isinstance(error.messages, dict) else {"name": error.messages}
    errors = {field: list(msgs) if isinstance(msgs, list) else [str(msgs)] for field, msgs in messages.items()}
    errors = field_errors.field_messages(errors)  # the API's words, as the page's language says them
    for field, message in BLANK_MESSAGES.items():
        if field in errors and not values.get(field):
            errors[field] = [str(message)]
    return errors


@dataclass
class _PublicForm:
    values: dict  # as typed (without NUL), to show the form again
    data: dict | None = None  # loaded by the API's schema; None when there are mistakes
    errors: dict | None = None  # the mistakes, beside each field
    key: str | None = None  # the form's idempotency key, when usable


def read_request_form(schema) -> _PublicForm:
    """A public form's fields, loaded through the API's own schema."""
    values = {field: request.form.get(field, "").strip() for field in FORM_FIELDS}
    key = request.form.get("idempotency_key", "").strip()
    try:
        unreadable = {f: [str(UNREADABLE)] for f, v in values.items() if "\x00" in v}
        if unreadable:
            raise ValidationError(unreadable)
        data = schema().load({k: v for k, v in values.items() if v or k in BLANK_MESSAGES})
    except ValidationError as error:
        values = {k: v.replace("\x00", "") for k, v in values.items()}
        return _PublicForm(values, errors=_form_errors(values, error))
    i18n.use_locale(data.get("locale"), remember=True)  # the next pages in this browser speak it too
    return _PublicForm(values, data, key=key if 0 < len(key) <= 200 and "\x00" not in key else None)
