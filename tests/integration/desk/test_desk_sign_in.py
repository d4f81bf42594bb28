"""Signing in to the staff console: one-time links by email, the session cookie, signing out.

A link works once, for 15 minutes, and only its hash is stored; the answer to "send me a
link" is the same for any address; a session ends after 12 idle hours, at sign-out, or
when the account is revoked; every sign-in and sign-out is in the staff audit log.
"""

import re
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from scheduler import create_app
from scheduler.foundation.config import for_tests
from scheduler.foundation.extensions import db
from scheduler.notifications import sender
from scheduler.notifications.models import OutboxMessage
from scheduler.staff import services as staff_services
from scheduler.staff.models import SignInLink, StaffAuditEntry
from tests.desk_support import csrf_of, link_path, page_token, sign_in, text_of
from tests.helpers import QueryCounter, handle_inbox

T0 = datetime(2030, 9, 1, 14, 0, tzinfo=UTC)


def _ask_for_link(client, email: str):
    page = client.get("/desk/login")
    return client.post("/desk/login", data={"csrf_token": csrf_of(page), "email": email})


def _sign_in_messages():
    handle_inbox()  # the worker carries the requests out
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sign_in_link")).all()


def test_the_console_sends_the_anonymous_to_the_sign_in_page(client):
    answer = client.get("/desk/cohorts/coh_x?focus=1")
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/desk/login?next=")
    page = client.get(answer.headers["Location"])
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'id="email"' in page.get_data(as_text=True) and "Send sign-in link" in page.get_data(as_text=True)


def test_a_link_arrives_by_email_and_signs_in_once(app, client, make_staff, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    member, _ = make_staff("front_desk", name="Fran Desk")
    answer = _ask_for_link(client, member.email.upper())
    assert answer.status_code == 200 and "Check your email" in text_of(answer)

    handle_inbox()
    sender.deliver_outbox()
    [mail] = [m for m in smtp_server.messages if m.rcpt_tos == [member.email]]
    assert mail.message["Subject"].startswith("Your sign-in link")
    body = mail.message.get_body(("plain",)).get_content()
    url = re.search(r"https://scheduler\.test/desk/login/\S+", body)[0]
    assert "15 minutes" in body
    # Nothing that could sign in stays behind: the link's hash, and a scrubbed message.
    [row] = _sign_in_messages()
    assert row.status == "sent" and url not in row.body_text and url not in row.body_html
    token = link_path(url).rsplit("/", 1)[1]
    assert db.session.scalar(select(SignInLink.token_hash)) == staff_services.hash_token(token)

    # Opening the link (a mail scanner may) spends nothing: the button does.
    page = client.get(link_path(url))
    assert page.status_code == 200 and "Sign in as Fran Desk" in text_of(page)
    signed = client.post(link_path(url), data={"csrf_token": csrf_of(page)})
    assert signed.status_code == 303 and signed.headers["Location"] == "/desk/"
    assert client.get("/desk/").status_code == 200

    # Signing in began a new browser session: the form's token is the console's now.
    again = client.post(link_path(url), data={"csrf_token": page_token(client, "/desk/")})
    assert again.status_code == 404 and "This sign-in link no longer works" in text_of(again)
    assert client.get(link_path(url)).status_code == 404


def test_the_answer_is_the_same_whether_or_not_the_address_is_staff(client, make_staff):
    member, _ = make_staff("admin")
    statements = {}
    answers = {}
    for email in (member.email, "nobody@example.org"):
        page = client.get("/desk/login")
        with QueryCounter() as queries:
            answers[email] = client.post("/desk/login", data={"csrf_token": csrf_of(page), "email": email})
        statements[email] = [s.split()[0] for s in queries.statements]
    staff_answer, stranger_answer = answers[member.email], answers["nobody@example.org"]
    assert staff_answer.status_code == stranger_answer.status_code == 200
    assert text_of(staff_answer).replace(member.email, "X") == text_of(stranger_answer).replace(
        "nobody@example.org", "X"
    )
    # The same work for both: the request is queued; nothing about the address is read.
    assert statements[member.email] == statements["nobody@example.org"]
    assert [m.to_address for m in _sign_in_messages()] == [member.email]


def test_a_revoked_account_gets_no_link(client, make_staff):
    member, _ = make_staff("front_desk")
    admin, _ = make_staff("admin")
    staff_services.revoke_staff(member.id, admin)
    assert _ask_for_link(client, member.email).status_code == 200
    assert _sign_in_messages() == []


def test_a_mistyped_address_is_named_beside_the_field(client):
    answer = _ask_for_link(client, "fran@")
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'id="email-error"' in html and "Not a valid email address" in html
    assert 'aria-invalid="true"' in html and 'value="fran@"' in html


def test_a_link_expires_after_15_minutes(client, make_staff):
    member, _ = make_staff("front_desk")
    with time_machine.travel(T0, tick=False) as traveller:
        fresh = link_path(staff_services.issue_sign_in_link(member.email))
        stale = link_path(staff_services.issue_sign_in_link(member.email))
        traveller.shift(timedelta(minutes=14, seconds=59))
        page = client.get(fresh)
        assert client.post(fresh, data={"csrf_token": csrf_of(page)}).status_code == 303
        traveller.shift(timedelta(seconds=1))
        assert client.get(stale).status_code == 404
        assert client.post(stale, data={"csrf_token": page_token(client, "/desk/")}).status_code == 404


def test_a_sign_in_email_that_could_not_go_out_in_time_is_not_sent(app, client, make_staff, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    member, _ = make_staff("front_desk")
    with time_machine.travel(T0, tick=False) as traveller:
        _ask_for_link(client, member.email)
        handle_inbox()
        traveller.shift(timedelta(minutes=16))
        sender.deliver_outbox()
    assert smtp_server.messages == []
    [row] = _sign_in_messages()
    assert row.status == "skipped" and "/desk/login/" not in row.body_text + row.body_html


def test_the_session_cookie_is_signed_httponly_lax_and_scoped_to_the_console(client, make_staff):
    member, _ = make_staff("front_desk")
    path = link_path(staff_services.issue_sign_in_link(member.email))
    answer = client.post(path, data={"csrf_token": csrf_of(client.get(path))})
    [cookie] = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("desk_session=")]
    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= set(attributes)
    assert attributes["path"].strip() == "Path=/desk/"
    assert attributes["max-age"].strip() == "Max-Age=43200"
    assert attributes["samesite"].strip() == "SameSite=Lax"
    assert "secure" not in attributes  # this test app serves http
    # A cookie someone altered is not a session.
    value = cookie.split(";")[0].split("=", 1)[1]
    client.set_cookie("desk_session", value[:-3] + "AAA", path="/desk/")
    assert client.get("/desk/").status_code == 303


def test_under_https_the_cookie_is_secure(database_url, make_staff):
    secure_app = create_app(for_tests(database_url, PUBLIC_BASE_URL="https://x.test", SESSION_COOKIE_SECURE=True))
    with secure_app.app_context():
        member, _ = make_staff("front_desk")
        client = secure_app.test_client()
        path = link_path(staff_services.issue_sign_in_link(member.email))
        answer = client.post(path, data={"csrf_token": csrf_of(client.get(path))})
        [cookie] = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("desk_session=")]
        assert "Secure" in cookie


