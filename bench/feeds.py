"""Benchmark: calendar feeds served by gunicorn (4 sync workers), each figure beside /readyz from the same run.

For SQLite and PostgreSQL (a scratch database on BENCH_POSTGRES_URL or TEST_POSTGRES_URL,
dropped after), one participant enrolled in three 12-session cohorts of 12 confirmed
people each. The same client (separate processes, a new connection per request, as
calendar apps poll) measures, in turn:
  - GET /readyz (one SELECT 1): the ceiling,
  - the participant's feed for one enrolment (12 events), no validators: 200,
  - the same with If-None-Match: 304,
  - a cohort's feed (staff), 200 and 304,
and prints each figure beside the /readyz figure of its round (bench/report.py) and one
summary line per goal: a 200 >= 0.8 x /readyz, a 304 >= 0.9 x /readyz. It also times
what storing feeds costs the writes (a session change in a cohort of 12 rebuilds 13
feeds in its transaction). Nothing here asserts a speed; exit 1 only if a served feed
differs from a fresh build.

    .venv/bin/python bench/feeds.py                 # both databases, 6 rounds of 2 s per figure
    .venv/bin/python bench/feeds.py --quick         # both databases, about a minute
    .venv/bin/python bench/feeds.py --db sqlite --seconds 10 --rounds 5
"""

import argparse
import http.client
import multiprocessing
import statistics
import sys
import time
from datetime import date, timedelta
from datetime import time as wall_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from common import scratch_database  # noqa: E402
from live_server import LiveServer  # noqa: E402
from report import Goal  # noqa: E402

PEOPLE_PER_COHORT = 12
SESSIONS = 12


def _prepare(url: str) -> dict:
    """Migrate; three 12-session cohorts of 12 confirmed people, one of them in all three.
    Times the writes that rebuild stored feeds. Returns the paths to measure and the write figures."""
    from flask_migrate import upgrade

    from scheduler import create_app
    from scheduler.calendars import builder, services
    from scheduler.calendars.models import FeedKind
    from scheduler.cohorts import programs
    from scheduler.cohorts import services as cohorts
    from scheduler.enrolment.models import Enrolment, Participant
    from scheduler.foundation.config import for_tests
    from scheduler.foundation.database import write_transaction
    from scheduler.foundation.extensions import db

    app = create_app(for_tests(url))  # PUBLIC_BASE_URL https://scheduler.test, as LiveServer serves it
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        program = programs.create_program({"name": "Bench group", "price_amount": 0, "currency": "usd"})
        ids = [
            cohorts.create_cohort(
                {
                    "program_id": program.id,
                    "start_date": date(2030, 10, 3) + timedelta(days=n),
                    "start_time": wall_time(18, 0),
                    "timezone": "America/New_York",
                    "meeting_url": "https://video.example/j/bench",
                    "session_count": SESSIONS,
                    "capacity": PEOPLE_PER_COHORT,
                    "status": "open",
                }
            ).id
            for n in range(3)
        ]
        with write_transaction():
            me = Participant(email_normalised="me@example.org")
            mine = [
                Enrolment(cohort_id=c, participant=me, status="confirmed", name="Me", email="me@example.org")
                for c in ids
            ]
            db.session.add_all(mine)
            for n in range(PEOPLE_PER_COHORT - 1):
                other = Participant(email_normalised=f"bench{n}@example.org")
                for c in ids:
                    email = f"bench{n}@example.org"
                    db.session.add(Enrolment(cohort_id=c, participant=other, status="confirmed", name="B", email=email))

        # What storing costs the writes: a session change in a cohort of 12 (13 feeds rebuilt
        # in its transaction), against building those 13 feeds one by one.
        cohort = db.session.get(services.Cohort, ids[0])
        session_ids = [s.id for s in cohort.sessions]
        spent = []
        real = services.refresh_stored_feeds

        def timed(*args):
            started = time.perf_counter()
            real(*args)
            spent.append(time.perf_counter() - started)

        services.refresh_stored_feeds = timed
        import scheduler.calendars.handlers as handlers

        handlers.refresh_stored_feeds = timed
        totals = []
        try:
            for n in range(3):
                started = time.perf_counter()
                cohorts.update_session(session_ids[n], {"title": f"Week {n} (moved)"})
                totals.append(time.perf_counter() - started)
        finally:
            services.refresh_stored_feeds = handlers.refresh_stored_feeds = real
        builder._template.cache_clear()
        confirmed = db.session.scalars(
            services.select(Enrolment).where(Enrolment.cohort_id == ids[0], Enrolment.status == "confirmed")
        ).all()
        started = time.perf_counter()
        services.fresh_cohort_feed(cohort)
        for enrolment in confirmed:
            services.fresh_enrolment_feed(enrolment)
        one_by_one = time.perf_counter() - started

        paths = {
            "enrolment": f"/calendar/{mine[0].feed_token}.ics",
            "cohort": f"/calendar/cohorts/{cohort.feed_token}.ics",
        }
        fresh = {
            "enrolment": services.fresh_enrolment_feed(mine[0]),
            "cohort": services.fresh_cohort_feed(cohort),
        }
        stored = services.served_feed(FeedKind.ENROLMENT, mine[0].feed_token)
        assert stored.body == fresh["enrolment"]
        db.session.remove()
        db.engine.dispose()
    return {
        "paths": paths,
        "fresh": fresh,
        "write_ms": statistics.median(totals) * 1000,
        "rebuild_ms": statistics.median(spent) * 1000,
        "one_by_one_ms": one_by_one * 1000,
    }


