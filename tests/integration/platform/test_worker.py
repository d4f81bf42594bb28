"""Issue 24: the worker process: its heartbeat and each job's last run on /metrics, one worker at a
time for the jobs that do not claim their own items, and one clock (the database's)."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from scheduler.jobs.models import JobRun, WorkerBeat
from scheduler.jobs.runner import SKIPPED, Job, run_job

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "metrics-test-token"
EVERY_FEW_SECONDS = {"handle-public-requests", "expire-holds-and-offers", "deliver-outbox"}


def _metrics(client) -> dict:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


@pytest.mark.slow
def test_a_running_worker_shows_its_heartbeat_and_its_jobs_on_metrics_and_leaves_cleanly(app, client, database_url):
    app.config["METRICS_TOKEN"] = TOKEN
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "worker-test-key", "MAIL_URL": ""}
    env["PUBLIC_BASE_URL"] = "https://scheduler.test"
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            seen = _metrics(client)
            ran = {labels["job"] for labels, _ in seen.get("scheduler_job_last_run_timestamp_seconds", [])}
            if seen.get("scheduler_worker_heartbeat_timestamp_seconds") and EVERY_FEW_SECONDS <= ran:
                break
            time.sleep(0.2)
        [(labels, beat)] = seen["scheduler_worker_heartbeat_timestamp_seconds"]
        assert labels["worker"].startswith("wkr_") and abs(beat - time.time()) < 30
        assert EVERY_FEW_SECONDS <= ran
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0, worker.stderr.read().decode()[-3000:]
    db.session.rollback()
    assert db.session.scalars(select(WorkerBeat)).all() == []  # a clean stop says goodbye
    assert not _metrics(client).get("scheduler_worker_heartbeat_timestamp_seconds")


def test_a_job_that_does_not_claim_its_own_items_runs_in_one_worker_at_a_time(app):
    started, release = threading.Event(), threading.Event()

    def slow_job():
        started.set()
        release.wait(10)
        return "done"

    job = Job("a-slow-job", slow_job, every=1)
    results = {}

    def first():
        with app.app_context():
            results["first"] = run_job(job, "wkr_first")
            db.session.remove()

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(10)
    assert run_job(job, "wkr_second") == SKIPPED  # the first holds the job's lease
    release.set()
    thread.join(10)
    assert results["first"] == "done"
    assert run_job(Job("a-slow-job", lambda: "again", every=1), "wkr_second") == "again"  # the lease was handed back
    db.session.rollback()
    row = db.session.get(JobRun, "a-slow-job")
    assert row.lease_owner is None and row.last_ok_at is not None and row.last_error is None


def test_a_failing_job_is_recorded_and_its_lease_handed_back(app):
    def broken():
        raise RuntimeError("the mail server is on fire")

    assert run_job(Job("a-broken-job", broken, every=1), "wkr_one").startswith("failed")
    db.session.rollback()
    row = db.session.get(JobRun, "a-broken-job")
    assert row.lease_owner is None and row.last_ok_at is None and "on fire" in row.last_error


def test_the_clock_follows_the_database_when_told_to():
    ahead = timedelta(seconds=20)
    clock.follow_database(lambda: datetime.now(UTC) + ahead)
    try:
        assert abs((clock.now() - datetime.now(UTC)) - ahead) < timedelta(seconds=1)
    finally:
        clock.follow_database(None)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)


def test_threads_asking_the_time_while_the_first_measurement_runs_wait_for_it():
    """A worker's job threads start together: none may read the machine's clock unadjusted meanwhile."""
    ahead = timedelta(seconds=20)

    def slow_database_now():
        time.sleep(0.3)
        return datetime.now(UTC) + ahead

    clock.follow_database(slow_database_now)
    seen = []
    try:
        threads = [threading.Thread(target=lambda: seen.append(clock.now() - datetime.now(UTC))) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    finally:
        clock.follow_database(None)
    assert len(seen) == 5 and all(abs(difference - ahead) < timedelta(seconds=1) for difference in seen), seen
