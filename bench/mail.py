"""Drain queued messages into a local aiosmtpd and compare with plain smtplib (the ceiling), on SQLite and PostgreSQL.

    .venv/bin/python bench/mail.py                  # 2,000 messages, both databases
    .venv/bin/python bench/mail.py --quick          # 500 messages: under 2 minutes for both
    .venv/bin/python bench/mail.py --db sqlite --count 1000
    .venv/bin/python bench/mail.py --quick --profile  # and a pyinstrument profile of one more drain
    .venv/bin/python bench/mail.py --no-pipelining    # a mail server that does not offer PIPELINING

PostgreSQL: a scratch database on the server of BENCH_POSTGRES_URL (or TEST_POSTGRES_URL),
dropped afterwards. SQLite: a fresh file in a temporary directory.

For each database, in one run:
  - `count` messages are written as the app writes them (outbox.render: templates, and the
    MIME bytes built when written); the time that took per message is printed too,
  - the ceiling: plain smtplib, one connection, sending the same bytes (sendmail, one
    command at a time),
  - the outbox worker's deliver_outbox() draining them (claim with lease, check, send, record),
    in turn with the ceiling, `rounds` times (the rows made due again between rounds), the
    median of the rounds' own ratios kept (a shared machine's other work moves single rounds a lot); each
    round's ceiling and drain send to the same, fresh, mail server process,
  - growth: 10 × `count` other messages, already sent, added to the table, and the same
    drain again, beside the first (goal: within 20 %).
The aiosmtpd server (tests/smtp_server.py) runs in a process of its own, as a mail server
does: in this process it would share the interpreter lock with the worker's bookkeeping
thread, and measure that rather than the worker. It offers PIPELINING, as Postfix and most
relays do (the worker then sends MAIL, RCPT and DATA at once; plain smtplib never does);
--no-pipelining measures a server that does not. Prints figures; asserts nothing about
speed, only that every message arrived.
"""

import argparse
import os
import smtplib
import statistics
import subprocess
import sys
import time
from datetime import date
from datetime import time as wall
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import scratch_database  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from report import Goal  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from scheduler import create_app  # noqa: E402
from scheduler.foundation.config import for_tests  # noqa: E402
from scheduler.foundation.database import write_transaction  # noqa: E402
from scheduler.foundation.extensions import db  # noqa: E402
from tests.smtp_server import SMTPServer  # noqa: E402


