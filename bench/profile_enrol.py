"""Where an enrolment spends the time it holds the cohort's lock: a profile of that window only.

    .venv/bin/python bench/profile_enrol.py --db postgresql -n 200
    .venv/bin/python bench/profile_enrol.py --db sqlite -n 200 --html /tmp/profile.html

Enrols `n` people one after another in one cohort of 12 seats (so most are waitlisted, as in
a burst), in-process through the app's test client, and profiles (pyinstrument) only the time
between taking the lock (note_lock; on SQLite, BEGIN IMMEDIATE) and the end of the commit.
Prints the mean hold, the statements sent while holding it, and the profile's top lines.
"""

import argparse
import time
from collections import Counter

from common import app_context, scratch_database
from enrol_burst import _cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--html", help="also write the profile as HTML here")
    parser.add_argument("--whole", action="store_true", help="profile whole requests, not only the lock's hold")
    parser.add_argument("--no-profile", action="store_true", help="only the hold times and statements")
    args = parser.parse_args()

    from pyinstrument import Profiler
    from sqlalchemy import event

    from scheduler.foundation import database
    from scheduler.foundation.extensions import db

    with scratch_database(args.db) as url:
        cohort_id = _cohort(url, 12)
        with app_context(url) as app:
            app.config["RATELIMIT_ENABLED"] = False
            profiler = Profiler(interval=0.0002, async_mode="disabled")
            holds: list[float] = []
            statements: Counter = Counter()
            state = {"in": False}

            def observe(kind, seconds):
                holds.append(seconds)
                if state["in"]:
                    if profiler.is_running and not args.whole:
                        profiler.stop()
                    state["in"] = False

            app.extensions.setdefault("lock_observers", []).append(observe)
            original_note_lock = database.note_lock

            def note_lock(kind, row_id):
                original_note_lock(kind, row_id)
                if not state["in"]:
                    state["in"] = True
                    if not args.no_profile and not profiler.is_running:
                        profiler.start()

            database.note_lock = note_lock
            for module in list(__import__("sys").modules.values()):
                if getattr(module, "note_lock", None) is original_note_lock and module is not database:
                    module.note_lock = note_lock

            @event.listens_for(db.engine, "before_cursor_execute")
            def count(conn, cursor, statement, parameters, context, executemany):
                if state["in"]:
                    statements[" ".join(statement.split())[:90]] += 1

            client = app.test_client()
            # Warm up (templates, caches) before measuring.
            for i in range(5):
                client.post(
                    f"/api/v1/cohorts/{cohort_id}/enrolments",
                    json={"name": f"Warm {i}", "email": f"warm{i}@example.org"},
                )
            holds.clear()
            statements.clear()
            profiler.reset() if hasattr(profiler, "reset") else None
            profiler = Profiler(interval=0.0002, async_mode="disabled")
            if args.whole:
                args.no_profile = True  # the lock's hooks leave it alone
                profiler.start()
            started = time.perf_counter()
            for i in range(args.n):
                response = client.post(
                    f"/api/v1/cohorts/{cohort_id}/enrolments",
                    json={"name": f"Bench {i}", "email": f"bench{i}@example.org"},
                )
                assert response.status_code == 201, response.get_json()
            wall = time.perf_counter() - started
            if profiler.is_running:
                profiler.stop()
    mean = sum(holds) / len(holds) * 1000
    print(f"[{args.db}] {args.n} enrolments in {wall:.2f} s ({wall / args.n * 1000:.2f} ms each, one at a time)")
    print(f"  lock held: mean {mean:.2f} ms over {len(holds)} write transactions")
    print(f"  statements while holding it: {sum(statements.values()) / args.n:.1f} per enrolment")
    for statement, count in statements.most_common(25):
        print(f"    {count / args.n:5.2f}  {statement}")
    if not args.no_profile or args.whole:
        print(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False))
    if args.html:
        with open(args.html, "w") as out:
            out.write(profiler.output_html())


if __name__ == "__main__":
    main()
