"""Lists under gunicorn: the public cohort list and the staff roster, a page of 50, beside /readyz.

    .venv/bin/python bench/lists.py            # both databases
    .venv/bin/python bench/lists.py --quick    # fewer requests, for make bench

For each database: 50 open cohorts (and 50 confirmed people in one of them), then the same
after adding ten times the data (500 cohorts more, each with people, and their messages),
so that a list that grows with the table shows. Goals (issue 15): each list ≥ 0.5 × the
same run's /readyz; the figures with 10 × the data within 20 % of the first ones.
"""

import argparse
from datetime import date, timedelta
from datetime import time as wall_time

from common import KINDS, app_context, readyz, scratch_database, send, served
from report import Goal

PAGE = 50


def _seed(url: str, cohorts: int, people_each: int, first: date) -> tuple[str, str]:
    """`cohorts` open cohorts with `people_each` confirmed people; returns (a cohort id, an admin token)."""
    from scheduler.cohorts.programs import create_program
    from scheduler.cohorts.services import create_cohort
    from scheduler.enrolment.models import Enrolment, Participant
    from scheduler.foundation.database import write_transaction
    from scheduler.foundation.extensions import db
    from scheduler.staff.services import create_staff

    with app_context(url):
        program = create_program({"name": "Bench group", "price_amount": 36000, "currency": "usd"})
        ids = []
        for n in range(cohorts):
            cohort = create_cohort(
                {
                    "program_id": program.id,
                    "start_date": first + timedelta(days=n % 300),
                    "start_time": wall_time(18, 0),
                    "timezone": "America/New_York",
                    "capacity": people_each,
                    "status": "open",
                }
            )
            ids.append(cohort.id)
            with write_transaction():
                for p in range(people_each):
                    email = f"p{p}.{cohort.id}@example.org"
                    person = Participant(email_normalised=email)
                    db.session.add(
                        Enrolment(
                            cohort_id=cohort.id,
                            participant=person,
                            status="confirmed",
                            name=f"Person {p}",
                            email=email,
                            amount_due=36000,
                        )
                    )
        token = create_staff(f"desk{first.isoformat()}@example.org", "Bench Desk", "admin").token
    return ids[0], token


def _measure(server, cohort_id: str, token: str, n: int, clients: int, label: str, lists: Goal) -> dict:
    ceiling = readyz(server, n, clients)
    public = send([("GET", f"{server.url}/api/v1/cohorts?page_size={PAGE}", None, None)] * n, clients)
    roster = send(
        [("GET", f"{server.url}/api/v1/cohorts/{cohort_id}/roster", None, {"Authorization": f"Bearer {token}"})] * n,
        clients,
    )
    for name, figure in (("public cohort list", public), ("staff roster", roster)):
        if figure.errors:
            raise SystemExit(f"{name}: {figure.errors} errors, e.g. {figure.results[0][:2]}")
    print(f"  {label}: readyz {ceiling}; public list {public}; roster {roster}")
    lists.measure(f"public list of {PAGE}, {label}", public.throughput, "req/s", ("/readyz", ceiling.throughput))
    lists.measure(f"roster of {PAGE}, {label}", roster.throughput, "req/s", ("/readyz", ceiling.throughput))
    return {"public": public.throughput / ceiling.throughput, "roster": roster.throughput / ceiling.throughput}


def run(kind: str, n: int, clients: int, workers: int, lists: Goal, growth: Goal) -> None:
    with scratch_database(kind) as url:
        cohort_id, token = _seed(url, PAGE, PAGE, date(2031, 1, 6))
        print(f"[{kind}] {PAGE} cohorts, {PAGE} people each; gunicorn workers={workers}, clients={clients}")
        with served(url, workers) as server:
            base = _measure(server, cohort_id, token, n, clients, f"{kind}", lists)
        _seed(url, 10 * PAGE, 10, date(2031, 2, 6))
        print(f"[{kind}] and {10 * PAGE} cohorts more, 10 people each")
        with served(url, workers) as server:
            grown = _measure(server, cohort_id, token, n, clients, f"{kind}, 10 × data", lists)
    for name in ("public", "roster"):
        growth.measure(f"{name} with 10 × data, {kind}", grown[name], "×rdyz", (f"{name} with 1 × data", base[name]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=600, help="requests per figure")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--db", choices=("both", *KINDS), default="both")
    parser.add_argument("--quick", action="store_true", help="300 requests per figure")
    args = parser.parse_args()
    n = 300 if args.quick else args.n
    lists = Goal(f"lists (page of {PAGE}) ≥ 0.5 × /readyz", target=0.5)
    growth = Goal("lists with 10 × the data within 20 %", target=0.8)
    for kind in KINDS if args.db == "both" else (args.db,):
        run(kind, n, args.clients, args.workers, lists, growth)
    lists.summary()
    growth.summary()


if __name__ == "__main__":
    main()
