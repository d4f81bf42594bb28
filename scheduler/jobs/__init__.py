"""Periodic jobs: plain functions that take no arguments and run alone.

Each domain's jobs.py holds plain functions; this module lists them (it sits above every
domain, so no domain imports it). `flask --app wsgi jobs run-once`
runs each once; `flask --app wsgi worker` repeats that forever. One failing job is
logged and does not stop the others. Jobs must be safe with several workers at once
(row locks, SKIP LOCKED, or unique keys), since the Procfile may scale the worker.
"""

import logging
import time

import click
from flask.cli import AppGroup

from ..foundation.extensions import db

log = logging.getLogger(__name__)
JOBS: dict = {}


def _load_jobs() -> None:
    """The periodic jobs, in the order a pass runs them (mail last, so it carries the pass's news)."""
    from ..enrolment import jobs as enrolment
    from ..inbox import services as inbox
    from ..notifications import jobs as notifications
    from ..payments import jobs as payments
    from ..privacy import jobs as privacy

    JOBS.update(
        {
            # First: a public request's seat and email come before the pass's other news.
            "handle-public-requests": inbox.handle_requests,
            "expire-holds-and-offers": enrolment.expire_holds_and_offers,
            "finish-creating-payments": enrolment.finish_creating_payments,
            "cancel-lapsed-payment-intents": enrolment.cancel_lapsed_payment_intents,
            "send-refunds": payments.send_refunds,
            "send-reminders": notifications.send_reminders,
            # Before delivery: an erased person's unsent mail is cancelled, not sent.
            "erase-after-retention": privacy.erase_after_retention,
            "deliver-outbox": notifications.deliver_outbox,
        }
    )


def run_all_once() -> dict:
    """Run every job once; returns {name: result or error text}."""
    results = {}
    for name, func in JOBS.items():
        try:
            results[name] = func()
        except Exception as exc:  # one failing job must not stop the others
            db.session.rollback()
            log.exception("job %s failed", name)
            results[name] = f"failed: {exc}"
    return results


jobs_cli = AppGroup("jobs", help="Run the periodic jobs.")


@jobs_cli.command("run-once")
def run_once_command():
    """Run every job once, then exit."""
    _load_jobs()
    for name, result in run_all_once().items():
        click.echo(f"{name}: {result}")


# Between passes the worker looks at the request inbox this often, so that a public request is
# handled (and its email written) within about a second.
INBOX_POLL_SECONDS = 0.5


@click.command("worker")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
def worker_command(interval):
    """Run the jobs forever: deliver mail, expire holds and offers, send reminders."""
    from ..inbox import services as inbox
    from ..notifications import jobs as notifications

    _load_jobs()
    log.info("worker started: %s", ", ".join(JOBS))
    while True:
        run_all_once()
        db.session.remove()
        next_pass = time.monotonic() + interval
        while (left := next_pass - time.monotonic()) > 0:
            time.sleep(min(INBOX_POLL_SECONDS, left))
            if _run_quietly(inbox.handle_requests):
                _run_quietly(notifications.deliver_outbox)  # its emails go now, not at the next pass
            db.session.remove()


def _run_quietly(job) -> object:
    """Run one job between passes; a failure is logged and the loop goes on."""
    try:
        return job()
    except Exception:
        db.session.rollback()
        log.exception("job %s failed", job.__name__)
        return None
