"""The development mailbox, GET /dev/mail: the .eml files the worker wrote, newest first, links clickable.

Only in development with mail written to files (what `make run` does); anywhere else the path
answers exactly as an unknown address does. The messages here are written the real way (an event
queues a message, deliver_outbox() writes it through the file transport), except those whose point
is what no message of ours carries (RFC 2047 headers, no text part).
"""

import os
import re
from pathlib import Path

import pytest

from scheduler import create_app
from scheduler.enrolment import events
from scheduler.foundation.config import for_tests, from_environment
from scheduler.foundation.extensions import db
from scheduler.notifications.jobs import deliver_outbox
from scheduler.pages.dev_mail import linkify, mail_folder
from tests.helpers import announce


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def app(app, database_url, mail_dir):
    """The app as `make run` starts it: development, no MAIL_URL, mail written under mail_dir.

    It stands in for the suite's app (which empties the tables afterwards, on the same database).
    """
    dev = create_app(for_tests(database_url, PRODUCTION=False, MAIL_DIR=str(mail_dir)))
    with dev.app_context():
        yield dev
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def write_waitlisted(cohort, make_enrolment, *emails, **fields):
    """One 'waitlisted' email to each address, written to MAIL_DIR by the sender; returns the enrolments."""
    enrolments = [make_enrolment(cohort, status="waitlisted", email=email, **fields) for email in emails]
    announce(*(events.Waitlisted(enrolment, position) for position, enrolment in enumerate(enrolments, 1)))
    assert deliver_outbox()["sent"] == len(emails)
    return enrolments


def file_of(mail_dir: Path, enrolment) -> Path:
    """The file written for this enrolment's one message (named <created>-<kind>-<row id>.eml)."""
    [path] = [p for p in mail_dir.glob("*.eml") if enrolment.email in p.read_text()]
    return path


def page(client, path):
    answer = client.get(path)
    assert answer.status_code == 200 and answer.mimetype == "text/html", (path, answer.status_code)
    assert answer.headers["Cache-Control"] == "no-store"
    assert '<meta name="robots" content="noindex, nofollow">' in answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def message_links(html: str) -> list[tuple[str, str]]:
    """(href, subject) of each message row of the list, in order."""
    return re.findall(r'<a href="(/dev/mail/[^"]+)">([^<]*)</a>', html)


def test_an_empty_mailbox_says_so(client, mail_dir):
    html = page(client, "/dev/mail")
    assert "<h1>Development mailbox</h1>" in html
    assert "only in development" in html and str(mail_dir) in html
    assert "No messages yet." in html and "<table" not in html
    assert page(client, "/dev/mail/") == html


def test_the_list_shows_each_message_newest_first_with_its_recipient_and_subject(
    client, make_cohort, make_enrolment, mail_dir
):
    ana, ben, cy = write_waitlisted(
        make_cohort(), make_enrolment, "ana@example.org", "ben@example.org", "cy@example.org"
    )
    (mail_dir / "half-written.tmp").write_text("not a message")  # the transport's file before its rename
    (mail_dir / "notes.txt").write_text("not a message either")
    # Written in this order: Ben last; Ana and Cy in the same second (then by name, last first).
    a, b, c = (file_of(mail_dir, e) for e in (ana, ben, cy))
    os.utime(a, (1_900_000_000, 1_900_000_000))
    os.utime(c, (1_900_000_000, 1_900_000_000))
    os.utime(b, (1_900_000_100, 1_900_000_100))
    same_second = sorted([a, c], key=lambda p: p.name, reverse=True)

    html = page(client, "/dev/mail")
    rows = message_links(html)
    assert [href for href, _ in rows] == [f"/dev/mail/{p.name}" for p in (b, *same_second)]
    assert [subject for _, subject in rows] == [
        "You&#39;re on the waitlist (number 2) · Group session · Test Clinic",
        *(
            f"You&#39;re on the waitlist (number {1 if p == a else 3}) · Group session · Test Clinic"
            for p in same_second
        ),
    ]
    recipients = [e.email for e in (ben, *(ana if p == a else cy for p in same_second))]
    positions = [html.index(email) for email in recipients]
    assert positions == sorted(positions)
    assert '<table class="table table--stack" aria-label="Messages written, newest first">' in html
    assert '<th scope="col">To</th><th scope="col">Subject</th><th scope="col">Written</th>' in html
    assert "half-written" not in html and "notes.txt" not in html


