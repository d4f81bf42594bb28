"""The red team's second round (issue 20): the console's cookies and sign-in, over HTTP.

Each test names the finding it closes; discount codes and the webhook have theirs beside
the other money tests (tests/integration/money/).
"""

from scheduler.staff import services as staff_services
from tests.desk_support import csrf_of, link_path, page_token


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


def test_finding_5_a_csrf_token_from_before_sign_in_is_useless_afterwards(client, make_staff):
    """Someone who planted a session cookie (and so knows its CSRF token) before the sign-in
    cannot post forms in the signed-in console with it: the session and its secret are new."""
    member, _ = make_staff("front_desk")
    planted = client.get("/desk/login")
    planted_token, planted_session = csrf_of(planted), _cookie(planted, "session")[""]
    path = link_path(staff_services.issue_sign_in_link(member.email))
    page = client.get(path)
    assert csrf_of(page) == planted_token  # the same browser session until the sign-in
    signed = client.post(path, data={"csrf_token": csrf_of(page)})
    assert signed.status_code == 303 and signed.headers["Location"] == "/desk/"
    assert _cookie(signed, "session")[""] != planted_session  # a new session cookie

    refused = client.post("/desk/logout", data={"csrf_token": planted_token})
    assert refused.status_code == 400
    assert client.get("/desk/").status_code == 200  # still signed in: the forged sign-out did nothing
    fresh = page_token(client, "/desk/account")
    assert fresh != planted_token
    assert client.post("/desk/logout", data={"csrf_token": fresh}).status_code == 303
    assert client.get("/desk/").status_code == 303  # signed out


def test_finding_6_a_next_with_a_line_break_or_control_character_is_dropped_before_anything_is_spent(
    client, make_staff
):
    """A `next=` holding CR, LF or another control character cannot become a Location header:
    it is dropped (the console's start page instead), and nothing is spent on the way."""
    member, _ = make_staff("front_desk")
    for bad in (
        "/desk/\nSet-Cookie: x=1",
        "/desk/people\r\n",
        "/desk/\rx",
        "/desk/\tx",
        "/desk/\x00",
        "/desk/\x7f",
        "/desk/\x85",
        "/desk/\u2028",
    ):
        login = client.get("/desk/login", query_string={"next": bad})
        assert login.status_code == 200
        assert 'name="next"' not in login.get_data(as_text=True), repr(bad)  # not carried into the link
        path = link_path(staff_services.issue_sign_in_link(member.email))
        page = client.get(path, query_string={"next": bad})
        assert page.status_code == 200 and 'name="next"' not in page.get_data(as_text=True), repr(bad)
        assert client.get(path).status_code == 200, repr(bad)  # opening the page spent nothing
        signed = client.post(path, data={"csrf_token": csrf_of(page), "next": bad})
        assert signed.status_code == 303, repr(bad)
        assert signed.headers["Location"] == "/desk/", repr(bad)
        assert client.get("/desk/").status_code == 200
        assert client.post(path, data={"csrf_token": page_token(client, "/desk/")}).status_code == 404  # spent once
        client.post("/desk/logout", data={"csrf_token": page_token(client, "/desk/")})
