"""Delivery through a real SMTP server (aiosmtpd): retries, permanent failures, leases, several workers."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from scheduler.enrolment import events
from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.notifications.sender import LEASE, deliver_outbox
from tests.helpers import announce

ROOT = Path(__file__).resolve().parents[3]
FLASK = str(Path(sys.executable).parent / "flask")


def queue_waitlisted(cohort, make_enrolment, count):
    enrolments = [make_enrolment(cohort, status="waitlisted") for _ in range(count)]
    announce(*(events.Waitlisted(enrolment, position) for position, enrolment in enumerate(enrolments, 1)))
    return enrolments


def rows():
    db.session.rollback()  # a fresh snapshot: SQLite's WAL otherwise keeps showing the old one
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)))


def test_451_for_a_while_then_accepted_delivers_each_once_with_the_same_message_id(
    app, make_cohort, make_enrolment, smtp_server
):
    app.config["MAIL_URL"] = smtp_server.url
    queue_waitlisted(make_cohort(), make_enrolment, 3)
    ids = {r.id: r.message_id for r in rows()}
    smtp_server.refuse(451)  # every DATA refused until told otherwise

    start = clock.now()
    assert deliver_outbox(at=start) == {"sent": 0, "retry": 3, "failed": 0}
    assert all(r.status == "pending" and r.attempts == 1 and r.last_error.startswith("451") for r in rows())
    assert all(r.next_attempt_at == start + timedelta(minutes=1) for r in rows())
    # Not due yet: nothing is tried.
    assert deliver_outbox(at=start + timedelta(seconds=30)) == {"sent": 0, "retry": 0, "failed": 0}
    # Second failure doubles the wait.
    assert deliver_outbox(at=start + timedelta(minutes=1))["retry"] == 3
    assert all(r.attempts == 2 and r.next_attempt_at == start + timedelta(minutes=3) for r in rows())

    smtp_server.accept()
    assert deliver_outbox(at=start + timedelta(minutes=3))["sent"] == 3
    assert deliver_outbox(at=start + timedelta(hours=2)) == {"sent": 0, "retry": 0, "failed": 0}
    received = smtp_server.messages
    assert sorted(m.message_id for m in received) == sorted(ids.values())
    assert all(r.status == "sent" and r.attempts == 3 and r.last_error is None for r in rows())


def test_421_and_a_dead_server_are_retried(app, make_cohort, make_enrolment, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    queue_waitlisted(make_cohort(), make_enrolment, 2)
    smtp_server.refuse(421, times=1)
    start = clock.now()
    counts = deliver_outbox(at=start)
    assert counts == {"sent": 1, "retry": 1, "failed": 0}  # reconnected after the 421

    from tests.smtp_server import free_port

    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listening
    assert deliver_outbox(at=start + timedelta(minutes=5)) == {"sent": 0, "retry": 1, "failed": 0}
    [waiting] = [r for r in rows() if r.status == "pending"]
    assert waiting.attempts == 2 and "Connection" in waiting.last_error

    app.config["MAIL_URL"] = smtp_server.url
    assert deliver_outbox(at=start + timedelta(minutes=10))["sent"] == 1
    assert len(smtp_server.messages) == 2


def test_550_is_failed_not_retried_and_staff_see_it(app, client, auth, make_cohort, make_enrolment, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    [enrolment] = queue_waitlisted(make_cohort(), make_enrolment, 1)
    smtp_server.refuse(550, stage="rcpt")
    start = clock.now()
    assert deliver_outbox(at=start) == {"sent": 0, "retry": 0, "failed": 1}
    assert deliver_outbox(at=start + timedelta(days=2)) == {"sent": 0, "retry": 0, "failed": 0}
    assert smtp_server.messages == []

    response = client.get(f"/api/v1/enrolments/{enrolment.id}/messages", headers=auth("front_desk"))
    assert response.status_code == 200
    [message] = response.get_json()
    assert message["kind"] == "waitlisted" and message["status"] == "failed" and message["attempts"] == 1
    assert message["last_error"].startswith(f"{enrolment.email}: 550")
    assert message["refused_recipients"][enrolment.email][0] == 550
    assert "Group session" in message["subject"]

    # Staff fix the mailbox problem and resend: a new copy goes out.
    smtp_server.accept()
    resent = client.post(f"/api/v1/enrolments/{enrolment.id}/messages/{message['id']}/resend", headers=auth("admin"))
    assert resent.status_code == 201 and resent.get_json()["resend_of"] == message["id"]
    assert deliver_outbox()["sent"] == 1
    [received] = smtp_server.messages
    assert received.rcpt_tos == [enrolment.email]
    history = client.get(f"/api/v1/enrolments/{enrolment.id}/messages", headers=auth("admin")).get_json()
    assert [m["status"] for m in history] == ["failed", "sent"]


def test_messages_endpoint_is_for_the_desk_only(app, client, auth, make_cohort, make_enrolment):
    enrolment = make_enrolment(make_cohort())
    path = f"/api/v1/enrolments/{enrolment.id}/messages"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth("facilitator")).status_code == 403
    assert client.get(path, headers={"Authorization": f"Bearer {enrolment.manage_token}"}).status_code in (401, 403)
    missing = client.get("/api/v1/enrolments/enr_nope/messages", headers=auth("admin"))
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"
    unknown = client.post(f"{path}/msg_nope/resend", headers=auth("admin"))
    assert unknown.status_code == 404


def test_without_mail_url_messages_become_eml_files(app, make_cohort, make_enrolment, tmp_path):
    app.config["MAIL_DIR"] = str(tmp_path / "mail")
    enrolment = make_enrolment(make_cohort())
    announce(events.Confirmed(enrolment))
    assert deliver_outbox()["sent"] == 1
    assert deliver_outbox()["sent"] == 0
    [path] = (tmp_path / "mail").glob("*.eml")
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["To"] == enrolment.email and msg["Message-ID"] == rows()[0].message_id
    assert f"https://scheduler.test/join/{enrolment.join_token}" in msg.get_body(("plain",)).get_content()


def _worker(database_url, mail_url):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "worker-test-key",
        "PUBLIC_BASE_URL": "https://scheduler.test",
        "MAIL_URL": mail_url,
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [FLASK, "--app", "wsgi", "worker", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _poll(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_two_worker_processes_send_each_message_once(app, database_url, make_cohort, make_enrolment, smtp_server):
    queue_waitlisted(make_cohort(capacity=1), make_enrolment, 60)
    expected = {r.message_id for r in rows()}
    workers = [_worker(database_url, smtp_server.url) for _ in range(2)]
    try:
        smtp_server.wait_for_messages(60, timeout=90)
        _poll(lambda: all(r.status == "sent" for r in rows()), what="every row marked sent")
    finally:
        for proc in workers:
            proc.kill()
            proc.wait()
    counts = Counter(m.message_id for m in smtp_server.messages)
    assert set(counts) == expected and set(counts.values()) == {1}
    for message in smtp_server.messages:
        assert len(message.rcpt_tos) == 1 and message.message["To"] == message.rcpt_tos[0]


@pytest.mark.slow
def test_a_worker_killed_mid_send_leaves_the_message_to_be_sent_after_the_lease(
    app, database_url, make_cohort, make_enrolment, smtp_server
):
    app.config["MAIL_URL"] = smtp_server.url
    queue_waitlisted(make_cohort(), make_enrolment, 1)
    [row] = rows()
    smtp_server.block_rcpt()
    worker = _worker(database_url, smtp_server.url)
    try:
        assert smtp_server.handler.rcpt_waiting.wait(60), "the worker never reached RCPT"
        claimed_at = clock.now()
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    smtp_server.release_rcpt()
    [row] = rows()
    assert row.status == "sending" and row.lease_expires_at is not None

    # While the dead worker's lease runs, nobody else sends it.
    assert deliver_outbox(at=claimed_at + LEASE - timedelta(seconds=30))["sent"] == 0
    assert deliver_outbox(at=claimed_at + LEASE + timedelta(seconds=30))["sent"] == 1
    [received] = smtp_server.messages
    assert received.message_id == row.message_id
    assert deliver_outbox(at=claimed_at + LEASE * 3)["sent"] == 0
    assert len(smtp_server.messages) == 1


def test_credentials_in_mail_url_log_in_and_a_wrong_password_is_retried_not_failed(app, make_cohort, make_enrolment):
    from tests.smtp_server import SMTPServer

    server = SMTPServer(login=("mailer@example.org", "p@ss word")).start()
    try:
        queue_waitlisted(make_cohort(), make_enrolment, 1)
        start = clock.now()
        app.config["MAIL_TIMEOUT"] = 3
        app.config["MAIL_URL"] = f"smtp://mailer%40example.org:wrong@127.0.0.1:{server.port}"
        assert deliver_outbox(at=start) == {"sent": 0, "retry": 1, "failed": 0}
        assert rows()[0].last_error.startswith("ConnectionTrouble")
        app.config["MAIL_URL"] = f"smtp://mailer%40example.org:p%40ss%20word@127.0.0.1:{server.port}"
        assert deliver_outbox(at=start + timedelta(minutes=1))["sent"] == 1
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_a_mail_url_that_cannot_work_is_a_clear_error():
    from scheduler.notifications.sender import MailConfigError, SmtpTransport, backoff

    with pytest.raises(MailConfigError, match="smtp://user:pass@host:587"):
        SmtpTransport("http://mail.example.org")
    assert SmtpTransport("smtps://relay.example.org").port == 465
    assert SmtpTransport("smtp://relay.example.org").port == 587
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 7, 8, 20)] == [60, 120, 240, 3600, 3600, 3600]
