"""Burst of simultaneous enrolments at one cohort, under gunicorn, on PostgreSQL and SQLite.

    .venv/bin/python bench/enrol_burst.py                 # both databases, N=300 on C=12 seats
    .venv/bin/python bench/enrol_burst.py --quick         # N=120, for make bench
    .venv/bin/python bench/enrol_burst.py --db sqlite -n 100 -c 5

PostgreSQL comes from BENCH_POSTGRES_URL or TEST_POSTGRES_URL (a server on which the
script may create a scratch database). For each database it prints the seats taken (must
equal C), whether the waitlist positions are exactly 1..N-C, the enrolments' throughput
and latency beside the same run's GET /readyz (one SELECT 1, the ceiling), and how long
each enrolment held the cohort's lock (from the app's own metric). Goal (issue 15): enrol
throughput ≥ 0.25 × /readyz. Exits 1 if a seat count or the waitlist numbering is wrong.
"""

import argparse
import sys
from datetime import date
from datetime import time as wall_time

from common import KINDS, app_context, lock_holds, readyz, scratch_database, send, served
from report import Goal


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


def run(kind: str, n: int, capacity: int, workers: int, clients: int, goal: Goal) -> bool:
    with scratch_database(kind) as url:
        cohort_id = _cohort(url, capacity)
        with served(url, workers) as server:
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
            after = lock_holds(server)
    bodies = [body for status, body, _ in burst.results if status == 201]
    seats = sum(1 for body in bodies if body["status"] in ("pending_payment", "confirmed"))
    positions = sorted(body["waitlist_position"] for body in bodies if body["status"] == "waitlisted")
    positions_ok = positions == list(range(1, n - capacity + 1))
    lock = "database" if kind == "sqlite" else "cohort"
    held = after.get(lock, (0, 0.0))
    earlier = before.get(lock, (0, 0.0))
    count = held[0] - earlier[0]
    mean_ms = (held[0] * held[1] - earlier[0] * earlier[1]) / count * 1000 if count else 0.0
    print(f"[{kind}] N={n} on C={capacity} seats, gunicorn workers={workers}, client processes={clients}")
    print(f"  seats taken: {seats} (capacity {capacity}) {'OK' if seats == capacity else 'WRONG'}")
    print(f"  waitlist positions 1..{n - capacity}: {'OK' if positions_ok else 'WRONG'} ({len(positions)} waitlisted)")
    print(f"  enrol:  {burst}")
    print(f"  readyz: {ceiling}")
    print(
        f"  {lock} lock held per write: {mean_ms:.2f} ms mean over {count} writes"
        f" ({mean_ms * count / 1000:.2f} s of the burst's lock time)"
    )
    goal.measure(f"enrolments, {kind}", burst.throughput, "req/s", ("/readyz", ceiling.throughput))
    return seats == capacity and positions_ok and burst.errors == 0


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
    goal = Goal("enrolment burst ≥ 0.25 × /readyz", target=0.25)
    kinds = KINDS if args.db == "both" else (args.db,)
    good = [run(kind, n, args.capacity, args.workers, args.clients, goal) for kind in kinds]
    goal.summary()
    sys.exit(0 if all(good) else 1)


if __name__ == "__main__":
    main()
