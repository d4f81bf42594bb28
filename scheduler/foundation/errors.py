"""Domain errors, each knowing its HTTP status, and the one problem+json error handler."""

import logging

from flask import Flask, Response, json
from flask_babel.speaklater import LazyString
from marshmallow import ValidationError as SchemaValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from . import i18n

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://scheduler.example/problems/"


class DomainError(Exception):
    """A business rule refused the request. Subclasses set status, type and title."""

    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(self, detail, errors: dict | None = None, headers: dict | None = None):
        # `detail` and the messages in `errors` are each a str, or a lazy string (flask_babel.lazy_gettext)
        # where a screen shows the refusal: the API always answers in English (`detail`, `errors`), a
        # screen in its reader's language (`said`, `said_errors`).
        self.wording, self.errors_wording = detail, errors
        self.detail = _in_english(detail)
        super().__init__(self.detail)
        self.errors = _in_english(errors) if errors is not None else None
        self.headers = headers or {}

    def said(self) -> str:
        """The refusal in the language of whoever reads now (a console or participant page)."""
        return str(self.wording)

    def said_errors(self) -> dict[str, list]:
        """The messages by field as worded: a lazy one (str() says it in the reader's language) or
        a plain str (the API's English, for the screen to word: pages/field_errors.py)."""
        return {field: list(messages) for field, messages in (self.errors_wording or {}).items()}


def _in_english(value):
    """A lazy string, or a dict or list of them, as English text (plain strs are left as they are)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {key: _in_english(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_in_english(item) for item in value]
    if not isinstance(value, LazyString):
        return value
    with i18n.speaking(i18n.DEFAULT):  # outside an app there is nothing to translate: the text as written
        return str(value)


class BadRequest(DomainError):
    status, type, title = 400, "bad-request", "Malformed request"


class Unauthorized(DomainError):
    status, type, title = 401, "unauthorized", "Missing or invalid credentials"

    def __init__(self, detail="Send a valid token as 'Authorization: Bearer <token>'."):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="scheduler"'})


class Forbidden(DomainError):
    status, type, title = 403, "forbidden", "Not allowed"


class NotFound(DomainError):
    status, type, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, type, title = 409, "conflict", "Conflicts with the current state"


class Invalid(DomainError):
    status, type, title = 422, "validation", "Invalid request"

    @classmethod
    def field(cls, name: str, message) -> "Invalid":
        """One field's mistake; `message` a str or a lazy string (said in the reader's language)."""
        return cls(LazyString(lambda: f"{name}: {message}"), errors={name: [message]})


class Unavailable(DomainError):
    status, type, title = 503, "unavailable", "Service temporarily unavailable"

    def __init__(self, detail: str, retry_after: int = 5):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def problem(status: int, title: str, detail: str, type_: str, errors=None, headers=None) -> Response:
    body = {"type": PROBLEM_BASE + type_, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten(errors, prefix: str = "", out: dict | None = None) -> dict:
    """marshmallow nests errors ({index: [...]} for list items, {field: [...]} for nested
    objects); the contract's shape is field name -> list of messages, so nested ones
    become "field.sub" keys and list items are named in the message."""
    out = {} if out is None else out
    for key, value in errors.items():
        if isinstance(key, int):  # marshmallow's list index (a client's "0" or "²" is a field name)
            name, label = prefix or "_schema", f"Item {int(key) + 1}: "
        else:
            name, label = f"{prefix}.{key}" if prefix else str(key), ""
        if isinstance(value, dict):
            if all(isinstance(k, int) for k in value):
                for index, messages in value.items():
                    target = out.setdefault(name, [])
                    if isinstance(messages, dict):
                        _flatten(messages, f"{name}.{index}", out)
                    else:
                        target.extend(f"Item {int(index) + 1}: {m}" for m in _as_list(messages))
                if not out.get(name):
                    out.pop(name, None)
            else:
                _flatten(value, name, out)
        else:
            out.setdefault(name, []).extend(label + str(m) for m in _as_list(value))
    return out


def _as_list(messages) -> list:
    return messages if isinstance(messages, list) else [messages]


_HTTP_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
}


def register_error_handlers(app: Flask) -> None:
    """Every error leaves as application/problem+json (RFC 9457), or as a page on page routes.

    A refused request changes nothing: whatever a service had staged before it
    raised is rolled back here, so it cannot be flushed by a later query.
    `app.extensions["error_page"]`, when set (the pages domain sets it), is asked
    first: it answers an HTML page on page routes and None everywhere else.
    """

    def reply(status, title, detail, type_, errors=None, headers=None) -> Response:
        page = app.extensions.get("error_page")
        answer = page(status, title, detail, headers or {}) if page is not None else None
        return answer if answer is not None else problem(status, title, detail, type_, errors, headers)

    def _discard_changes():
        from .extensions import db

        try:
            db.session.rollback()
        except Exception:  # the database itself may be what failed
            log.warning("rollback after an error failed", exc_info=True)

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        _discard_changes()
        return reply(error.status, error.title, error.detail, error.type, error.errors, error.headers)

    @app.errorhandler(SchemaValidationError)
    def _validation(error: SchemaValidationError):
        _discard_changes()
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        flat = _flatten(messages)
        count = len(flat)
        detail = f"{count} field is invalid" if count == 1 else f"{count} fields are invalid"
        return reply(422, "Invalid request", detail, "validation", flat)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        headers = {}
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        if error.code == 429:
            headers["Retry-After"] = str(getattr(error, "retry_after", None) or 60)
            original = error.get_response()
            if original.headers.get("Retry-After"):
                headers["Retry-After"] = original.headers["Retry-After"]
        return reply(
            error.code or 500,
            error.name,
            error.description or error.name,
            _HTTP_TYPES.get(error.code, "http-error"),
            headers=headers,
        )

    @app.errorhandler(OperationalError)
    def _database_down(error: OperationalError):
        log.warning("database unavailable: %s", error.orig)
        _discard_changes()
        return reply(
            503,
            "Service temporarily unavailable",
            "The database did not answer; try again shortly.",
            "unavailable",
            headers={"Retry-After": "5"},
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        _discard_changes()
        return reply(500, "Internal server error", "Something went wrong on our side; it has been logged.", "internal")