class Sink:
    """An aiosmtpd server in a child process (this script with --serve): its port, and how many it received."""

    def __init__(self, pipelining: bool = True):
        serve = ["--serve"] + ([] if pipelining else ["--no-pipelining"])
        self.proc = subprocess.Popen(
            [sys.executable, __file__, *serve], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.port = int(self.proc.stdout.readline())
        self.url = f"smtp://127.0.0.1:{self.port}"

    def received(self) -> int:
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def cpu(self) -> float:
        """Seconds of CPU the server process has used so far (Linux; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def serve(pipelining: bool) -> None:
    server = SMTPServer(pipelining=pipelining).start()
    print(server.port, flush=True)
    for _ in sys.stdin:
        print(len(server.handler.messages), flush=True)
    server.stop()


def _person():
    """One confirmed enrolment whose messages are rendered (each then addressed to someone else)."""
    from scheduler.cohorts.programs import create_program
    from scheduler.cohorts.services import create_cohort
    from scheduler.enrolment.models import Enrolment, Participant

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
    with write_transaction():
        enrolment = Enrolment(
            cohort_id=cohort.id,
            participant=Participant(email_normalised="p@example.org"),
            status="confirmed",
            name="Bench person",
            email="p@example.org",
        )
        db.session.add(enrolment)
    return enrolment


def queue(enrolment, count: int, first: int = 0) -> float:
    """Write `count` waitlisted messages as the app does (rendered, MIME built); returns seconds spent rendering."""
    from scheduler.notifications.models import OutboxMessage
    from scheduler.notifications.outbox import render

    own = enrolment.email
    started = time.perf_counter()
    rows = []
    for n in range(first, first + count):
        enrolment.email = f"person{n}@example.org"  # each message to someone else (never committed)
        rows.append(render(enrolment, "waitlisted", position=n + 1))
    rendering = time.perf_counter() - started
    enrolment.email = own
    db.session.rollback()  # the enrolment itself does not change (only each message's address did)
    with write_transaction():
        for start in range(0, len(rows), 1000):
            db.session.execute(insert(OutboxMessage), rows[start : start + 1000])
    return rendering


def _already_sent(enrolment, count: int, first: int) -> None:
    """`count` messages sent long ago: rendered once, copied with their own ids (rendering each is slow)."""
    from scheduler.foundation import clock
    from scheduler.foundation.database import new_id
    from scheduler.notifications.models import OutboxMessage
    from scheduler.notifications.outbox import render

    template = render(enrolment, "waitlisted", position=1)
    sent_at = clock.now()
    rows = []
    for n in range(first, first + count):
        rows.append(
            template
            | {
                "id": new_id("msg"),
                "message_id": f"<old{n}@scheduler.test>",
                "to_address": f"old{n}@example.org",
                "status": "sent",
                "attempts": 1,
                "sent_at": sent_at,
            }
        )
        if len(rows) == 1000:
            db.session.execute(insert(OutboxMessage), rows)
            rows = []
    if rows:
        db.session.execute(insert(OutboxMessage), rows)
    db.session.commit()


def _pending_bytes() -> list[tuple[str, bytes]]:
    from scheduler.notifications.models import OutboxMessage

    return [
        (row.to_address, row.mime)
        for row in db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending"))
    ]


class Timed:
    """Wall time, and CPU time of this process and of the mail server's, around one round."""

    def __init__(self, server: Sink):
        self.server = server

    def __enter__(self):
        self.cpu, self.server_cpu = time.process_time(), self.server.cpu()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
        self.cpu = time.process_time() - self.cpu
        self.server_cpu = self.server.cpu() - self.server_cpu


def plain_smtplib(server: Sink, messages: list[tuple[str, bytes]]) -> Timed:
    """smtplib on one connection, sending the same bytes, nothing else."""
    before = server.received()
    with Timed(server) as timed, smtplib.SMTP("127.0.0.1", server.port, timeout=30) as conn:
        for to, data in messages:
            conn.sendmail("groups@scheduler.test", [to], data)
    assert server.received() - before == len(messages)
    return timed


def drain(server: Sink, count: int, profile: bool = False) -> Timed:
    """The outbox worker draining every due row (into `server`)."""
    from flask import current_app

    from scheduler.notifications.sender import deliver_outbox

    current_app.config["MAIL_URL"] = server.url
    before = server.received()
    profiler = _profiler() if profile else None
    with Timed(server) as timed:
        counts = deliver_outbox()
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False), flush=True)
    assert counts == {"sent": count, "retry": 0, "failed": 0}, counts
    assert server.received() - before == count
    db.session.rollback()
    return timed


def _send_again() -> None:
    """Make the messages just drained due again, as they were before: the next round sends the same bytes."""
    from sqlalchemy import update

    from scheduler.notifications.models import OutboxMessage

    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.to_address.like("person%"))
        .values(status="pending", attempts=0, sent_at=None, last_error=None)
    )
    db.session.commit()


def _profiler():
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    return profiler


