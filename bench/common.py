"""What the bench scripts share: scratch databases, the served app, the client, and the ceiling.

Every figure is measured against a ceiling from the same run (GET /readyz: one `SELECT 1`
through the same app, server and client), so that a slow or busy machine moves both.
"""

import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from live_server import LiveServer, _call, fire, request  # noqa: E402

METRICS_TOKEN = "bench-metrics-" + "m" * 24
KINDS = ("postgresql", "sqlite")


def _admin_url() -> str:
    admin = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit("Set BENCH_POSTGRES_URL (or TEST_POSTGRES_URL) to benchmark PostgreSQL.")
    return admin


@contextmanager
def scratch_database(kind: str):
    """A new, migrated database of this kind (a temporary SQLite file, or a PostgreSQL database
    created on the admin server); removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="scheduler-bench-") as workdir:
        if kind == "sqlite":
            url = f"sqlite:///{workdir}/bench.db"
        else:
            import psycopg

            name = f"scheduler_bench_{os.getpid()}"
            with psycopg.connect(_admin_url(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
            url = _admin_url().rpartition("/")[0] + "/" + name
        try:
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "SECRET_KEY": "bench-only",
                "PUBLIC_BASE_URL": "https://bench.test",
            }
            subprocess.run(
                [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
            yield url
        finally:
            if kind == "postgresql":
                import psycopg

                with psycopg.connect(_admin_url(), autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


@contextmanager
def app_context(url: str):
    """The app on this database, for seeding (the engine is let go afterwards)."""
    from scheduler import create_app
    from scheduler.foundation.config import for_tests
    from scheduler.foundation.extensions import db

    app = create_app(for_tests(url))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@contextmanager
def served(url: str, workers: int = 4):
    """gunicorn serving the app on this database, with its metrics on (summed over the workers)."""
    with tempfile.TemporaryDirectory(prefix="scheduler-bench-metrics-") as metrics_dir:
        env = {"METRICS_TOKEN": METRICS_TOKEN, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        with LiveServer(url, workers=workers, env=env) as server:
            yield server


class Figure:
    """Throughput and latency of one batch of requests sent at once."""

    def __init__(self, results: list[tuple], wall: float):
        self.results = results
        latencies = sorted(r[2] for r in results)
        self.throughput = len(results) / wall
        self.p50_ms = statistics.median(latencies) * 1000
        self.p99_ms = latencies[max(0, round(0.99 * len(latencies)) - 1)] * 1000
        self.errors = sum(1 for r in results if not 200 <= r[0] < 400)

    def __str__(self) -> str:
        return f"{self.throughput:.1f} req/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, errors {self.errors}"


def send(jobs: list[tuple], clients: int, *, parse: bool = False) -> Figure:
    """Send (method, url, body, headers) jobs from `clients` processes at once; the clock runs
    only while they are sent (the processes are started and warmed first).

    Each client reads every byte of each response. With `parse`, it also parses the JSON and
    hands it back; otherwise it hands back only the body's length (the text of an error), so
    that a long response costs the client what it costs a load generator, not the price of
    parsing it and shipping it between processes, which would be measured as the server's.
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(clients) as pool:
        pool.map(time.sleep, [0.05] * clients)
        started = time.perf_counter()
        results = pool.map(_call if parse else _call_reading, jobs, chunksize=1)
        return Figure(results, time.perf_counter() - started)


def _call_reading(job) -> tuple[int, int | str, float]:
    """One HTTP call, its body read to the end: (status, body length or error text, seconds taken)."""
    return request(*job, parse=False)


def readyz(server, n: int, clients: int) -> Figure:
    """The ceiling: GET /readyz (one SELECT 1) through the same app, server and client."""
    return send([("GET", f"{server.url}/readyz", None, None)] * n, clients)


def lock_holds(server) -> dict[str, tuple[int, float]]:
    """From /metrics: per lock, (how many write transactions held it, mean seconds held)."""
    from prometheus_client.parser import text_string_to_metric_families

    [(status, text, _)] = fire(
        [("GET", server.url + "/metrics", None, {"Authorization": f"Bearer {METRICS_TOKEN}"})], processes=1
    )
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}: {text}")
    counts, sums = {}, {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "scheduler_lock_hold_seconds_count":
                counts[sample.labels["lock"]] = counts.get(sample.labels["lock"], 0) + sample.value
            elif sample.name == "scheduler_lock_hold_seconds_sum":
                sums[sample.labels["lock"]] = sums.get(sample.labels["lock"], 0) + sample.value
    return {lock: (int(count), sums.get(lock, 0) / count if count else 0.0) for lock, count in counts.items()}
