"""Issue 24: several machines against one PostgreSQL, with trouble.

Three web processes take 300 public enrolments; two worker processes, their clocks 20 s
apart (libfaketime), carry them out and send the mail to a server that answers slowly and
sometimes 451. One worker is told to stop (SIGTERM) mid-batch and one is killed (SIGKILL)
mid-batch, and each is started again. Every message arrives, under its own Message-ID,
none twice but at most the one a killed worker had in hand; and a hold lapses at the same
instant whichever worker looks, however wrong its machine's clock.
"""

import os
import re
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from live_server import ROOT, LiveServer, _bin, fire
from sqlalchemy import func, select, text

from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from scheduler.inbox.models import PublicRequest
from scheduler.notifications.models import OutboxMessage

pytestmark = pytest.mark.slow
FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
PEOPLE = 300
SKEW = "+20s"


def _worker(server: LiveServer, mail_url: str, skewed: bool) -> subprocess.Popen:
    env = {
        **server.environment(),
        "MAIL_URL": mail_url,
        "OUTBOX_LEASE_SECONDS": "10",
        "OUTBOX_RETRY_BASE_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if skewed:  # this machine's clock is 20 s ahead of the database's
        env.update(LD_PRELOAD=str(FAKETIME), FAKETIME=SKEW, FAKETIME_DONT_RESET="1")
    return subprocess.Popen(
        [_bin("flask"), "--app", "wsgi", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _count(statement) -> int:
    db.session.rollback()
    return db.session.scalar(statement)


def _database_now():
    db.session.rollback()
    return db.session.scalar(text("SELECT clock_timestamp()"))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_skewed_workers_stopped_and_killed_mid_batch_deliver_every_message_once(
    app, database_url, make_cohort, make_enrolment, smtp_server
):
    if not FAKETIME.exists():
        message = "libfaketime is not installed (apt-get install faketime)"
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: " + message)
        pytest.skip(message)
    smtp_server.slow(0.01, 0.06)
    smtp_server.refuse_sometimes(451, 0.1)
    cohort = make_cohort(capacity=12, price_amount=36000)
    # A hold that lapses 12 s from now by the database's clock: the skewed worker must not see it lapse early.
    lapsing = make_enrolment(make_cohort(capacity=1), status="pending_payment")
    db.session.execute(
        text("UPDATE enrolments SET hold_expires_at = clock_timestamp() + interval '12 seconds' WHERE id = :id"),
        {"id": lapsing.id},
    )
    db.session.commit()
    lapses_at = db.session.scalar(select(Enrolment.hold_expires_at).where(Enrolment.id == lapsing.id))

    with LiveServer(database_url, workers=3) as server:
        jobs = [
            (
                "POST",
                f"{server.url}/api/v1/cohorts/{cohort.id}/enrolments",
                {"name": f"P {i}", "email": f"p{i}@example.org"},
                None,
            )
            for i in range(PEOPLE)
        ]
        answers = fire(jobs, processes=8)
        assert Counter(status for status, *_ in answers) == {202: PEOPLE}
        workers = {
            "steady": _worker(server, smtp_server.url, skewed=False),
            "ahead": _worker(server, smtp_server.url, skewed=True),
        }
        try:
            # Until the hold's deadline (by the database's clock) it holds, whichever worker looks.
            while _database_now() < lapses_at - timedelta(seconds=1):
                assert _count(select(Enrolment.status).where(Enrolment.id == lapsing.id)) == "pending_payment"
                time.sleep(0.2)

            smtp_server.wait_for_messages(60, timeout=120)
            workers["steady"].send_signal(signal.SIGTERM)  # a deploy: finish what is in hand, hand back the rest
            told = time.monotonic()
            assert workers["steady"].wait(timeout=15) == 0, workers["steady"].stderr.read().decode()[-3000:]
            assert time.monotonic() - told < 10
            workers["steady"] = _worker(server, smtp_server.url, skewed=False)

            smtp_server.wait_for_messages(150, timeout=120)
            workers["ahead"].send_signal(signal.SIGKILL)  # a machine lost mid-batch
            workers["ahead"].wait(timeout=15)
            workers["ahead"] = _worker(server, smtp_server.url, skewed=True)

            _until(
                lambda: (
                    _count(select(func.count()).where(OutboxMessage.status != "sent")) == 0
                    and _count(select(func.count()).select_from(OutboxMessage)) >= PEOPLE
                ),
                timeout=180,
                what="every message sent",
            )
            assert _count(select(Enrolment.status).where(Enrolment.id == lapsing.id)) == "expired"
        finally:
            for worker in workers.values():
                worker.send_signal(signal.SIGTERM)
            for worker in workers.values():
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()

    db.session.rollback()
    assert _count(select(func.count()).where(PublicRequest.settled_at.is_(None))) == 0
    held = _count(select(func.count()).where(Enrolment.cohort_id == cohort.id, Enrolment.status == "pending_payment"))
    assert held == 12
    sent = set(db.session.scalars(select(OutboxMessage.message_id)))
    received = Counter(m.message_id for m in smtp_server.messages)
    assert set(received) == sent  # every message, and nothing that is not one of them
    twice = [message_id for message_id, times in received.items() if times > 1]
    assert len(twice) <= 1, twice  # at most the one the killed worker had in hand
    people = {m.message["To"] for m in smtp_server.messages if re.fullmatch(r"p\d+@example\.org", m.message["To"])}
    assert len(people) == PEOPLE  # each person heard
