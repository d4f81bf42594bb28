"""Periodic jobs: plain functions that take no arguments, each on its own cadence.

Each domain's jobs.py holds plain functions; this module lists them (it sits above every
domain, so no domain imports it) with how often each runs and whether it claims its own items
(runner.py). `flask --app wsgi jobs run-once` runs each once, in the order below;
`flask --app wsgi worker` runs each in a thread of its own until SIGTERM. One failing job is
logged and does not stop the others. Any number of workers may run: a job either claims its
own items (leases, SKIP LOCKED) or runs under the job's lease, one worker at a time.
"""

import logging
import secrets

import click
from flask import current_app
from flask.cli import AppGroup

from .runner import Job, run_job, work

log = logging.getLogger(__name__)
JOBS: dict = {}  # name -> function, in the order run-once runs them
SCHEDULE: list[Job] = []


def _load_jobs() -> None:
    """The periodic jobs, in the order a pass runs them (mail last, so it carries the pass's news)."""
    from ..admission import queue as admission_queue
    from ..enrolment import jobs as enrolment
    from ..inbox import services as inbox
    from ..notifications import jobs as notifications
    from ..payments import jobs as payments
    from ..privacy import jobs as privacy

    SCHEDULE[:] = [
        # A public request is answered "check your email": handled within about a second.
        Job("handle-public-requests", inbox.handle_requests, every=0.5, exclusive=False),
        Job("expire-holds-and-offers", enrolment.expire_holds_and_offers, every=5),
        # Intake programs: approvals past approval_valid_days expire; seats of cohorts that opened
        # go to the approved people in queue order.
        Job("offer-seats-to-queues", admission_queue.run_queue, every=30),
        Job("finish-creating-payments", enrolment.finish_creating_payments, every=15),
        Job("cancel-lapsed-payment-intents", enrolment.cancel_lapsed_payment_intents, every=30),
        Job("send-refunds", payments.send_refunds, every=30),
        Job("send-reminders", notifications.send_reminders, every=60),
        # Before delivery in a pass: an erased person's unsent mail is cancelled, not sent.
        Job("erase-after-retention", privacy.erase_after_retention, every=3600),
        # Several workers send at once, each its own leased rows.
        Job("deliver-outbox", notifications.deliver_outbox, every=1, exclusive=False),
    ]
    JOBS.clear()
    JOBS.update({job.name: job.func for job in SCHEDULE})


def run_all_once() -> dict:
    """Run every job once (a job another worker is running is skipped); returns {name: result}."""
    owner = "once_" + secrets.token_hex(8)
    return {job.name: run_job(job, owner) for job in SCHEDULE}


jobs_cli = AppGroup("jobs", help="Run the periodic jobs.")


@jobs_cli.command("run-once")
def run_once_command():
    """Run every job once, then exit."""
    _load_jobs()
    for name, result in run_all_once().items():
        click.echo(f"{name}: {result}")


@click.command("worker")
@click.option("--interval", type=float, default=None, help="Run every job at least this often (seconds).")
def worker_command(interval):
    """Run the jobs until stopped (SIGTERM: finish what is in hand, within 10 s): mail, holds, offers, reminders."""
    _load_jobs()
    work(current_app._get_current_object(), SCHEDULE, cap=interval)