def test_a_message_shows_its_headers_and_text_with_the_manage_link_clickable(
    client, make_cohort, make_enrolment, mail_dir
):
    [sam] = write_waitlisted(make_cohort(), make_enrolment, "sam@example.org", name="Sam Rivera")
    [(href, subject)] = message_links(page(client, "/dev/mail"))

    html = page(client, href)
    assert f"<h1>{subject}</h1>" in html
    assert "<dt>From</dt><dd>Group programs &lt;groups@scheduler.test&gt;</dd>" in html
    assert "<dt>To</dt><dd>sam@example.org</dd>" in html
    assert re.search(r"<dt>Date</dt><dd>\w{3}, \d{2} \w{3} \d{4} [\d:]{8} \+0000</dd>", html)
    assert "Hello Sam Rivera," in html and "You are number 1." in html
    manage = f"https://scheduler.test/me/{sam.id}?token={sam.manage_token}"
    assert f'<a href="{manage}">{manage}</a>' in html
    assert '<a href="/dev/mail">Back to the development mailbox</a>' in html
    assert '<pre class="mail-text">' in html and "dev_mail.css" in html
    # One click from here, the person's page, as from their mail program.
    opened = client.get(manage.removeprefix("https://scheduler.test"))
    assert opened.status_code == 303 and opened.headers["Location"] == f"/me/{sam.id}"


def test_html_in_a_message_is_shown_as_text_never_rendered(client, make_cohort, make_enrolment, mail_dir):
    name = '<b>Sam</b> <script>alert("x")</script> <a href="https://evil.example/">click</a>'
    write_waitlisted(make_cohort(), make_enrolment, "sam@example.org", name=name)
    [(href, _)] = message_links(page(client, "/dev/mail"))
    html = page(client, href)
    assert "<script>alert" not in html and "<b>Sam</b>" not in html and ">click</a>" not in html
    assert (
        "Hello &lt;b&gt;Sam&lt;/b&gt; &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; "
        '&lt;a href=&#34;<a href="https://evil.example/">https://evil.example/</a>&#34;&gt;click&lt;/a&gt;,'
    ) in html


HAND_MADE = (
    "From: =?utf-8?q?Cl=C3=ADnica_Sol?= <desk@clinic.test>\r\n"
    "To: =?utf-8?b?Wm/DqyBPJ0JyaWVu?= <zoe@example.org>\r\n"
    "Subject: =?utf-8?q?Caf=C3=A9_group_=E2=80=94_your_r=C3=A9sum=C3=A9?=\r\n"
    "Date: Thu, 03 Oct 2030 18:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Read (https://example.test/wiki/Caf=C3=A9_(group)). Then https://example.test/a?x=3D1&y=3D2, or=\r\n"
    " <https://example.test/b>; not javascript:alert(1) nor http:// alone.\r\n"
)


def test_a_hand_made_message_has_its_encoded_headers_decoded_and_only_http_links(client, mail_dir):
    mail_dir.mkdir()
    (mail_dir / "20301003-180000-hand-made.eml").write_bytes(HAND_MADE.encode())
    html = page(client, "/dev/mail")
    assert message_links(html) == [("/dev/mail/20301003-180000-hand-made.eml", "Café group — your résumé")]
    assert "Zoë O&#39;Brien &lt;zoe@example.org&gt;" in html

    html = page(client, "/dev/mail/20301003-180000-hand-made.eml")
    assert "<h1>Café group — your résumé</h1>" in html
    assert "<dt>From</dt><dd>Clínica Sol &lt;desk@clinic.test&gt;</dd>" in html
    assert "<dt>Date</dt><dd>Thu, 03 Oct 2030 18:00:00 +0000</dd>" in html
    assert (
        'Read (<a href="https://example.test/wiki/Café_(group)">https://example.test/wiki/Café_(group)</a>). '
        'Then <a href="https://example.test/a?x=1&amp;y=2">https://example.test/a?x=1&amp;y=2</a>, or '
        '&lt;<a href="https://example.test/b">https://example.test/b</a>&gt;; '
        "not javascript:alert(1) nor http:// alone."
    ) in html
    assert html.count('<a href="https://example.test') == 3


