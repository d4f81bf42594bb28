"""Mail drained by one worker process and by two, into a mail server that takes 20 ms a message, on PostgreSQL.

    .venv/bin/python bench/mail_drain.py              # 2,000 messages, 3 rounds of (1 worker, 2 workers)
    .venv/bin/python bench/mail_drain.py --quick      # 1,000 messages, 1 round: about a minute and a half
    .venv/bin/python bench/mail_drain.py --count 4000 --delay-ms 50

PostgreSQL only (a scratch database on the server of BENCH_POSTGRES_URL or TEST_POSTGRES_URL,
dropped afterwards): it is where several workers claim rows side by side (FOR UPDATE SKIP
LOCKED); on SQLite their claims take turns.

`count` messages are written as the app writes them (outbox.render, bench/mail.py's queue),
not yet due. Each round starts the real worker, `flask --app wsgi worker` as the Procfile runs
it (every job, mail among them), once and then twice, each time against a fresh aiosmtpd in a
process of its own that answers each DATA after `delay_ms` (a real mail server's pace: the
worker's own cost is then small beside it) and notes when each message arrived. Once every
worker has written its first heartbeat, one UPDATE makes every message due; the figure is
messages per second from the first message the server accepted to the last (the workers' one
second between polls is not the drain's speed). Then every message is made pending again for
the next drain.

Printed per round: both rates and their ratio, beside the goal (issue 23): two workers
≥ 1.8 × one. Exactly once, checked at the server by Message-ID: every message arrived, none
twice, and in the database every row is sent after one attempt. Exits 1 if that fails; a goal
that is short is reported, not an error.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import scratch_database  # noqa: E402
from live_server import _bin  # noqa: E402
from mail import _person, queue  # noqa: E402
from report import Goal  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from scheduler import create_app  # noqa: E402
from scheduler.foundation.config import for_tests  # noqa: E402
from scheduler.foundation.database import write_transaction  # noqa: E402
from scheduler.foundation.extensions import db  # noqa: E402

SETTLE_TIMEOUT = 600  # seconds for one drain at most
FAR = "2099-01-01T00:00:00+00:00"  # "not due yet": written before the workers start


class Server:
    """aiosmtpd in a child process (this script with --serve): answers each DATA after a delay."""

    def __init__(self, delay: float):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--delay-ms", str(delay * 1000)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.proc.stdout.readline())
        self.url = f"smtp://127.0.0.1:{self.port}"

    def _ask(self, what: str) -> dict:
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def received(self) -> int:
        return self._ask("count")["count"]

    def report(self) -> dict:
        """count, first and last arrival (time.monotonic, the same clock as this process's), Message-IDs seen."""
        return self._ask("report")

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def serve(delay: float) -> None:
    from tests.smtp_server import SMTPServer

    server = SMTPServer().start()
    server.slow(delay, delay)
    print(server.port, flush=True)
    for line in sys.stdin:
        messages = server.messages
        answer = {"count": len(messages)}
        if line.strip() == "report":
            times = [m.at for m in messages]
            answer |= {
                "first": min(times, default=0.0),
                "last": max(times, default=0.0),
                "ids": dict(Counter(m.message_id for m in messages)),
            }
        print(json.dumps(answer), flush=True)
    server.stop()


@contextmanager
def workers(url: str, mail_url: str, how_many: int):
    """`how_many` worker processes (`flask --app wsgi worker`) on this database, sending to `mail_url`."""
    with tempfile.TemporaryDirectory(prefix="scheduler-bench-worker-") as instance:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SCHEDULER_INSTANCE_DIR": instance,
            "SECRET_KEY": "bench-only",
            "PUBLIC_BASE_URL": "https://bench.test",
            "MAIL_URL": mail_url,
            "STRIPE_SECRET_KEY": "",
        }
        logs = [tempfile.TemporaryFile() for _ in range(how_many)]
        procs = [
            subprocess.Popen(
                [_bin("flask"), "--app", "wsgi", "worker"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            for log in logs
        ]
        try:
            yield procs
        finally:
            for proc in procs:
                proc.terminate()
            for proc, log in zip(procs, logs, strict=True):
                if proc.wait(timeout=30) not in (0, -15):
                    log.seek(0)
                    print(log.read().decode(errors="replace")[-3000:], file=sys.stderr)
                log.close()


def _wait_for_beats(how_many: int) -> None:
    """Until every worker has written its first heartbeat (its job threads are running)."""
    from scheduler.jobs.models import WorkerBeat

    deadline = time.monotonic() + 60
    while db.session.scalar(select(func.count()).select_from(WorkerBeat)) < how_many:
        db.session.rollback()
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start within 60 s")
        time.sleep(0.05)
    db.session.rollback()


def _set_due(when) -> None:
    from scheduler.notifications.models import OutboxMessage

    with write_transaction():
        db.session.execute(
            update(OutboxMessage).values(
                status="pending",
                attempts=0,
                sent_at=None,
                last_error=None,
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=when,
            )
        )


def _database_outcome() -> tuple[int, int, set[str]]:
    """(rows sent after exactly one attempt, rows not so, every row's Message-ID)."""
    from scheduler.notifications.models import OutboxMessage

    rows = db.session.execute(select(OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.message_id)).all()
    db.session.rollback()
    once = sum(1 for status, attempts, _ in rows if status == "sent" and attempts == 1)
    return once, len(rows) - once, {message_id for _, _, message_id in rows}


def drain(url: str, count: int, how_many: int, delay: float) -> tuple[float, bool]:
    """One drain of every message by `how_many` workers: (messages/s, whether each arrived exactly once)."""
    from datetime import datetime

    from scheduler.foundation import clock
    from scheduler.jobs.models import WorkerBeat

    _set_due(datetime.fromisoformat(FAR))
    with write_transaction():  # a beat left by a worker killed earlier is not one of these
        db.session.execute(WorkerBeat.__table__.delete())
    server = Server(delay)
    try:
        with workers(url, server.url, how_many):
            _wait_for_beats(how_many)
            _set_due(clock.now())
            due_at = time.monotonic()
            deadline = due_at + SETTLE_TIMEOUT
            while server.received() < count and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # a message sent twice would arrive about now
            report = server.report()
    finally:
        server.stop()
    once, other, message_ids = _database_outcome()
    seen = Counter(report["ids"])
    twice = sum(1 for n in seen.values() if n > 1)
    missing = len(message_ids - set(seen))
    exact = twice == 0 and missing == 0 and set(seen) == message_ids and once == count and other == 0
    window = report["last"] - report["first"]
    rate = (report["count"] - 1) / window if window > 0 else 0.0
    print(
        f"    {how_many} worker{'s' if how_many > 1 else ''}: {rate:6.1f} msg/s"
        f" ({report['count']} received in {window:.2f} s from the first; the first {report['first'] - due_at:.2f} s"
        f" after due); exactly once: {'OK' if exact else 'WRONG'}"
        f" (sent twice {twice}, missing {missing}, rows not sent once {other})",
        flush=True,
    )
    return rate, exact


def run(count: int, rounds: int, delay: float, goal: Goal) -> bool:
    with scratch_database("postgresql") as url:
        app = create_app(for_tests(url))
        with app.app_context():
            rendering = queue(_person(), count)
            print(
                f"postgresql: {count} messages ({rendering / count * 1000:.1f} ms each to render),"
                f" the mail server answering each after {delay * 1000:.0f} ms",
                flush=True,
            )
            ones, twos, ratios, exact = [], [], [], True
            for number in range(rounds):
                print(f"  round {number + 1}:", flush=True)
                order = (1, 2) if number % 2 == 0 else (2, 1)  # a shared machine's drift falls on both
                rates = {}
                for how_many in order:
                    rates[how_many], ok = drain(url, count, how_many, delay)
                    exact = exact and ok
                ones.append(rates[1])
                twos.append(rates[2])
                ratios.append(rates[2] / rates[1] if rates[1] else 0.0)
            one, two, ratio = statistics.median(ones), statistics.median(twos), statistics.median(ratios)
            label = f"drain {count}, 2 workers vs 1, postgresql"
            print(f"  1 worker {one:.1f} msg/s, 2 workers {two:.1f} msg/s (median of {rounds} round(s))")
            goal.measure(label, two, "msg/s", ceiling=("1 worker", one), ratio=ratio)
            print(f"  exactly once in every drain (by Message-ID at the server): {'OK' if exact else 'WRONG'}")
            db.session.remove()
            db.engine.dispose()
    return exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, help="messages per drain (default 2000; 1000 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds of (1 worker, 2 workers), medians kept (default 3; 1)")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="the mail server's time per message")
    parser.add_argument("--quick", action="store_true", help="1,000 messages, one round: about a minute and a half")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the Server's child process
    args = parser.parse_args()
    delay = args.delay_ms / 1000
    if args.serve:
        return serve(delay)
    count = args.count or (1000 if args.quick else 2000)
    rounds = args.rounds or (1 if args.quick else 3)
    goal = Goal("mail: drained by 2 workers vs 1", target=1.8)
    exact = run(count, rounds, delay, goal)
    goal.summary()
    sys.exit(0 if exact else 1)


if __name__ == "__main__":
    main()
