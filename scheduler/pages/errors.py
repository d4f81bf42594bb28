"""Error pages: on page routes every error is a calm HTML page that says what to do next.

errors.register_error_handlers asks `error_page` first (through app.extensions); it
answers None for everything that is not a page (the JSON API, feeds, the webhook),
which then keeps its problem+json.
"""

import logging

from flask import Response, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from ..foundation.security import private

log = logging.getLogger(__name__)

# Blueprints whose views are pages, and paths that are pages even when no route matched.
PAGE_BLUEPRINTS = {"pages", "desk"}
PAGE_PREFIXES = ("/me/", "/cohorts/", "/desk/", "/static/")
MACHINE_PREFIXES = ("/api/", "/calendar/", "/healthz", "/readyz", "/metrics", "/docs", "/openapi")

_TEXT = {
    400: (
        _l("This form could not be sent"),
        _l(
            "It may have been open for a long time, or it was sent twice. Nothing was changed. "
            "Go back, reload the page, and try again."
        ),
    ),
    403: (_l("This page is not available to you"), _l("If you followed a link, it may be meant for someone else.")),
    404: (_l("We could not find this page"), _l("The address may be mistyped, or the page may have moved.")),
    405: (_l("That cannot be done here"), _l("Go back and use the buttons on the page.")),
    409: (
        _l("That could not be done"),
        _l("Something changed in the meantime. Go back and reload the page to see where things stand."),
    ),
    413: (_l("That was too much to send"), _l("Please shorten what you typed and try again.")),
    422: (_l("Some details need correcting"), _l("Go back and check what you typed.")),
    429: (_l("Too many tries in a short time"), _l("Please wait a minute, then try again.")),
    500: (
        _l("Something went wrong on our side"),
        _l("It is not something you did, and it has been noted. Please try again in a few minutes."),
    ),
    503: (_l("We are briefly unavailable"), _l("Please try again in a minute.")),
}
PARTICIPANT_LINK_TEXT = (
    _l("This link does not open your page"),
    _l(
        "Your page opens from the personal link in the emails we sent you. The link may be old or cut short: "
        "try the one in our most recent email."
    ),
)


def is_page_request() -> bool:
    if request.blueprint in PAGE_BLUEPRINTS:
        return True
    if request.path == "/" or request.path.startswith(PAGE_PREFIXES):
        return True
    # An address no route knows (/nope, /cohorts), typed into a browser: a page, not JSON. The API's
    # and the feeds' addresses keep their problem+json, whatever the client accepts.
    unknown = request.url_rule is None and not request.path.startswith(MACHINE_PREFIXES)
    return unknown and _prefers_html()


def _prefers_html() -> bool:
    accepted = request.accept_mimetypes
    return accepted.best_match(["application/json", "text/html"]) == "text/html" and accepted["text/html"] > 0


def error_page(status: int, title: str, detail: str, headers: dict) -> Response | None:
    """An HTML error page for a page route; None for every other route."""
    if not is_page_request():
        return None
    heading, text = _TEXT.get(status, _TEXT[500] if status >= 500 else _TEXT[400])
    participant = request.path.startswith("/me/") and status in (403, 404)
    if participant:
        heading, text = PARTICIPANT_LINK_TEXT
    # The staff console's own frame (its navigation, a way back to Today) for its errors.
    template = "desk/error.html" if request.path.startswith("/desk/") else "pages/error.html"
    # An enrolment's page: the person may ask for their link again right here.
    enrolment_id = (request.view_args or {}).get("enrolment_id") if participant else None
    again = url_for("pages.link_again", enrolment_id=enrolment_id) if enrolment_id else None
    try:
        body = render_template(
            template, status=status, heading=heading, text=text, participant=participant, link_again_url=again
        )
    except Exception:  # a broken error page must not hide the error: fall back to problem+json
        log.exception("error page failed to render")
        return None
    response = Response(body, status=status, mimetype="text/html")
    for key, value in headers.items():
        response.headers[key] = value
    return private(response)
