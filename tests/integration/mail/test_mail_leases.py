"""Issue 24: the outbox with several workers and a slow mail server sends each message once.

A worker claims only what it can send in half its lease, renews the lease of what it still
holds, records each outcome as it happens, and when told to stop (SIGTERM) finishes the
message in hand, hands the rest back and exits within seconds.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from scheduler.enrolment.events import Waitlisted
from scheduler.foundation import shutdown
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.notifications.sender import deliver_outbox
from tests.helpers import announce

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
FLASK = str(Path(sys.executable).parent / "flask")


def _queue(make_cohort, make_enrolment, count: int) -> set[str]:
    cohort = make_cohort(capacity=1)
    people = [make_enrolment(cohort, status="waitlisted") for _ in range(count)]
    announce(*(Waitlisted(person, n + 1) for n, person in enumerate(people)))
    db.session.rollback()
    return set(db.session.scalars(select(OutboxMessage.message_id)))


def _statuses() -> Counter:
    db.session.rollback()
    return Counter(db.session.scalars(select(OutboxMessage.status)))


def test_two_workers_with_a_short_lease_and_a_slow_server_send_each_message_once(
    app, make_cohort, make_enrolment, smtp_server
):
    """The probe of issue 24: a 2 s lease, sends of 0.3-0.45 s, two workers (before: 40 of 60 twice)."""
    app.config["MAIL_URL"] = smtp_server.url
    smtp_server.slow(0.3, 0.45)
    expected = _queue(make_cohort, make_enrolment, 24)
    db.session.remove()
    errors = []

    def worker():
        with app.app_context():
            try:
                while _statuses()["pending"]:
                    deliver_outbox(batch_size=5, lease=timedelta(seconds=2))
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    received = Counter(m.message_id for m in smtp_server.messages)
    assert set(received) == expected and set(received.values()) == {1}
    assert _statuses() == {"sent": len(expected)}


def _worker(database_url, mail_url, **env):
    return subprocess.Popen(
        [FLASK, "--app", "wsgi", "worker"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "worker-test-key",
            "PUBLIC_BASE_URL": "https://scheduler.test",
            "MAIL_URL": mail_url,
            "PYTHONUNBUFFERED": "1",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_worker_told_to_stop_finishes_the_message_in_hand_and_hands_back_the_rest(
    app, database_url, make_cohort, make_enrolment, smtp_server
):
    smtp_server.slow(0.15, 0.25)
    expected = _queue(make_cohort, make_enrolment, 60)
    worker = _worker(database_url, smtp_server.url)
    try:
        smtp_server.wait_for_messages(8, timeout=60)
        worker.send_signal(signal.SIGTERM)
        told = time.monotonic()
        worker.wait(timeout=15)
        stopped_in = time.monotonic() - told
    finally:
        worker.kill()
    assert worker.returncode == 0, worker.stderr.read().decode()[-3000:]
    assert stopped_in < 10
    # Nothing left claimed: what it sent is recorded as sent, the rest is due again at once.
    statuses = _statuses()
    assert statuses["sending"] == 0 and statuses["sent"] == len(smtp_server.messages) < len(expected)
    # Another worker sends the rest; none goes twice.
    successor = _worker(database_url, smtp_server.url)
    try:
        smtp_server.wait_for_messages(len(expected), timeout=90)
        deadline = time.monotonic() + 30
        while _statuses()["sent"] < len(expected) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        successor.send_signal(signal.SIGTERM)
        successor.wait(timeout=15)
    received = Counter(m.message_id for m in smtp_server.messages)
    assert set(received) == expected and set(received.values()) == {1}
    assert _statuses() == {"sent": len(expected)}


def test_the_stop_flag_hands_back_a_claimed_batch(app, make_cohort, make_enrolment, smtp_server):
    """In process: a stop asked before delivery starts claims nothing and sends nothing."""
    app.config["MAIL_URL"] = smtp_server.url
    _queue(make_cohort, make_enrolment, 3)
    shutdown.request()
    try:
        assert deliver_outbox() == {"sent": 0, "retry": 0, "failed": 0}
    finally:
        shutdown.reset()
    assert _statuses() == {"pending": 3}
