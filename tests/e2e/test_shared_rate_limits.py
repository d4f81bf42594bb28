"""Rate limits shared through Redis across gunicorn workers, counted per real client behind a proxy.

With RATELIMIT_STORAGE_URI=memory:// each worker counts alone, so three workers let
through up to three times the limit; with redis:// they share one count. The server runs
behind one trusted proxy (TRUSTED_PROXIES=1): the client's address is the one the
proxy appended to X-Forwarded-For, so each round below is a different client.
With memory:// and more than one worker, the server says so once at startup (gunicorn.conf.py).
"""

import re
import secrets
from collections import Counter

import pytest

from tests.live_server import LiveServer, fire

pytestmark = pytest.mark.slow

LIMIT = 5
PER_ROUND = 14
WORKERS = 3
ROUNDS = 8


def test_three_workers_share_one_enrolment_limit_through_redis(app, database_url, make_cohort, redis_url, tmp_path):
    access_log = tmp_path / "access.log"
    env = {
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": "scheduler-test-" + secrets.token_hex(6),  # one test's counters, alone
        "ENROL_RATE_LIMIT": f"{LIMIT} per minute",
        "TRUSTED_PROXIES": "1",
    }
    rounds = []
    with LiveServer(
        database_url, workers=WORKERS, env=env, access_log=access_log, args=("--access-logformat", "%(p)s %(m)s %(U)s")
    ) as server:
        for round_number in range(1, ROUNDS + 1):
            cohort = make_cohort(capacity=100, price_amount=0)
            client = {"X-Forwarded-For": f"203.0.113.{round_number}"}
            jobs = [
                (
                    "POST",
                    f"{server.url}/api/v1/cohorts/{cohort.id}/enrolments",
                    {"name": f"Person {i}", "email": f"r{round_number}p{i}@example.org"},
                    client,
                )
                for i in range(PER_ROUND)
            ]
            results = fire(jobs, processes=PER_ROUND)
            pids = set(re.findall(rf"<(\d+)> POST /api/v1/cohorts/{cohort.id}/enrolments", access_log.read_text()))
            rounds.append((Counter(status for status, _, _ in results), pids, results))
            if len(pids) == WORKERS:
                break
    for statuses, _, results in rounds:
        # Exactly the limit, whichever workers answered: the count lives in Redis.
        assert statuses == {202: LIMIT, 429: PER_ROUND - LIMIT}, statuses
        refused = next(body for status, body, _ in results if status == 429)
        assert refused["status"] == 429 and refused["type"].endswith("/rate-limited")
    served = [len(pids) for _, pids, _ in rounds]
    assert max(served) >= 2, f"no round was served by more than one worker: {served}"
    assert len(set().union(*(pids for _, pids, _ in rounds))) == WORKERS, f"not every worker served: {served}"


def test_redis_is_where_the_counts_are(app, database_url, make_cohort, redis_url):
    import redis

    prefix = "scheduler-test-" + secrets.token_hex(6)
    env = {
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": prefix,
        "ENROL_RATE_LIMIT": f"{LIMIT} per minute",
    }
    cohort = make_cohort(capacity=10, price_amount=0)
    with LiveServer(database_url, workers=2, env=env) as server:
        url = f"{server.url}/api/v1/cohorts/{cohort.id}/enrolments"
        results = fire([("POST", url, {"name": "A", "email": f"k{i}@example.org"}, None) for i in range(3)], 3)
    assert [r[0] for r in results] == [202] * 3
    keys = redis.Redis.from_url(redis_url).keys(f"*{prefix}*")
    assert keys, "the limiter wrote no counter to Redis"


@pytest.mark.parametrize(
    ("workers", "storage", "warned"),
    [(2, "memory://", True), (1, "memory://", False), (2, "redis", False)],
    ids=["two-workers-memory", "one-worker-memory", "two-workers-redis"],
)
def test_a_per_process_count_is_warned_about_once_at_startup(request, tmp_path, workers, storage, warned):
    storage_uri = request.getfixturevalue("redis_url") if storage == "redis" else storage
    env = {
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_STORAGE_URI": storage_uri,
        "RATELIMIT_KEY_PREFIX": "scheduler-test-" + secrets.token_hex(6),
    }
    # /healthz needs no table: an empty SQLite file will do, whatever the database under test.
    with LiveServer(f"sqlite:///{tmp_path / 'unused.db'}", workers=workers, env=env) as server:
        pass
    warnings = [line for line in server.app_log().splitlines() if "RATELIMIT_STORAGE_URI" in line]
    if warned:
        assert len(warnings) == 1, server.app_log()[-3000:]
        assert "WARNING" in warnings[0] and "memory://" in warnings[0] and "Redis" in warnings[0]
        assert f"{workers} gunicorn workers" in warnings[0]
    else:
        assert warnings == []