def _get(port: int, path: str, headers: dict) -> tuple[int, bytes, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def _hammer(job) -> tuple[int, int]:
    """One client process: requests one after another until `until` (monotonic); (done, wrong)."""
    port, path, headers, expect, start_at, until = job
    while time.time() < start_at:
        time.sleep(0.001)
    done = wrong = 0
    while time.time() < until:
        status, _, _ = _get(port, path, headers)
        done += 1
        wrong += status != expect
    return done, wrong


def _rate(pool, clients: int, port: int, path: str, headers: dict, expect: int, seconds: float) -> float:
    start_at = time.time() + 0.05
    results = pool.map(_hammer, [(port, path, headers, expect, start_at, start_at + seconds)] * clients)
    done, wrong = sum(r[0] for r in results), sum(r[1] for r in results)
    if wrong:
        raise SystemExit(f"{wrong} of {done} responses to {path} were not {expect}")
    return done / seconds


def run(kind: str, args, goals: dict[str, Goal]) -> bool:
    started = time.perf_counter()
    with scratch_database(kind) as url:
        prepared = _prepare(url)
        prepared_at = time.perf_counter()
        with LiveServer(url, workers=args.workers) as server:
            print(
                f"[{kind}] set up in {prepared_at - started:.1f} s, gunicorn up in "
                f"{time.perf_counter() - prepared_at:.1f} s",
                flush=True,
            )
            return _measure(kind, server.port, prepared, args, goals)


def _measure(kind: str, port: int, prepared: dict, args, goals: dict[str, Goal]) -> bool:
    paths, same = prepared["paths"], True
    etags = {}
    for name, path in paths.items():
        status, body, headers = _get(port, path, {})
        same &= status == 200 and body == prepared["fresh"][name]
        etags[name] = headers["ETag"]
    print(
        f"[{kind}] gunicorn {args.workers} sync workers, {args.clients} client processes, new connection per request, "
        f"{args.rounds} round(s) of {args.seconds:g} s per figure; enrolment feed "
        f"{len(prepared['fresh']['enrolment'])} bytes ({SESSIONS} events); served = fresh build: {same}",
        flush=True,
    )
    ready = ("/readyz", {}, 200)
    figures = {
        "enrolment 200": (paths["enrolment"], {}, 200),
        "cohort 200": (paths["cohort"], {}, 200),
        "enrolment 304": (paths["enrolment"], {"If-None-Match": etags["enrolment"]}, 304),
        "cohort 304": (paths["cohort"], {"If-None-Match": etags["cohort"]}, 304),
    }
    # The machine is shared: each figure is measured right after its own /readyz window, in
    # several rounds, and the medians of both are printed side by side.
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in figures}
    with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
        pool.map(time.sleep, [0.1] * args.clients)  # every client process started and imported
        for _ in range(args.rounds):
            for name, (path, headers, expect) in figures.items():
                ceiling = _rate(pool, args.clients, port, *ready, args.seconds)
                rates[name].append((_rate(pool, args.clients, port, path, headers, expect, args.seconds), ceiling))
    for name, pairs in rates.items():
        goal = goals["200"] if name.endswith("200") else goals["304"]
        value = statistics.median(v for v, _ in pairs)
        ceiling = statistics.median(c for _, c in pairs)
        goal.measure(f"{name} feed, {kind}", value, "req/s", ceiling=("/readyz", ceiling))
    print(
        f"  writes: a session change in a cohort of {PEOPLE_PER_COHORT} confirmed takes {prepared['write_ms']:.1f} ms, "
        f"of which {prepared['rebuild_ms']:.1f} ms rebuild its 13 stored feeds "
        f"(building them one by one: {prepared['one_by_one_ms']:.1f} ms)",
        flush=True,
    )
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("both", "postgresql", "sqlite"), default="both")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per figure and round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds (medians are printed)")
    parser.add_argument("--quick", action="store_true", help="4 rounds of 0.5 s per figure")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 0.5, 4
    goals = {"200": Goal("feed 200 >= 0.8 x /readyz", 0.8), "304": Goal("feed 304 >= 0.9 x /readyz", 0.9)}
    kinds = ("postgresql", "sqlite") if args.db == "both" else (args.db,)
    same = all([run(kind, args, goals) for kind in kinds])  # noqa: C419 (every database, even after a failure)
    for goal in goals.values():
        goal.summary()
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
