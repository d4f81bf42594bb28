"""Who is signed in to the console: the session cookie, and the access each page declares.

The cookie holds a random secret, signed with SECRET_KEY (a forged or altered cookie is
refused before the database is asked); only the secret's hash is stored. It is HttpOnly,
SameSite=Lax, Secure under https, sent only to /desk/, and lives SESSION_IDLE_HOURS from
the last request: an idle session ends in the browser and on the server alike.
"""

import functools
import unicodedata
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeSerializer

from ..foundation import i18n
from ..foundation.auth import ROLES, Access
from ..foundation.errors import Forbidden
from ..staff import services as staff_services

COOKIE = "desk_session"
COOKIE_PATH = "/desk/"
PAGE_KIND = "desk"
_NOT_IN_A_HEADER = ("Cc", "Zl", "Zp")  # control characters, line and paragraph separators


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="desk-session")


def _secure() -> bool:
    return bool(current_app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def set_cookie(response, secret: str):
    response.set_cookie(
        COOKIE,
        _serializer().dumps(secret),
        max_age=staff_services.SESSION_IDLE_HOURS * 3600,
        path=COOKIE_PATH,
        httponly=True,
        secure=_secure(),
        samesite="Lax",
    )
    return response


def clear_cookie(response):
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, secure=_secure(), samesite="Lax")
    return response


def renew_browser_session() -> None:
    """A console session starts in a new browser session with a new CSRF secret: whatever was
    in the old one (a cookie planted before sign-in, and the form tokens it made) is useless now."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # Flask-WTF's per-request copy
    generate_csrf()


def _secret_from_cookie() -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        secret = _serializer().loads(raw)
    except BadSignature:
        return None
    return secret if isinstance(secret, str) else None


def forget() -> None:
    """Start each request knowing nobody (g outlives a request when a test holds the app context)."""
    for name in ("desk_member", "desk_session_id", "desk_secret", "desk_cookie_sent"):
        g.pop(name, None)


def signed_in():
    """The signed-in staff member (or None); notes the activity that keeps the session alive."""
    if g.get("desk_member") is not None:
        return g.desk_member
    forget()
    secret = _secret_from_cookie()
    g.desk_cookie_sent = request.cookies.get(COOKIE) is not None
    if secret is None:
        return None
    active = staff_services.console_session(secret)
    if active is None:
        return None
    staff_services.touch_session(active.session_id)
    g.desk_member, g.desk_session_id, g.desk_secret = active.member, active.session_id, secret
    g.staff = active.member  # services that take "who acts" read it as from the JSON API
    i18n.use_locale(active.member.locale)  # the console speaks the language the member chose
    return active.member


def safe_next(target: str | None) -> str | None:
    """Only a console path of this site may be where sign-in leads (no open redirect), and only
    one that can be a Location header: a control character (CR, LF, tab, NUL, DEL, C1) or a
    Unicode line or paragraph separator drops it."""
    if not target or any(unicodedata.category(char) in _NOT_IN_A_HEADER for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/desk/") or "\\" in target:
        return None
    return target


def to_login():
    """Anonymous: the sign-in page, which brings the person back here afterwards."""
    wanted = request.full_path if request.method == "GET" else request.path
    ended = "expired" if g.get("desk_cookie_sent") else None
    response = redirect(url_for("desk.login", next=safe_next(wanted.rstrip("?")), session=ended), 303)
    return clear_cookie(response) if ended else response


def desk_page(*roles: str):
    """A console page for these roles (all staff when none are named).

    Signed out: 303 to the sign-in page. Signed in with another role: the 403 page.
    """
    access = Access(PAGE_KIND, tuple(roles) or ROLES)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(**view_args):
            member = signed_in()
            if member is None:
                return to_login()
            if member.role not in access.roles:
                raise Forbidden(_("Your role does not include this page."))
            return view(**view_args)

        wrapper.page_access = access
        return wrapper

    return decorate
