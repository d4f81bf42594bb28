"""Prometheus metrics: request latency by route and status, and what the database says at scrape time.

Request latency is a histogram each process records. With several gunicorn workers, a
scrape reaches one of them: set PROMETHEUS_MULTIPROC_DIR to an empty directory made at
start (gunicorn.conf.py makes one) and every worker's counts are summed. Numbers that
live in the database (outbox depth and age, holds about to lapse, the job workers'
heartbeats and each job's last run) are computed by whichever process answers the
scrape, so they are the same whoever answers.
"""

import os
from datetime import UTC, datetime, timedelta

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

HOLD_LAPSE_WINDOW = timedelta(minutes=5)

# Not registered in the global registry: each scrape builds its own (see render()).
REQUEST_SECONDS = Histogram(
    "scheduler_request_duration_seconds",
    "Time to answer a request, by route (the URL rule, never the path), method and status.",
    ["route", "method", "status"],
    registry=None,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


LOCK_HOLD_SECONDS = Histogram(
    "scheduler_lock_hold_seconds",
    "How long a write transaction held its lock, from taking it to commit or rollback: on PostgreSQL "
    "by the kind of the first row it locked (`cohort`, …), on SQLite `database` (its write lock).",
    ["lock"],
    registry=None,
    buckets=(0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.125, 0.25, 0.5, 1, 5),
)


def observe(route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)


def observe_lock(kind: str, seconds: float) -> None:
    LOCK_HOLD_SECONDS.labels(kind).observe(seconds)


def init_app(app) -> None:
    app.extensions.setdefault("request_observers", []).append(observe)
    app.extensions.setdefault("lock_observers", []).append(observe_lock)


class _DatabaseGauges:
    """Values read from the database once per scrape."""

    def __init__(self, values: dict | None):
        self.values = values

    def collect(self):
        up = GaugeMetricFamily("scheduler_database_up", "1 when the database answered this scrape.")
        up.add_metric([], 1 if self.values is not None else 0)
        yield up
        if self.values is None:
            return
        depth = GaugeMetricFamily(
            "scheduler_outbox_messages", "Messages waiting to be sent, by status.", labels=["status"]
        )
        for status in ("pending", "sending"):
            depth.add_metric([status], self.values["outbox"].get(status, 0))
        yield depth
        yield GaugeMetricFamily(
            "scheduler_outbox_oldest_pending_age_seconds",
            "Age of the oldest message not yet sent (0 when none waits).",
            value=self.values["oldest_age"],
        )
        yield GaugeMetricFamily(
            "scheduler_holds_lapsing_soon",
            "Seats held pending payment whose hold lapses within the next 5 minutes.",
            value=self.values["holds_lapsing"],
        )
        beats = GaugeMetricFamily(
            "scheduler_worker_heartbeat_timestamp_seconds",
            "When each running worker last said it was alive (every 5 s; a worker stopped cleanly is removed).",
            labels=["worker", "host"],
        )
        for worker, host, at in self.values["workers"]:
            beats.add_metric([worker, host], at)
        yield beats
        runs = GaugeMetricFamily(
            "scheduler_job_last_run_timestamp_seconds", "When each periodic job last finished a run.", labels=["job"]
        )
        oks = GaugeMetricFamily(
            "scheduler_job_last_ok_timestamp_seconds",
            "When each periodic job last finished without error.",
            labels=["job"],
        )
        for job, finished, ok in self.values["jobs"]:
            if finished is not None:
                runs.add_metric([job], finished)
            if ok is not None:
                oks.add_metric([job], ok)
        yield runs
        yield oks


def _database_values() -> dict | None:
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from ..enrolment.models import Enrolment
    from ..jobs.models import JobRun, WorkerBeat
    from ..notifications.models import OutboxMessage
    from . import clock
    from .extensions import db

    now = clock.now()
    try:
        outbox = dict(
            db.session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.status.in_(("pending", "sending")))
                .group_by(OutboxMessage.status)
            ).all()
        )
        oldest = db.session.scalar(
            select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status.in_(("pending", "sending")))
        )
        holds = db.session.scalar(
            select(func.count()).where(
                Enrolment.status == "pending_payment",
                Enrolment.hold_expires_at > now,
                Enrolment.hold_expires_at <= now + HOLD_LAPSE_WINDOW,
            )
        )
        workers = db.session.execute(select(WorkerBeat.worker_id, WorkerBeat.host, WorkerBeat.beat_at)).all()
        jobs = db.session.execute(select(JobRun.job, JobRun.last_finished_at, JobRun.last_ok_at)).all()
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        return None
    if oldest is not None and getattr(oldest, "tzinfo", None) is None:  # SQLite may hand back naive UTC or text
        oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=UTC)
    return {
        "outbox": outbox,
        "oldest_age": max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0,
        "holds_lapsing": holds or 0,
        "workers": [(worker, host, at.timestamp()) for worker, host, at in workers],
        "jobs": [(job, _seconds(finished), _seconds(ok)) for job, finished, ok in jobs],
    }


def _seconds(instant) -> float | None:
    return instant.timestamp() if instant is not None else None


def render() -> tuple[bytes, str]:
    """The exposition text for one scrape, and its content type."""
    registry = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
        registry.register(LOCK_HOLD_SECONDS)
    registry.register(_DatabaseGauges(_database_values()))
    return generate_latest(registry), CONTENT_TYPE_LATEST
