"""Running the periodic jobs: each on its own cadence, each item handled by one worker.

A worker runs every job in a thread of its own, so a slow one (a mail server taking seconds
a message) delays no other (a hold lapsing, a public request). Jobs that claim their own
items (the outbox's leased rows, the request inbox) run in every worker at once; the others
take the job's lease first (a conditional UPDATE of its job_runs row), so that one worker at a
time runs them and Stripe is called once per item. Leases are judged by the database's clock
(foundation/clock.py).

SIGTERM (every deploy) asks the jobs to stop: each finishes the item in hand, hands back what
it claimed and returns; the worker records that and exits within STOP_SECONDS. The worker
writes a heartbeat row every few seconds; /metrics shows it, and each job's last run.
"""

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from sqlalchemy import delete, or_, update

from ..foundation import clock, shutdown
from ..foundation.database import dialect_insert, write_transaction
from ..foundation.extensions import db
from .models import JobRun, WorkerBeat

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # a job running longer may be started by another worker too (a killed one frees it then)
HEARTBEAT_SECONDS = 5.0
STOP_SECONDS = 10.0
FORGET_WORKERS_AFTER = timedelta(days=1)  # a worker that vanished without a clean stop


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], object]
    every: float  # seconds from the end of one run to the start of the next
    exclusive: bool = True  # one worker at a time (the job's lease); False: it claims its own items


SKIPPED = "skipped: another worker is running it"


def run_job(job: Job, owner: str) -> object:
    """Run one job once, under its lease when exclusive; returns its result, or why it did not run."""
    if not _start(job, owner):
        return SKIPPED
    error = None
    try:
        result = job.func()
    except Exception as exc:  # one failing job must not stop the others
        db.session.rollback()
        log.exception("job %s failed", job.name)
        error, result = f"{type(exc).__name__}: {exc}"[:2000], f"failed: {exc}"
    _finish(job, owner, error)
    return result


def _start(job: Job, owner: str) -> bool:
    with write_transaction():
        db.session.execute(
            dialect_insert(JobRun.__table__).values(job=job.name).on_conflict_do_nothing(index_elements=["job"])
        )
        at = clock.now()
        row = JobRun.__table__.c
        taken = update(JobRun.__table__).where(row.job == job.name).values(last_started_at=at)
        if job.exclusive:
            free = or_(row.lease_until.is_(None), row.lease_until <= at, row.lease_owner == owner)
            taken = taken.where(free).values(lease_owner=owner, lease_until=at + LEASE)
        return db.session.execute(taken).rowcount == 1


def _finish(job: Job, owner: str, error: str | None) -> None:
    at = clock.now()
    values = {"last_finished_at": at, "last_error": error}
    if error is None:
        values["last_ok_at"] = at
    row = JobRun.__table__.c
    with write_transaction():
        db.session.execute(update(JobRun.__table__).where(row.job == job.name).values(**values))
        if job.exclusive:
            db.session.execute(
                update(JobRun.__table__)
                .where(row.job == job.name, row.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )


# ---- the worker process -------------------------------------------------------------------------


def work(app: Flask, jobs: list[Job], cap: float | None = None) -> None:
    """Run `jobs` until SIGTERM or SIGINT: a thread each, and a heartbeat; then stop within STOP_SECONDS."""
    owner = "wkr_" + secrets.token_hex(8)
    shutdown.reset()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: shutdown.request())
    # Daemon threads: a job stuck past STOP_SECONDS (a mail server that stopped answering) does
    # not keep the process alive; what it had claimed goes again when its lease runs out.
    threads = [
        threading.Thread(
            target=_cadence, args=(app, job, owner, min(job.every, cap or job.every)), name=job.name, daemon=True
        )
        for job in jobs
    ]
    threads.append(threading.Thread(target=_heartbeat, args=(app, owner), name="heartbeat", daemon=True))
    for thread in threads:
        thread.start()
    log.info("worker %s started: %s", owner, ", ".join(job.name for job in jobs))
    while not shutdown.wait(1.0):
        pass
    deadline = time.monotonic() + STOP_SECONDS
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0.1))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        log.warning("worker %s stopping with jobs still running: %s", owner, ", ".join(stuck))
    with app.app_context():
        _forget(owner)
    log.info("worker %s stopped", owner)


def _cadence(app: Flask, job: Job, owner: str, every: float) -> None:
    with app.app_context():
        while not shutdown.requested():
            run_job(job, owner)
            db.session.remove()
            shutdown.wait(every)


def _heartbeat(app: Flask, owner: str) -> None:
    """Every HEARTBEAT_SECONDS: this worker's beat (and the beats of workers gone a day are dropped)."""
    started = None
    with app.app_context():
        while not shutdown.requested():
            try:
                at = clock.now()
                started = started or at
                with write_transaction():
                    db.session.execute(delete(WorkerBeat).where(WorkerBeat.worker_id == owner))
                    db.session.execute(delete(WorkerBeat).where(WorkerBeat.beat_at < at - FORGET_WORKERS_AFTER))
                    db.session.add(
                        WorkerBeat(
                            worker_id=owner,
                            host=socket.gethostname()[:200],
                            pid=os.getpid(),
                            started_at=started,
                            beat_at=at,
                        )
                    )
            except Exception:  # the database is away for a moment: the next beat says so
                db.session.rollback()
                log.exception("worker heartbeat failed")
            finally:
                db.session.remove()
            shutdown.wait(HEARTBEAT_SECONDS)


def _forget(owner: str) -> None:
    try:
        with write_transaction():
            db.session.execute(delete(WorkerBeat).where(WorkerBeat.worker_id == owner))
    except Exception:
        log.exception("could not remove the worker's heartbeat")
    finally:
        db.session.remove()
