"""The red team's second round (issue 20): the console's cookies and sign-in, over HTTP.

Each test names the finding it closes; discount codes and the webhook have theirs beside
the other money tests (tests/integration/money/).
"""

from tests.desk_support import csrf_of


def _cookie(response, name: str) -> dict[str, str]:
    """The attributes of the cookie `name` set by `response` (lower-cased names; the value under "")."""
    [header] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
    value, *attributes = header.split(";")
    parsed = {"": value.split("=", 1)[1]}
    for attribute in attributes:
        key, _, setting = attribute.strip().partition("=")
        parsed[key.lower()] = setting
    return parsed


def test_finding_4_the_flask_session_cookie_is_samesite_lax(client):
    """The cookie holding the CSRF secret (and flashed messages) is not sent on a cross-site POST."""
    page = client.get("/desk/login")
    assert page.status_code == 200 and csrf_of(page)
    cookie = _cookie(page, "session")
    assert cookie.get("samesite") == "Lax"
    assert "httponly" in cookie
