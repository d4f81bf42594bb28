"""Burst of simultaneous enrolments at one cohort, under gunicorn, on PostgreSQL and SQLite.

    .venv/bin/python bench/enrol_burst.py                 # both databases, N=300 on C=12 seats
    .venv/bin/python bench/enrol_burst.py --quick         # N=120, for make bench
    .venv/bin/python bench/enrol_burst.py --db sqlite -n 100 -c 5

PostgreSQL comes from BENCH_POSTGRES_URL or TEST_POSTGRES_URL (a server on which the
script may create a scratch database). Every public enrolment is answered 202 check_email
and queued in the request inbox; two worker processes (`flask --app wsgi worker`, as the
Procfile runs them) carry the requests out. For each database it prints how many were
answered 202, the answers' throughput and latency beside the same run's GET /readyz (one
SELECT 1, the ceiling), the time until every request was settled, then, from the database,
the seats taken (must equal C), whether the waitlist has one rank each in arrival order and
whether each person got exactly one email. Goal (issue 15): answers ≥ 0.25 × /readyz. Exits
1 if a seat count, the waitlist or the emails are wrong.
"""

import argparse
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date
from datetime import time as wall_time

from common import KINDS, app_context, lock_holds, readyz, scratch_database, send, served
from live_server import ROOT, _bin
from report import Goal

SETTLE_TIMEOUT = 300  # seconds to wait for the workers to carry every request out


def _cohort(url: str, capacity: int) -> str:
    """An open, paid cohort of `capacity` seats; returns its id."""
    from scheduler.cohorts.programs import create_program
    from scheduler.cohorts.services import create_cohort

    with app_context(url):
        program = create_program({"name": "Bench group", "price_amount": 36000, "currency": "usd"})
        return create_cohort(
            {
                "program_id": program.id,
                "start_date": date(2031, 1, 9),
                "start_time": wall_time(18, 0),
                "timezone": "America/New_York",
                "capacity": capacity,
                "status": "open",
            }
        ).id


@contextmanager
def job_workers(server, count: int = 2):
    """`count` worker processes beside the server, on its database and its instance folder
    (mail is written to files there; the workers send it as they go)."""
    procs = [
        subprocess.Popen(
            [_bin("flask"), "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=server.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def _wait_until_settled(url: str) -> float:
    """Seconds until every request in the inbox is settled (polled every 20 ms)."""
    from sqlalchemy import func, select

    from scheduler.foundation.extensions import db
    from scheduler.inbox.models import PublicRequest

    started = time.perf_counter()
    with app_context(url):
        while time.perf_counter() - started < SETTLE_TIMEOUT:
            left = db.session.scalar(select(func.count()).where(PublicRequest.settled_at.is_(None)))
            db.session.rollback()
            if left == 0:
                break
            time.sleep(0.02)
    return time.perf_counter() - started


def _outcome(url: str, cohort_id: str) -> tuple[int, bool, int, int]:
    """From the database: seats taken, whether the waitlist has one rank each in arrival order,
    and how many people did not get exactly one email."""
    from sqlalchemy import func, select

    from scheduler.enrolment.models import Enrolment
    from scheduler.foundation.extensions import db
    from scheduler.inbox.models import PublicRequest
    from scheduler.notifications.models import OutboxMessage

    with app_context(url):
        rows = db.session.execute(
            select(Enrolment.status, Enrolment.waitlist_rank, PublicRequest.seq)
            .join(PublicRequest, PublicRequest.result_id == Enrolment.id)
            .where(Enrolment.cohort_id == cohort_id)
        ).all()
        mail = db.session.execute(
            select(OutboxMessage.to_address, func.count()).group_by(OutboxMessage.to_address)
        ).all()
    seats = sum(1 for status, _, _ in rows if status in ("pending_payment", "confirmed"))
    waiting = sorted((seq, rank) for status, rank, seq in rows if status == "waitlisted")
    ranks = [rank for _, rank in waiting]
    in_order = len(set(ranks)) == len(ranks) and ranks == sorted(ranks)
    return seats, in_order, len(waiting), sum(1 for _, count in mail if count != 1)


def run(kind: str, n: int, capacity: int, workers: int, clients: int, goal: Goal) -> bool:
    with scratch_database(kind) as url:
        cohort_id = _cohort(url, capacity)
        with served(url, workers) as server, job_workers(server):
            ceiling = readyz(server, n, clients)
            before = lock_holds(server)
            jobs = [
                (
                    "POST",
                    f"{server.url}/api/v1/cohorts/{cohort_id}/enrolments",
                    {"name": f"Bench {i}", "email": f"bench{i}@example.org"},
                    None,
                )
                for i in range(n)
            ]
            burst = send(jobs, clients, parse=True)
            # From the first request sent: the burst, then the wait for the workers to finish.
            settled = len(burst.results) / burst.throughput + _wait_until_settled(url)
            after = lock_holds(server)
        seats, in_order, waitlisted, wrong_mail = _outcome(url, cohort_id)
    answered = sum(1 for status, body, _ in burst.results if status == 202 and body["status"] == "check_email")
    waitlist_ok = in_order and waitlisted == n - capacity
    lock = "database" if kind == "sqlite" else "cohort"
    held = after.get(lock, (0, 0.0))
    earlier = before.get(lock, (0, 0.0))
    count = held[0] - earlier[0]
    mean_ms = (held[0] * held[1] - earlier[0] * earlier[1]) / count * 1000 if count else 0.0
    print(f"[{kind}] N={n} on C={capacity} seats, gunicorn workers={workers}, job workers=2, clients={clients}")
    print(f"  answered 202 check_email: {answered} of {n}")
    print(f"  answers: {burst}")
    print(f"  readyz:  {ceiling}")
    print(f"  all {n} settled {settled:.2f} s after the first was sent ({n / settled:.1f} requests/s carried out)")
    print(f"  seats taken: {seats} (capacity {capacity}) {'OK' if seats == capacity else 'WRONG'}")
    print(f"  waitlist of {n - capacity}, one rank each, in arrival order: {'OK' if waitlist_ok else 'WRONG'}")
    print(f"  one email each: {'OK' if wrong_mail == 0 else f'WRONG ({wrong_mail} addresses)'}")
    print(
        f"  {lock} lock held per write: {mean_ms:.2f} ms mean over {count} writes"
        f" ({mean_ms * count / 1000:.2f} s of lock time)"
    )
    goal.measure(f"public answers, {kind}", burst.throughput, "req/s", ("/readyz", ceiling.throughput))
    return seats == capacity and waitlist_ok and wrong_mail == 0 and answered == n and burst.errors == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=300, help="simultaneous enrolments")
    parser.add_argument("-c", "--capacity", type=int, default=12)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--clients", type=int, default=16, help="client processes sending at once")
    parser.add_argument("--db", choices=("both", *KINDS), default="both")
    parser.add_argument("--quick", action="store_true", help="N=120, for make bench")
    args = parser.parse_args()
    n = 120 if args.quick else args.n
    goal = Goal("public enrolment answers ≥ 0.25 × /readyz", target=0.25)
    kinds = KINDS if args.db == "both" else (args.db,)
    good = [run(kind, n, args.capacity, args.workers, args.clients, goal) for kind in kinds]
    goal.summary()
    sys.exit(0 if all(good) else 1)


if __name__ == "__main__":
    main()