def test_a_message_without_a_text_part_says_so_and_shows_none_of_its_html(client, mail_dir):
    mail_dir.mkdir()
    (mail_dir / "only-html.eml").write_bytes(
        b"From: desk@clinic.test\r\nTo: zoe@example.org\r\nSubject: Only HTML\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hi <script>alert(1)</script></p>\r\n"
    )
    html = page(client, "/dev/mail/only-html.eml")
    assert "This message has no plain-text part." in html
    assert "alert(1)" not in html and "<p>Hi" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/dev/mail/..%2Fsecret.eml",
        "/dev/mail/../secret.eml",
        "/dev/mail/%2E%2E/secret.eml",
        "/dev/mail/..%5Csecret.eml",
        "/dev/mail/sub/inner.eml",
        "/dev/mail/sub%2Finner.eml",
        "/dev/mail/notes.txt",
        "/dev/mail/half-written.tmp",
        "/dev/mail/missing.eml",
        "/dev/mail/.eml",
        "/dev/mail/x.eml%00",
        "/dev/mail/" + "%2E%2E%2F" * 8 + "etc%2Fpasswd",
    ],
)
def test_only_a_message_the_folder_lists_opens(client, mail_dir, path):
    mail_dir.mkdir()
    (mail_dir.parent / "secret.eml").write_text("Subject: secret outside the folder\r\n\r\nsecret body\r\n")
    (mail_dir / "sub").mkdir()
    (mail_dir / "sub" / "inner.eml").write_text("Subject: secret in a subfolder\r\n\r\nsecret body\r\n")
    (mail_dir / "notes.txt").write_text("Subject: secret notes\r\n\r\nsecret body\r\n")
    (mail_dir / "half-written.tmp").write_text("Subject: secret half\r\n\r\nsecret body\r\n")
    (mail_dir / "x.eml").write_text("Subject: a real one\r\n\r\nbody\r\n")
    answer = client.get(path)
    assert answer.status_code == 404, path
    assert "secret" not in answer.get_data(as_text=True)


def test_a_message_deleted_meanwhile_is_404_and_leaves_the_list(client, make_cohort, make_enrolment, mail_dir):
    [kim] = write_waitlisted(make_cohort(), make_enrolment, "kim@example.org")
    path = file_of(mail_dir, kim)
    assert page(client, f"/dev/mail/{path.name}")
    path.unlink()  # an erasure deletes a person's mail files
    gone = client.get(f"/dev/mail/{path.name}")
    assert gone.status_code == 404 and gone.mimetype == "text/html"
    assert "No messages yet." in page(client, "/dev/mail")


def test_at_most_200_are_listed(client, mail_dir):
    mail_dir.mkdir()
    for n in range(205):
        path = mail_dir / f"m{n:03}.eml"
        path.write_bytes(f"To: p{n}@example.org\r\nSubject: Number {n}\r\n\r\nHello\r\n".encode())
        os.utime(path, (1_900_000_000 + n, 1_900_000_000 + n))
    html = page(client, "/dev/mail")
    rows = message_links(html)
    assert len(rows) == 200 and rows[0][1] == "Number 204" and rows[-1][1] == "Number 5"
    assert "The newest 200 of 205 messages." in html


# ---- anywhere else: no such page ---------------------------------------------------------------


