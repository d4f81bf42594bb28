"""Security headers and CSRF protection, in one place for pages and the JSON API alike.

Every response says `X-Content-Type-Options: nosniff`; every HTML response carries a
Content-Security-Policy (the app itself and Stripe only, never framed). Views that
show a person or a token mark their response `private` (no-store, no Referer).

CSRF: every POST (and PUT, PATCH, DELETE) is checked for Flask-WTF's token, except
under the prefixes below, whose callers prove themselves with a bearer token, a
secret in the URL or Stripe's signature: never with a cookie a browser sends by itself.
"""

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect

from .config import STRIPE_JS_URL

csrf = CSRFProtect()

CSRF_EXEMPT_PREFIXES = ("/api/", "/calendar/")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Stripe.js talks to its API and opens 3-D Secure challenges in frames from these.
STRIPE_API_ORIGIN = "https://api.stripe.com"
STRIPE_FRAME_ORIGINS = ("https://js.stripe.com", "https://hooks.stripe.com")
HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    """CSRF on every form, and the headers on every response."""
    # The check runs in _check_csrf below, which knows which paths are exempt.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # Flask-WTF's https Referer check would refuse every form on a page sent with
    # Referrer-Policy: no-referrer; the token and the SameSite cookie are the defence.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    # A token lives as long as the browser session: a slow form-filler keeps their work.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # Flask's defaults hold SESSION_COOKIE_SAMESITE = None, so setdefault would keep None: the
    # session cookie (the CSRF secret, flashed messages) is SameSite=Lax unless configured otherwise.
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    csrf.init_app(app)
    app.before_request(_check_csrf)
    app.after_request(_add_headers)


def _check_csrf() -> None:
    if request.routing_exception is not None:
        return  # no view will run: let the 404 or 405 answer
    if request.method in UNSAFE_METHODS and not request.path.startswith(CSRF_EXEMPT_PREFIXES):
        csrf.protect()  # raises CSRFError (400) before the view runs: nothing changes


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(stripe_js_url: str) -> str:
    """The app itself, plus Stripe.js from `stripe_js_url`'s origin and the Stripe origins it uses."""
    stripe_js = _origin(stripe_js_url)
    frames = " ".join(dict.fromkeys((stripe_js, *STRIPE_FRAME_ORIGINS)))
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {stripe_js}",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src " + " ".join(dict.fromkeys(("'self'", STRIPE_API_ORIGIN, stripe_js))),
            f"frame-src {frames}",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        )
    )


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype == "text/html":
        headers.setdefault(
            "Content-Security-Policy", content_security_policy(current_app.config.get("STRIPE_JS_URL", STRIPE_JS_URL))
        )
        headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers that predate it
        headers.setdefault("Referrer-Policy", "same-origin")
    return response


def no_store(response: Response) -> Response:
    """Not kept by the browser or any cache: the page holds a token (a form's CSRF token)."""
    response.headers["Cache-Control"] = "no-store"
    return response


def private(response: Response) -> Response:
    """A page about one person: never stored, and its address never sent on as a Referer."""
    no_store(response)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