def drain_beside_ceiling(count: int, rounds: int, pipelining: bool) -> tuple[float, float, float]:
    """Medians of `rounds` drains and ceilings taken in turn, and the median of each round's ratio.

    Other work on this shared machine moves single rounds by a third either way; a drain
    and the ceiling taken right after each other share most of it, so the median of the
    rounds' own ratios is the figure least moved by it. Each round has a fresh mail server
    (a process of its own) that both send to, the ceiling first in even rounds, the drain
    in odd. Also printed: CPU per message of the sender's process and of the server's
    (on a busy machine throughput follows the CPU a message costs in all).
    """
    messages = _pending_bytes()
    assert len(messages) == count and all(data for _, data in messages), "every message prebuilt when written"
    db.session.rollback()
    drains, ceilings = [], []
    for number in range(rounds):
        server = Sink(pipelining)
        try:
            if number % 2:
                drains.append(drain(server, count))
                ceilings.append(plain_smtplib(server, messages))
            else:
                ceilings.append(plain_smtplib(server, messages))
                drains.append(drain(server, count))
        finally:
            server.stop()
        _send_again()
    rates = [count / timed.seconds for timed in drains]
    tops = [count / timed.seconds for timed in ceilings]
    pairs = ", ".join(f"{rate:.0f}/{top:.0f}" for rate, top in zip(rates, tops, strict=True))
    print(f"    rounds (drain/ceiling msg/s): {pairs}")

    def per_message(timings, name):
        return statistics.median(getattr(timed, name) for timed in timings) / count * 1000

    print(
        "    CPU per message, median (ms): "
        f"drain: worker {per_message(drains, 'cpu'):.2f}, mail server {per_message(drains, 'server_cpu'):.2f}; "
        f"ceiling: smtplib {per_message(ceilings, 'cpu'):.2f}, mail server {per_message(ceilings, 'server_cpu'):.2f}"
    )
    ratio = statistics.median(rate / top for rate, top in zip(rates, tops, strict=True))
    return statistics.median(rates), statistics.median(tops), ratio


def run(kind: str, count: int, rounds: int, mail: Goal, growth: Goal, pipelining: bool, profile: bool) -> None:
    with scratch_database(kind) as url:
        _drain_runs(url, kind, count, rounds, mail, growth, pipelining, profile)


def _drain_runs(url, kind, count, rounds, mail: Goal, growth: Goal, pipelining: bool, profile: bool) -> None:
    app = create_app(for_tests(url, MAIL_URL="smtp://127.0.0.1:25"))  # each round's server set by drain()
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        enrolment = _person()
        rendering = queue(enrolment, count)
        print(f"{kind}: {count} messages ({rendering / count * 1000:.1f} ms each to render when written)")
        rate, ceiling, ratio = drain_beside_ceiling(count, rounds, pipelining)
        mail.measure(f"drain {count}, {kind}", rate, "msg/s", ceiling=("plain smtplib", ceiling), ratio=ratio)

        _already_sent(enrolment, 10 * count, first=count)
        print(f"  with {10 * count} other messages, already sent, in the table:")
        grown, grown_ceiling, grown_ratio = drain_beside_ceiling(count, rounds, pipelining)
        label = f"drain {count} beside {10 * count} sent, {kind}"
        mail.measure(label, grown, "msg/s", ceiling=("plain smtplib", grown_ceiling), ratio=grown_ratio)
        growth.measure(f"drain at 10x data vs 1x, {kind}", grown, "msg/s", ceiling=("drain at 1x", rate))
        if profile:
            server = Sink(pipelining)
            try:
                print(f"  profile of one more drain (pyinstrument, the sending thread), {kind}:")
                drain(server, count, profile=True)
            finally:
                server.stop()
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--count", type=int, help="messages per drain (default 2000; 500 with --quick)")
    parser.add_argument("--rounds", type=int, help="drains (and ceilings) per figure, the median kept (default 5; 3)")
    parser.add_argument("--quick", action="store_true", help="500 messages: both databases in under 2 minutes")
    parser.add_argument(
        "--no-pipelining", action="store_true", help="the mail server does not offer PIPELINING (one command at a time)"
    )
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile of one more drain")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the Sink's child process
    args = parser.parse_args()
    if args.serve:
        return serve(not args.no_pipelining)
    count = args.count or (500 if args.quick else 2000)
    rounds = args.rounds or (3 if args.quick else 5)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    mail = Goal("mail: outbox drain vs plain smtplib", target=0.9)
    growth = Goal("mail growth: drain with 10x the data vs 1x", target=0.8)
    for kind in kinds:
        run(kind, count, rounds, mail, growth, not args.no_pipelining, args.profile)
    # Figures, not a test: a goal that is short is reported, not an error.
    mail.summary()
    growth.summary()


if __name__ == "__main__":
    main()
