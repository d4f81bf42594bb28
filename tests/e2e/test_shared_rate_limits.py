"""Rate limits shared through Redis across gunicorn workers, counted per real client behind a proxy.

With RATELIMIT_STORAGE_URI=memory:// each worker counts alone, so two workers let
through up to twice the limit; with redis:// they share one count. The server runs
behind one trusted proxy (TRUSTED_PROXIES=1): the client's address is the one the
proxy appended to X-Forwarded-For, so each round below is a different client.
"""

import re
import secrets
from collections import Counter

import pytest

from tests.live_server import LiveServer, fire

pytestmark = pytest.mark.slow

LIMIT = 5
PER_ROUND = 14


def test_two_workers_share_one_enrolment_limit_through_redis(app, database_url, make_cohort, redis_url, tmp_path):
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
        database_url, workers=2, env=env, access_log=access_log, args=("--access-logformat", "%(p)s %(m)s %(U)s")
    ) as server:
        for round_number in range(1, 6):
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
            if len(pids) == 2:
                break
    for statuses, _, results in rounds:
        # Exactly the limit, whichever worker answered: the count lives in Redis.
        assert statuses == {202: LIMIT, 429: PER_ROUND - LIMIT}, statuses
        refused = next(body for status, body, _ in results if status == 429)
        assert refused["status"] == 429 and refused["type"].endswith("/rate-limited")
    assert any(len(pids) == 2 for _, pids, _ in rounds), "no round was served by both workers"


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
