"""Helpers for the staff console's tests: sign in a test client, read CSRF tokens, post forms."""

import re
from html import unescape
from urllib.parse import urlsplit

from flask import g

from scheduler.staff import services as staff_services

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(response) -> str:
    """The CSRF token in a page's form."""
    return CSRF.search(response.get_data(as_text=True))[1]


def page_token(client, path: str) -> str:
    """The CSRF token of the page at `path`, made for this client's own browser session."""
    g.pop("csrf_token", None)  # Flask-WTF caches it in g, which the tests' app context shares between clients
    return csrf_of(client.get(path))


def link_path(url: str) -> str:
    """/desk/login/<token> from an absolute sign-in link."""
    return urlsplit(url).path


def sign_in(client, member) -> None:
    """Sign the client in as `member` the way the command line's link does (no email)."""
    path = link_path(staff_services.issue_sign_in_link(member.email))
    # Flask-WTF keeps the signed token in g, which outlives a request here (the tests hold the app
    # context): after a jump in time the browser session is new, so the page must make a new token.
    g.pop("csrf_token", None)
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    answer = client.post(path, data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 303, answer.get_data(as_text=True)


def post_form(client, page_path: str, action: str, data: dict | None = None, **kwargs):
    """Open a page (for its CSRF token), then post `data` to `action` as its form would."""
    page = client.get(page_path)
    assert page.status_code == 200, (page_path, page.status_code)
    return client.post(action, data={"csrf_token": csrf_of(page), **(data or {})}, **kwargs)


def text_of(response) -> str:
    """The visible text of a page, roughly: tags removed, white space squeezed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()
