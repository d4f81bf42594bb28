"""Benchmark: calendar feeds served by gunicorn on loopback.

Measures requests per second for
  - /healthz, a trivial endpoint of the same app (the ceiling),
  - full feeds built each time: 400 participants (each in three 12-session cohorts,
    36 events) requested in turn, more than the per-process cache of built feeds holds,
  - full feeds of one unchanged participant, with no validators (Google's fetcher):
    served from that cache after the first request,
  - 304 revalidations of that feed (If-None-Match; the feed is not built),
with a bounded number of requests from a few client threads. Prints figures only;
nothing here asserts a speed.

    .venv/bin/python bench/feeds.py [--requests 2000] [--clients 4] [--workers 2]
    DATABASE_URL=postgresql://… .venv/bin/python bench/feeds.py   # on PostgreSQL (a scratch database)
"""

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from datetime import time as wall_time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PARTICIPANTS = 400


def seed(env: dict) -> list[str]:
    """Create the schema and PARTICIPANTS people, each confirmed in the same three 12-session cohorts."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    os.environ.update(env)
    from scheduler import create_app
    from scheduler.cohorts import services as cohorts
    from scheduler.enrolment.models import Enrolment, Participant
    from scheduler.extensions import db

    app = create_app()
    with app.app_context():
        program = cohorts.create_program({"name": "Bench group", "price_amount": 0, "currency": "usd"})
        cohort_ids = [
            cohorts.create_cohort(
                {
                    "program_id": program.id,
                    "start_date": date(2030, 10, 3 + n),
                    "start_time": wall_time(18, 0),
                    "timezone": "America/New_York",
                    "meeting_url": "https://video.example/j/bench",
                    "capacity": 500,
                    "status": "open",
                }
            ).id
            for n in range(3)
        ]
        people = [Participant(email_normalised=f"bench{n}@example.org") for n in range(PARTICIPANTS)]
        for n, participant in enumerate(people):
            for cohort_id in cohort_ids:
                db.session.add(
                    Enrolment(
                        cohort_id=cohort_id,
                        participant=participant,
                        status="confirmed",
                        name=f"Bench Person {n}",
                        email=f"bench{n}@example.org",
                    )
                )
        db.session.commit()
        return [f"/calendar/{p.feed_token}.ics" for p in people]


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_until_up(port: int, server: subprocess.Popen, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            if get(port, "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"gunicorn did not answer within {deadline_s:.0f}s")


def measure(
    port: int, paths: list[str], headers: dict, expect: int, total: int, clients: int, warm: bool = True
) -> float:
    """Requests per second for `total` requests spread over `paths` in turn."""
    errors = []
    lock = threading.Lock()

    def one(n):
        status, _, _ = get(port, paths[n % len(paths)], headers)
        if status != expect:
            with lock:
                errors.append(status)

    for n in range(min(20, total) if warm else 0):  # warm up: connections, the first build
        one(n)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} responses were not {expect} (e.g. {errors[0]})")
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="feeds-bench-") as tmp:
        port = free_port()
        env = {
            **os.environ,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "RATELIMIT_ENABLED": "false",
            "SECRET_KEY": "bench-only",
            "SCHEDULER_ENV": "development",  # served on http://127.0.0.1: not a deployment
            "MAIL_DIR": tmp,
            "SCHEDULER_INSTANCE_DIR": tmp,
            "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db",
        }
        paths = seed(env)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            wait_until_up(port, server)
            one = paths[0]
            status, headers, body = get(port, one)
            assert status == 200, status
            etag = headers["ETag"]
            backend = env["DATABASE_URL"].split(":", 1)[0]
            print(
                f"gunicorn {args.workers} sync workers, {args.clients} client threads, "
                f"{args.requests} requests each, {backend}; feed: {len(body)} bytes, "
                f"{body.count(b'BEGIN:VEVENT')} events"
            )
            built = min(args.requests, len(paths) - 1)  # each feed once: no cache hits
            figures = [
                ("/healthz (ceiling)", measure(port, ["/healthz"], {}, 200, args.requests, args.clients)),
                ("full feed, built", measure(port, paths[1:], {}, 200, built, args.clients, warm=False)),
                ("full feed, cached", measure(port, [one], {}, 200, args.requests, args.clients)),
                ("revalidation (304)", measure(port, [one], {"If-None-Match": etag}, 304, args.requests, args.clients)),
            ]
            for name, rate in figures:
                print(f"{name:<22} {rate:8.0f} requests/s")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
