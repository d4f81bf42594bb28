"""Logs: one line per request, no token or email in any line, tracebacks capped; gunicorn's too.

LOG_FORMAT=json writes JSON lines (`ts`, `level`, `logger`, `message`, and for requests
`request_id`, `route`, `method`, `status`, `duration_ms`); the default in production.
LOG_FORMAT=text is the same as readable lines, the default on a developer's machine.
A request line names the route's rule (`/api/v1/enrolments/<enrolment_id>`), never the
path or the query, so that no id, token or email reaches it.

gunicorn writes its own access and error logs: `--logger-class scheduler.foundation.logs.GunicornLogger`
(the Procfile and the Makefile pass it) redacts them the same way.
"""

import json
import logging
import re
import time
import uuid

from gunicorn.glogging import Logger as _GunicornLogger

REDACTED = "[redacted]"
_FEED_KINDS = "(?:cohorts|intakes|staff)/"  # /calendar/<kind>/<token>.ics besides /calendar/<token>.ics
_SECRETS = (
    # A token in a query string (?token=mng_…), whatever it looks like.
    (re.compile(r"(?i)([?&;]token=)[^&;#\s\"']*"), r"\1" + REDACTED),
    # Secrets that are path segments: calendar feeds, join links (and sign-in links to come).
    (
        re.compile(rf"(/calendar/(?:{_FEED_KINDS})?)(?!<|{_FEED_KINDS})[^/?#\s\"']+?(?=\.ics\b|[/?#\s\"']|$)"),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(/(?:join|desk/login)/)(?!<)[^/?#\s\"']+"), r"\1" + REDACTED),
    # An Authorization header's value.
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+"), r"\1" + REDACTED),
    # Any bearer secret anywhere: a short prefix and 256 bits (mng_, stf_, cal_ and any later kind).
    # Ids (enr_…, 128 bits, 22 characters) are not secrets and stay readable.
    (re.compile(r"(?<![A-Za-z0-9])([a-z]{2,6})_[A-Za-z0-9_-]{40,}"), r"\1_" + REDACTED),
    # Email addresses (a staff search, ?email=sam%40example.org): personal data, not for logs.
    (re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "[email]"),
)


def redact(text: str) -> str:
    """`text` with every token, feed path and Authorization value replaced by [redacted], emails by [email]."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


MAX_TRACEBACK_LINES = 60
MAX_TRACEBACK_CHARS = 12_000


def cap_traceback(text: str) -> str:
    """The head and tail of a long traceback (a RecursionError's runs to thousands of lines)."""
    lines = text.splitlines()
    if len(lines) > MAX_TRACEBACK_LINES:
        head, tail = lines[:15], lines[-(MAX_TRACEBACK_LINES - 15) :]
        lines = [*head, f"  … {len(lines) - len(head) - len(tail)} lines of traceback omitted …", *tail]
    text = "\n".join(lines)
    if len(text) > MAX_TRACEBACK_CHARS:
        half = MAX_TRACEBACK_CHARS // 2
        text = f"{text[:half]}\n  … {len(text) - 2 * half} characters omitted …\n{text[-half:]}"
    return text


REQUEST_FIELDS = ("request_id", "route", "method", "status", "duration_ms")


class TextFormatter(logging.Formatter):
    """Readable lines; tracebacks capped; tokens redacted."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatException(self, ei) -> str:
        return cap_traceback(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        cached = record.exc_text  # another handler may have cached the whole, uncapped traceback
        if record.exc_info:
            record.exc_text = None
        try:
            return redact(super().format(record))
        finally:
            record.exc_text = cached


class JsonFormatter(logging.Formatter):
    """One JSON object per line; tracebacks capped; tokens redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = redact(cap_traceback(self.formatException(record.exc_info)))
        elif record.exc_text:
            entry["exception"] = redact(cap_traceback(record.exc_text))
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactingFilter(logging.Filter):
    """Redacts a record's message in place (for handlers whose formatter is not ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def app_handler() -> logging.Handler:
    """The one root handler the app writes through (made on first use, then reused)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_scheduler", False):
            return handler
    handler = logging.StreamHandler()
    handler._scheduler = True
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    return handler


def configure(log_format: str) -> None:
    """Route every log record through the app's handler, in LOG_FORMAT."""
    handler = app_handler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.getLogger().setLevel(logging.INFO)


# ---- one line per request ---------------------------------------------------------------------

request_log = logging.getLogger("scheduler.request")
_REQUEST_ID = re.compile(r"[A-Fa-f0-9-]{8,64}")


def init_app(app) -> None:
    """Request ids (X-Request-ID, kept from a proxy when it looks like one), and a log line per request."""
    from flask import g, request

    configure(app.config.get("LOG_FORMAT", "text"))

    @app.before_request
    def _start_request():
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        if started is None:  # the request failed before before_request ran
            return response
        duration = time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        response.headers["X-Request-ID"] = g.request_id
        fields = {
            "request_id": g.request_id,
            "route": route,
            "method": request.method,
            "status": response.status_code,
            "duration_ms": round(duration * 1000, 1),
        }
        request_log.info(
            "%s %s %s %.1fms request_id=%s",
            request.method,
            route,
            response.status_code,
            duration * 1000,
            g.request_id,
            extra=fields,
        )
        for observe in app.extensions.get("request_observers", ()):
            observe(route, request.method, response.status_code, duration)
        return response


# ---- gunicorn -----------------------------------------------------------------------------------


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with every token redacted from the access and error logs."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactingFilter) for f in log.filters):
                log.addFilter(RedactingFilter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
