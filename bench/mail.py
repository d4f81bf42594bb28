"""Drain 2,000 queued messages into a local aiosmtpd and compare with plain smtplib (the ceiling).

    .venv/bin/python bench/mail.py [--count 2000] [--database-url postgresql://…]

Without --database-url, a fresh SQLite file in a temporary directory. Prints figures;
asserts nothing about speed.
"""

import argparse
import smtplib
import sys
import tempfile
import time
from datetime import date
from datetime import time as wall
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade
from sqlalchemy import insert

from scheduler import create_app
from scheduler.config import for_tests
from scheduler.extensions import db
from tests.smtp_server import SMTPServer


def queue(count: int) -> None:
    from scheduler.cohorts.services import create_cohort, create_program
    from scheduler.enrolment.models import Enrolment, Participant
    from scheduler.notifications.models import OutboxMessage
    from scheduler.notifications.outbox import render

    program = create_program({"name": "Bench group", "price_amount": 0, "currency": "usd"})
    cohort = create_cohort(
        {
            "program_id": program.id,
            "start_date": date(2030, 10, 3),
            "start_time": wall(18, 0),
            "timezone": "America/New_York",
            "meeting_url": "https://video.example/j/1",
            "status": "open",
        }
    )
    enrolment = Enrolment(
        cohort_id=cohort.id,
        participant=Participant(email_normalised="p@example.org"),
        status="confirmed",
        name="Bench person",
        email="p@example.org",
    )
    db.session.add(enrolment)
    db.session.commit()
    rows = []
    for n in range(count):
        row = render(enrolment, "waitlisted", position=n + 1)
        row["to_address"] = f"person{n}@example.org"
        rows.append(row)
    db.session.execute(insert(OutboxMessage), rows)
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    server = SMTPServer().start()
    app = create_app(for_tests(url, MAIL_URL=server.url))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        queue(args.count)
        from scheduler.notifications.models import OutboxMessage
        from scheduler.notifications.sender import build_email, deliver_outbox

        messages = [build_email(r) for r in db.session.scalars(db.select(OutboxMessage))]
        started = time.perf_counter()
        counts = deliver_outbox()
        outbox_seconds = time.perf_counter() - started
        assert counts["sent"] == args.count and len(server.messages) == args.count, counts

    ceiling = SMTPServer().start()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", ceiling.port, timeout=30) as conn:
        for msg in messages:
            conn.send_message(msg, from_addr="groups@scheduler.test", to_addrs=[msg["To"]])
    plain_seconds = time.perf_counter() - started
    server.stop()
    ceiling.stop()
    backend = url.split(":", 1)[0]
    print(f"{args.count} messages, {backend}")
    print(
        f"  outbox worker (claim, send, record): {args.count / outbox_seconds:8.0f} messages/s ({outbox_seconds:.2f} s)"
    )
    print(
        f"  plain smtplib, one connection:       {args.count / plain_seconds:8.0f} messages/s ({plain_seconds:.2f} s)"
    )


if __name__ == "__main__":
    main()
