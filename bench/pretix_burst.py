"""pretix's burst beside ours: simultaneous order creations for one 12-seat quota (issue 23).

A manual, optional comparison, not part of `make bench`: pretix is not a dependency of the
project. It runs against a pretix served beside the scheduler on the same machine and the
same PostgreSQL, set up and started by bench/pretix_setup.sh (pretix 2026.8.0 in its own venv
under /opt/pretix-bench, gunicorn with 4 sync workers on 127.0.0.1:8751):

    bash bench/pretix_setup.sh install       # once, as root (venv, config, database, API token)
    bash bench/pretix_setup.sh start
    .venv/bin/python bench/pretix_burst.py               # N=300 orders on C=12 seats, 16 clients
    .venv/bin/python bench/pretix_burst.py --quick       # N=120, as enrol_burst.py --quick
    .venv/bin/python bench/pretix_burst.py --rounds 3
    bash bench/pretix_setup.sh stop

and then our own burst with the same client, on the same machine, for the ratio (goal ≥ 3×):

    BENCH_POSTGRES_URL=$TEST_POSTGRES_URL .venv/bin/python bench/enrol_burst.py --db postgresql

The burst is driven as bench/enrol_burst.py drives ours (`common.send`: N requests from
`--clients` processes at once, the clock running only while they are sent). Each request is
POST /api/v1/organizers/<org>/events/<event>/orders/ with the team's API token, a distinct
email and one position of the item; pretix answers 201 with the order, or 400 when the quota
is gone (pretix "losing the race", as our waitlisted answers are ours). Every round first
creates, through the API, a fresh item with a fresh quota of C seats, so each starts from C
free seats, and warms every worker (pretix loads lazily; ours loads at start) with health
checks and simulated orders (`"simulate": true`: the whole path, no lock, nothing written).
It prints the burst's req/s, p50 and p99 beside the same run's GET /healthcheck/
(pretix's cheapest endpoint: one query and a cache round trip, like our /readyz), and the
orders created (answered 201, and counted by pretix afterwards): exactly C every round, or
it exits 1. The connection comes from $PRETIX_BENCH_DIR/bench.env, written by the setup.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from common import Figure, send
from live_server import request

ENV_FILE = Path(os.environ.get("PRETIX_BENCH_DIR", "/opt/pretix-bench")) / "bench.env"


def _settings(path: Path) -> dict[str, str]:
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `bash bench/pretix_setup.sh install` first.")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


class Pretix:
    def __init__(self, env: dict[str, str]):
        self.url = env["PRETIX_URL"]
        self.api = f"{self.url}/api/v1/organizers/{env['PRETIX_ORGANIZER']}/events/{env['PRETIX_EVENT']}"
        self.headers = {"Authorization": f"Token {env['PRETIX_TOKEN']}"}

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        status, answer, _ = request(method, self.api + path, body, self.headers)
        if not 200 <= status < 300:
            raise SystemExit(f"pretix answered {status} to {method} {path}: {answer}")
        return answer

    def fresh_seats(self, capacity: int) -> tuple[int, int]:
        """A new item on a new quota of `capacity`: (item id, quota id)."""
        label = f"Bench seat {time.strftime('%H:%M:%S')}"
        item = self.call(
            "POST",
            "/items/",
            {"name": {"en": label}, "default_price": "360.00", "active": True, "admission": True},
        )
        quota = self.call(
            "POST", "/quotas/", {"name": label, "size": capacity, "items": [item["id"]], "variations": []}
        )
        return item["id"], quota["id"]

    def orders_for(self, item: int) -> int:
        """How many orders pretix holds with a position of this item (any status)."""
        return self.call("GET", f"/orders/?item={item}&page_size=1")["count"]


def burst(pretix: Pretix, item: int, n: int, clients: int, round_no: int) -> Figure:
    stamp = f"{os.getpid()}-{round_no}-{int(time.time())}"
    jobs = [
        (
            "POST",
            f"{pretix.api}/orders/",
            {"email": f"bench{i}-{stamp}@example.org", "locale": "en", "positions": [{"item": item}]},
            pretix.headers,
        )
        for i in range(n)
    ]
    return send(jobs, clients, parse=True)


def _quota_refusal(body) -> bool:
    """pretix's 400 for a sold-out quota: {"positions": [{"item": ["There is not enough quota ..."]}]}."""
    return "quota" in str(body).lower()


def warm(pretix: Pretix, item: int, clients: int) -> None:
    """Every worker past its first request: pretix imports much of itself lazily, and a sync
    worker's first order takes seconds. Simulated orders go the whole way without a lock or a row."""
    order = {"email": "warm@example.org", "locale": "en", "positions": [{"item": item}], "simulate": True}
    send([("GET", f"{pretix.url}/healthcheck/", None, None)] * (4 * clients), clients)
    send([("POST", f"{pretix.api}/orders/", order, pretix.headers)] * (2 * clients), clients)


def run_round(pretix: Pretix, n: int, capacity: int, clients: int, round_no: int) -> tuple[Figure, Figure, bool]:
    item, quota = pretix.fresh_seats(capacity)
    warm(pretix, item, clients)
    ceiling = send([("GET", f"{pretix.url}/healthcheck/", None, None)] * n, clients)
    figure = burst(pretix, item, n, clients, round_no)
    created = sum(1 for status, _, _ in figure.results if status == 201)
    refused = sum(1 for status, body, _ in figure.results if status == 400 and _quota_refusal(body))
    other = [
        (status, body)
        for status, body, _ in figure.results
        if status not in (201, 400) or (status == 400 and not _quota_refusal(body))
    ]
    held = pretix.orders_for(item)
    ok = created == capacity and held == capacity and refused == n - capacity and not other
    print(f"[pretix round {round_no}] N={n} on C={capacity} seats (item {item}, quota {quota}), clients={clients}")
    print(f"  orders:      {figure.throughput:.1f} req/s, p50 {figure.p50_ms:.1f} ms, p99 {figure.p99_ms:.1f} ms")
    print(f"  healthcheck: {ceiling}")
    print(f"  ratio orders / healthcheck: {figure.throughput / ceiling.throughput:.2f}")
    print(f"  answered 201 (order created): {created}; 400 quota refused: {refused}; other: {len(other)}")
    print(f"  orders pretix holds for the item: {held} (capacity {capacity}) {'OK' if ok else 'WRONG'}")
    for status, body in other[:3]:
        print(f"    unexpected {status}: {str(body)[:300]}")
    return figure, ceiling, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=300, help="simultaneous order creations")
    parser.add_argument("-c", "--capacity", type=int, default=12)
    parser.add_argument("--clients", type=int, default=16, help="client processes sending at once")
    parser.add_argument("--rounds", type=int, default=1, help="bursts, each on a fresh item and quota")
    parser.add_argument("--quick", action="store_true", help="N=120, as enrol_burst.py --quick")
    parser.add_argument("--env", type=Path, default=ENV_FILE, help="the setup's bench.env")
    args = parser.parse_args()
    n = 120 if args.quick else args.n
    pretix = Pretix(_settings(args.env))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    rounds = [run_round(pretix, n, args.capacity, args.clients, i + 1) for i in range(args.rounds)]
    if len(rounds) > 1:
        rates = [figure.throughput for figure, _, _ in rounds]
        print(
            f"median over {len(rounds)} rounds: orders {statistics.median(rates):.1f} req/s,"
            f" healthcheck {statistics.median(c.throughput for _, c, _ in rounds):.1f} req/s"
        )
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    sys.exit(0 if all(ok for _, _, ok in rounds) else 1)


if __name__ == "__main__":
    main()