PROBES = ("/dev/mail", "/dev/mail/", "/dev/mail/x.eml", "/dev/mail/..%2Fx.eml", "/dev/mail/sub/x.eml")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="the tests' own configuration"),
        pytest.param({"MAIL_DIR": "{mail_dir}"}, id="mail to files, not declared development"),
        pytest.param({"PRODUCTION": False, "MAIL_DIR": ""}, id="development, no mail folder"),
        pytest.param(
            {"PRODUCTION": False, "MAIL_DIR": "{mail_dir}", "MAIL_URL": "smtp://127.0.0.1:2525"},
            id="development, SMTP configured",
        ),
        pytest.param(
            {
                "PRODUCTION": True,
                "SECRET_KEY_FROM_ENVIRONMENT": True,
                "SECRET_KEY": "a-long-random-value-kept-secret-for-this-test",
                "MAIL_DIR": "{mail_dir}",
            },
            id="production with mail to files",
        ),
    ],
)
def test_elsewhere_dev_mail_answers_as_an_unknown_page_does(database_url, mail_dir, overrides):
    mail_dir.mkdir()
    (mail_dir / "x.eml").write_text("To: sam@example.org\r\nSubject: secret\r\n\r\nsecret body\r\n")
    config = {key: str(mail_dir) if value == "{mail_dir}" else value for key, value in overrides.items()}
    elsewhere = create_app(for_tests(database_url, **config))
    client = elsewhere.test_client()
    unknown = client.get("/nope-xyz")
    assert unknown.status_code == 404
    for path in PROBES:
        answer = client.get(path)
        assert (answer.status_code, answer.content_type, answer.get_data()) == (
            unknown.status_code,
            unknown.content_type,
            unknown.get_data(),
        ), path
    assert not any(rule.rule.startswith("/dev") for rule in elsewhere.url_map.iter_rules())


def test_a_config_changed_after_start_closes_the_mailbox_like_an_unknown_page(app, client, mail_dir):
    mail_dir.mkdir()
    (mail_dir / "x.eml").write_text("To: sam@example.org\r\nSubject: secret\r\n\r\nsecret body\r\n")
    app.config["MAIL_URL"] = "smtp://127.0.0.1:2525"
    unknown = client.get("/nope-xyz")
    for path in ("/dev/mail", "/dev/mail/x.eml"):
        answer = client.get(path)
        assert (answer.status_code, answer.content_type, answer.get_data()) == (
            404,
            unknown.content_type,
            unknown.get_data(),
        )


def test_make_run_s_settings_are_development_with_mail_to_files(monkeypatch, tmp_path):
    """SCHEDULER_ENV=development (what `make run` exports), no MAIL_URL: the mailbox, in MAIL_DIR."""
    for name in ("SCHEDULER_ENV", "FLASK_ENV", "DATABASE_URL", "MAIL_URL", "MAIL_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCHEDULER_ENV", "development")
    monkeypatch.setenv("MAIL_DIR", str(tmp_path / "mail"))
    assert mail_folder(from_environment()) == tmp_path / "mail"
    monkeypatch.setenv("DATABASE_URL", "postgresql://me@127.0.0.1/scheduler")  # a local PostgreSQL: still development
    assert mail_folder(from_environment()) == tmp_path / "mail"
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:2525")
    assert mail_folder(from_environment()) is None
    monkeypatch.delenv("MAIL_URL")
    monkeypatch.setenv("SCHEDULER_ENV", "production")
    assert mail_folder(from_environment()) is None
    monkeypatch.delenv("SCHEDULER_ENV")  # a DATABASE_URL and nothing declared: a deployment
    assert mail_folder(from_environment()) is None


def test_linkify_escapes_first_and_links_only_http_urls():
    assert str(linkify('<i>x</i> "https://a.example/p?q=1&r=2". http://b.example/(c)) x')) == (
        '&lt;i&gt;x&lt;/i&gt; &#34;<a href="https://a.example/p?q=1&amp;r=2">https://a.example/p?q=1&amp;r=2</a>&#34;. '
        '<a href="http://b.example/(c)">http://b.example/(c)</a>) x'
    )
    assert str(linkify("ftp://a.example/ javascript:alert(1) data:text/html,<b>")) == (
        "ftp://a.example/ javascript:alert(1) data:text/html,&lt;b&gt;"
    )