def test_a_session_ends_after_12_idle_hours_and_activity_keeps_it(client, make_staff):
    member, _ = make_staff("front_desk")
    with time_machine.travel(T0, tick=False) as traveller:
        sign_in(client, member)
        traveller.shift(timedelta(hours=11, minutes=59))
        assert client.get("/desk/").status_code == 200  # activity: the idle clock starts again
        traveller.shift(timedelta(hours=11, minutes=59))
        assert client.get("/desk/").status_code == 200
        traveller.shift(timedelta(hours=12, minutes=1))
        # The browser would have dropped the cookie by now; a replayed one is refused as well.
        ended = client.get("/desk/")
        assert ended.status_code == 303 and "session=expired" in ended.headers["Location"]
        assert "Your session has ended" in text_of(client.get(ended.headers["Location"]))


def test_signing_out_ends_the_session_everywhere_and_both_are_audited(client, make_staff):
    member, _ = make_staff("front_desk", name="Fran Desk")
    sign_in(client, member)
    cookie = client.get_cookie("desk_session", path="/desk/").value
    page = client.get("/desk/")
    answer = client.post("/desk/logout", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 303 and answer.headers["Location"] == "/desk/login"
    assert any(c.startswith("desk_session=;") for c in answer.headers.getlist("Set-Cookie"))
    assert "You have signed out" in text_of(client.get("/desk/login"))
    client.set_cookie("desk_session", cookie, path="/desk/")  # the old cookie, replayed
    assert client.get("/desk/").status_code == 303
    entries = db.session.scalars(select(StaffAuditEntry).order_by(StaffAuditEntry.created_at)).all()
    actions = [(e.action, e.staff.name if e.staff else None) for e in entries]
    assert actions[-2:] == [("signed_in", "Fran Desk"), ("signed_out", "Fran Desk")]
    assert ("sign_in_link_printed", None) in actions  # the command line's link, by nobody signed in


def test_revoking_an_account_ends_its_sessions(client, make_staff):
    member, _ = make_staff("front_desk")
    admin, _ = make_staff("admin")
    sign_in(client, member)
    staff_services.revoke_staff(member.id, admin)
    assert client.get("/desk/").status_code == 303


def test_sign_in_leads_back_to_the_page_asked_for_but_never_off_the_console(client, make_staff):
    member, _ = make_staff("front_desk")
    path = link_path(staff_services.issue_sign_in_link(member.email))
    page = client.get(path + "?next=/desk/people?q=sam")
    assert 'name="next" value="/desk/people?q=sam"' in page.get_data(as_text=True)
    answer = client.post(path, data={"csrf_token": csrf_of(page), "next": "/desk/people?q=sam"})
    assert answer.headers["Location"] == "/desk/people?q=sam"
    other = link_path(staff_services.issue_sign_in_link(member.email))
    for target in ("https://evil.example/desk/", "//evil.example/desk/", "/me/x", "/desk\\..\\x"):
        answer = client.post(other, data={"csrf_token": csrf_of(client.get(other)), "next": target})
        assert answer.headers["Location"] == "/desk/", target
        other = link_path(staff_services.issue_sign_in_link(member.email))


def test_sign_in_without_a_csrf_token_is_refused_and_spends_nothing(client, make_staff):
    member, _ = make_staff("front_desk")
    path = link_path(staff_services.issue_sign_in_link(member.email))
    refused = client.post(path)
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert client.get(path).status_code == 200  # still usable


def test_the_command_line_prints_a_link_that_works(app, client, make_staff):
    member, _ = make_staff("admin", name="Ada Admin")
    result = app.test_cli_runner().invoke(args=["staff", "login-link", "--email", member.email])
    assert result.exit_code == 0, result.output
    url = re.search(r"https://scheduler\.test/desk/login/\S+", result.output)[0]
    page = client.get(link_path(url))
    assert "Sign in as Ada Admin" in text_of(page)
    unknown = app.test_cli_runner().invoke(args=["staff", "login-link", "--email", "nobody@example.org"])
    assert unknown.exit_code != 0 and "No active staff account" in unknown.output


def test_links_are_rate_limited_per_address_and_per_client(database_url, make_staff):
    limited = create_app(for_tests(database_url, RATELIMIT_ENABLED=True))
    with limited.app_context():
        member, _ = make_staff("front_desk")
        client = limited.test_client()
        answers = [_ask_for_link(client, member.email).status_code for _ in range(6)]
        assert answers == [200] * 5 + [429]
        page = _ask_for_link(client, member.email)
        assert page.mimetype == "text/html" and "Too many tries" in text_of(page)
        assert len(_sign_in_messages()) == 5
        # Other addresses from the same client: until the per-client limit (20 in 15 minutes).
        others = [_ask_for_link(client, f"someone{n}@example.org").status_code for n in range(20)]
        assert others[0] == 200 and others[-1] == 429


def test_console_errors_are_pages_in_the_consoles_frame(client, make_staff):
    unknown = client.get("/desk/no-such-page")
    assert unknown.status_code == 404 and unknown.mimetype == "text/html"
    assert "Sign in to the staff console" in text_of(unknown)
    member, _ = make_staff("front_desk")
    sign_in(client, member)
    missing = client.get("/desk/enrolments/enr_nobody")
    assert missing.status_code == 404 and "Back to Today" in text_of(missing)
    assert client.get("/api/v1/enrolments/enr_nobody").mimetype == "application/problem+json"


def test_the_demo_prints_a_sign_in_link_for_the_demo_admin(app, client):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    url = re.search(r"Staff console: .*?(https://scheduler\.test/desk/login/\S+)", result.output)[1]
    assert "Sign in as Demo admin" in text_of(client.get(link_path(url)))


def test_the_emailed_link_leads_back_to_the_page_first_asked_for(client, make_staff):
    member, _ = make_staff("front_desk")
    asked = client.get("/desk/people?q=sam")
    login = client.get(asked.headers["Location"])
    assert 'name="next" value="/desk/people?q=sam"' in login.get_data(as_text=True)
    client.post("/desk/login", data={"csrf_token": csrf_of(login), "email": member.email, "next": "/desk/people?q=sam"})
    [message] = _sign_in_messages()
    url = re.search(r"https://scheduler\.test/desk/login/\S+", message.body_text)[0]
    assert url.endswith("?next=%2Fdesk%2Fpeople%3Fq%3Dsam")
    page = client.get(url.split("scheduler.test", 1)[1])
    answer = client.post(link_path(url), data={"csrf_token": csrf_of(page), "next": "/desk/people?q=sam"})
    assert answer.headers["Location"] == "/desk/people?q=sam"


def test_one_link_posted_from_six_browsers_at_once_opens_one_session(app, make_staff):
    """Issue 24: the link is spent by one conditional update, so exactly one post wins."""
    import threading

    from scheduler.staff.models import ConsoleSession

    member, _ = make_staff("front_desk")
    path = link_path(staff_services.issue_sign_in_link(member.email))
    db.session.remove()
    start, answers = threading.Barrier(6), []

    def post():
        browser = app.test_client()  # its own cookies, its own form token, in its own thread
        token = csrf_of(browser.get(path))
        start.wait()
        answers.append(browser.post(path, data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [303] + [404] * 5
    assert db.session.scalar(select(func.count()).select_from(ConsoleSession)) == 1
