"""Burst of concurrent enrolments at one cohort, under gunicorn, on PostgreSQL and SQLite.

    .venv/bin/python bench/enrol_burst.py                      # both databases, N=300, C=12
    .venv/bin/python bench/enrol_burst.py --db sqlite -n 100 -c 5

PostgreSQL comes from BENCH_POSTGRES_URL or TEST_POSTGRES_URL (a server on which the
script may create a scratch database). For each database it prints the seats taken
(must equal C), whether waitlist positions are exactly 1..N-C, errors, throughput,
p50/p99 latency, and the same for GET /readyz (one SELECT 1) as a baseline.
Exits 1 if a seat count or the waitlist numbering is wrong.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from datetime import time as wall_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from live_server import LiveServer, fire  # noqa: E402


def _database(kind: str, workdir: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir}/bench.db"
    import psycopg

    admin = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit("Set BENCH_POSTGRES_URL (or TEST_POSTGRES_URL) to benchmark PostgreSQL.")
    name = f"scheduler_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rpartition("/")[0] + "/" + name


def _drop(kind: str, url: str) -> None:
    if kind == "postgresql":
        import psycopg

        admin = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


def _prepare(url: str, capacity: int) -> str:
    """Migrate and create an open, paid cohort of `capacity`; returns its id."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-only", "PUBLIC_BASE_URL": "https://bench.test"}
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    from scheduler import create_app
    from scheduler.cohorts.services import create_cohort, create_program
    from scheduler.config import for_tests
    from scheduler.extensions import db

    app = create_app(for_tests(url))
    with app.app_context():
        program = create_program({"name": "Bench group", "price_amount": 36000, "currency": "usd"})
        cohort = create_cohort(
            {
                "program_id": program.id,
                "start_date": date(2031, 1, 9),
                "start_time": wall_time(18, 0),
                "timezone": "America/New_York",
                "capacity": capacity,
                "status": "open",
            }
        )
        cohort_id = cohort.id
        db.session.remove()
        db.engine.dispose()
    return cohort_id


def _summary(results, wall: float) -> dict:
    latencies = sorted(r[2] for r in results)
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * len(latencies))) - 1)]
    return {"throughput": len(results) / wall, "p50_ms": statistics.median(latencies) * 1000, "p99_ms": p99 * 1000}


def run(kind: str, n: int, capacity: int, workers: int, clients: int) -> bool:
    with tempfile.TemporaryDirectory() as workdir:
        url = _database(kind, workdir)
        try:
            cohort_id = _prepare(url, capacity)
            with LiveServer(url, workers=workers) as server:
                jobs = [
                    (
                        "POST",
                        f"{server.url}/api/v1/cohorts/{cohort_id}/enrolments",
                        {"name": f"Bench {i}", "email": f"bench{i}@example.org"},
                        None,
                    )
                    for i in range(n)
                ]
                started = time.perf_counter()
                results = fire(jobs, processes=clients)
                enrol_wall = time.perf_counter() - started
                ready_jobs = [("GET", f"{server.url}/readyz", None, None)] * n
                started = time.perf_counter()
                baseline = fire(ready_jobs, processes=clients)
                ready_wall = time.perf_counter() - started
        finally:
            _drop(kind, url)
    ok = [r[1] for r in results if r[0] == 201]
    errors = n - len(ok)
    seats = sum(1 for body in ok if body["status"] in ("pending_payment", "confirmed"))
    positions = sorted(body["waitlist_position"] for body in ok if body["status"] == "waitlisted")
    positions_ok = positions == list(range(1, n - capacity + 1))
    enrol_stats, ready_stats = _summary(results, enrol_wall), _summary(baseline, ready_wall)
    ready_errors = sum(1 for r in baseline if r[0] != 200)
    print(f"[{kind}] N={n} C={capacity} gunicorn workers={workers} client processes={clients}")
    print(f"  seats taken: {seats} (capacity {capacity}) {'OK' if seats == capacity else 'WRONG'}")
    print(f"  waitlist positions 1..{n - capacity}: {'OK' if positions_ok else 'WRONG'} ({len(positions)} waitlisted)")
    print(f"  errors: {errors} (readyz errors: {ready_errors})")
    print(
        f"  enrol:  {enrol_stats['throughput']:.1f} req/s, p50 {enrol_stats['p50_ms']:.1f} ms, "
        f"p99 {enrol_stats['p99_ms']:.1f} ms"
    )
    print(
        f"  readyz: {ready_stats['throughput']:.1f} req/s, p50 {ready_stats['p50_ms']:.1f} ms, "
        f"p99 {ready_stats['p99_ms']:.1f} ms (one SELECT 1)"
    )
    print(f"  enrol throughput / readyz throughput: {enrol_stats['throughput'] / ready_stats['throughput']:.2f}")
    return seats == capacity and positions_ok and errors == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=300, help="concurrent enrolments")
    parser.add_argument("-c", "--capacity", type=int, default=12)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--clients", type=int, default=16, help="client processes sending at once")
    parser.add_argument("--db", choices=("both", "postgresql", "sqlite"), default="both")
    args = parser.parse_args()
    kinds = ("postgresql", "sqlite") if args.db == "both" else (args.db,)
    good = [run(kind, args.n, args.capacity, args.workers, args.clients) for kind in kinds]
    sys.exit(0 if all(good) else 1)


if __name__ == "__main__":
    main()
