"""Pages under gunicorn, beside /readyz from the same run (issue 23).

    .venv/bin/python bench/pages.py            # both databases
    .venv/bin/python bench/pages.py --quick    # fewer requests, for make bench

For each database: a 12-session cohort with 50 confirmed people, one of whom opens their own page,
and a front-desk member signed in. Measured in turn, each beside /readyz:
  - the public cohort page (HTML) and the participant page: goal ≥ 0.5 × /readyz;
  - the console's Today and the cohort's page with its 50 people: goal ≥ 0.3 × /readyz.
Nothing here asserts a speed; exit 1 only if a page answers other than 200.
"""

import argparse
import re
from datetime import date
from datetime import time as wall_time

import requests
from common import KINDS, app_context, readyz, scratch_database, send, served
from report import Goal

PEOPLE = 50


def _seed(url: str) -> tuple[str, str, str, str]:
    """(cohort id, one person's enrolment id, their manage token, a desk member's email)."""
    from scheduler.cohorts.programs import create_program
    from scheduler.cohorts.services import create_cohort
    from scheduler.enrolment.models import Enrolment, Participant
    from scheduler.foundation.database import write_transaction
    from scheduler.foundation.extensions import db
    from scheduler.staff.services import create_staff

    with app_context(url):
        program = create_program({"name": "Bench group", "price_amount": 36000, "currency": "usd"})
        cohort = create_cohort(
            {
                "program_id": program.id,
                "start_date": date(2031, 1, 9),
                "start_time": wall_time(18, 0),
                "timezone": "America/New_York",
                "capacity": PEOPLE,
                "status": "open",
            }
        )
        with write_transaction():
            people = []
            for p in range(PEOPLE):
                email = f"p{p}@example.org"
                person = Enrolment(
                    cohort_id=cohort.id,
                    participant=Participant(email_normalised=email),
                    status="confirmed",
                    name=f"Person {p}",
                    email=email,
                    amount_due=36000,
                )
                db.session.add(person)
                people.append(person)
        create_staff("desk@example.org", "Bench Desk", "front_desk")
        return cohort.id, people[0].id, people[0].manage_token, "desk@example.org"


def _desk_cookie(server, url: str, email: str) -> str:
    """Sign in as the browser does (the one-time link, its form), and hand back the Cookie header."""
    from scheduler.staff.services import issue_sign_in_link

    with app_context(url):
        link = issue_sign_in_link(email)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    # The app's cookies are Secure (its public address is https), which a client keeps but never sends
    # over this loopback http: they are carried by hand.
    page = requests.get(server.url + path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    jar = dict(page.cookies)
    cookies = "; ".join(f"{k}={v}" for k, v in jar.items())
    signed = requests.post(
        server.url + path, data={"csrf_token": token}, headers={"Cookie": cookies}, allow_redirects=False
    )
    if signed.status_code != 303:
        raise SystemExit(f"signing in answered {signed.status_code}")
    jar.update(signed.cookies)
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def run(kind: str, n: int, clients: int, workers: int, public: Goal, console: Goal) -> None:
    with scratch_database(kind) as url:
        cohort_id, enrolment_id, manage_token, desk_email = _seed(url)
        print(f"[{kind}] one cohort of {PEOPLE} people; gunicorn workers={workers}, clients={clients}")
        with served(url, workers) as server:
            cookie = _desk_cookie(server, url, desk_email)
            pages = {
                "cohort page (HTML)": (f"/cohorts/{cohort_id}", None, public),
                "participant page": (f"/me/{enrolment_id}", f"manage_token={manage_token}", public),
                "console Today": ("/desk/", cookie, console),
                f"console cohort of {PEOPLE}": (f"/desk/cohorts/{cohort_id}", cookie, console),
            }
            for label, (path, sent_cookie, goal) in pages.items():
                ceiling = readyz(server, n, clients)
                headers = {"Cookie": sent_cookie} if sent_cookie else None
                figure = send([("GET", server.url + path, None, headers)] * n, clients)
                if figure.errors or any(r[0] != 200 for r in figure.results):
                    raise SystemExit(f"{label}: answered {sorted({r[0] for r in figure.results})}")
                print(f"  {label}: readyz {ceiling}; page {figure}")
                goal.measure(f"{label}, {kind}", figure.throughput, "req/s", ("/readyz", ceiling.throughput))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=600, help="requests per figure")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--db", choices=("both", *KINDS), default="both")
    parser.add_argument("--quick", action="store_true", help="300 requests per figure")
    args = parser.parse_args()
    n = 300 if args.quick else args.n
    public = Goal("cohort page and participant page ≥ 0.5 × /readyz", target=0.5)
    console = Goal(f"console Today and a cohort of {PEOPLE} ≥ 0.3 × /readyz", target=0.3)
    for kind in KINDS if args.db == "both" else (args.db,):
        run(kind, n, args.clients, args.workers, public, console)
    public.summary()
    console.summary()


if __name__ == "__main__":
    main()
