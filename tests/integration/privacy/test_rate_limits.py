"""Rate limits per client address: behind a trusted proxy, on enrolment and on feed rotation."""

import secrets

import pytest

from scheduler import create_app
from scheduler.foundation.config import for_tests
from tests.helpers import enrol, enrolled


@pytest.fixture
def limited(database_url):
    """limited(**settings) -> a test client of an app with rate limits on (fresh counters)."""
    made = []

    def make(**overrides):
        settings = {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_KEY_PREFIX": "t-" + secrets.token_hex(6),
            "ENROL_RATE_LIMIT": "2 per minute",
            "ROTATE_RATE_LIMIT": "2 per hour",
            **overrides,
        }
        limited_app = create_app(for_tests(database_url, **settings))
        made.append(limited_app)
        return limited_app.test_client()

    yield make


def _enrol(client, cohort, n, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return enrol(client, cohort, f"p{n}-{secrets.token_hex(3)}@example.org", f"Person {n}", headers=headers).status_code


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app, limited, make_cohort):
    client = limited()
    cohort = make_cohort(capacity=50, price_amount=0)
    statuses = [_enrol(client, cohort, n, forwarded_for=f"198.51.100.{n}") for n in range(3)]
    assert statuses == [202, 202, 429]  # a client cannot pick a new address per request


def test_behind_one_trusted_proxy_each_client_has_its_own_count(app, limited, make_cohort):
    client = limited(TRUSTED_PROXIES=1)
    cohort = make_cohort(capacity=50, price_amount=0)
    first = [_enrol(client, cohort, n, forwarded_for="198.51.100.1") for n in range(3)]
    second = [_enrol(client, cohort, 10 + n, forwarded_for="198.51.100.2") for n in range(2)]
    assert first == [202, 202, 429] and second == [202, 202]
    # A client that writes its own X-Forwarded-For gets the proxy's entry appended: still the same client.
    spoofed = _enrol(client, cohort, 20, forwarded_for="192.0.2.77, 198.51.100.1")
    assert spoofed == 429


def test_rotating_feeds_is_limited_per_client(app, limited, make_cohort, auth):
    client = limited()
    desk = auth("front_desk")  # written before the other app's requests: SQLite's one writer at a time
    cohort = make_cohort(capacity=5, price_amount=0)
    enrolment = enrolled(client, cohort, "sam@example.org", "Sam")
    participant = {"Authorization": f"Bearer {enrolment['manage_token']}"}
    path = f"/api/v1/enrolments/{enrolment['id']}/calendar/rotate"
    assert [client.post(path, headers=participant).status_code for _ in range(3)] == [200, 200, 429]
    refused = client.post(path, headers=participant)
    assert refused.mimetype == "application/problem+json" and int(refused.headers["Retry-After"]) > 0

    cohort_path = f"/api/v1/cohorts/{cohort.id}/calendar/rotate"
    assert [client.post(cohort_path, headers=desk).status_code for _ in range(3)] == [200, 200, 429]


def test_each_address_gets_at_most_five_requests_in_15_minutes_whoever_asks_and_wherever(
    app, limited, make_cohort, auth
):
    """Issue 35: counted per address across the API, the form and "send it again", alike for an
    address that is enrolled and one that is not; staff enrolling by phone are not counted."""
    client = limited(ENROL_RATE_LIMIT="100 per minute", TRUSTED_PROXIES=1)
    cohort = make_cohort(capacity=50, price_amount=0)
    enrolled(client, cohort, "known@example.org", "Known")  # the first of known@'s five
    handled = []
    for email in ("known@example.org", "stranger@example.org"):
        statuses = []
        for n in range(6):  # each from another client address: the address is what is counted
            headers = {"X-Forwarded-For": f"198.51.100.{n}"}
            if n % 2:
                page = client.get(f"/cohorts/{cohort.id}/check-email", headers=headers).get_data(as_text=True)
                token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
                answer = client.post(
                    f"/cohorts/{cohort.id}/check-email", data={"csrf_token": token, "email": email}, headers=headers
                )
            else:
                answer = enrol(client, cohort, email.upper(), "Someone", headers=headers)
            statuses.append(answer.status_code)
        handled.append(statuses)
    known, stranger = handled
    assert known == [202, 303, 202, 303, 429, 429]  # the enrolment above was its first
    assert stranger == [202, 303, 202, 303, 202, 429]
    desk = auth("front_desk")
    assert enrol(client, cohort, "stranger@example.org", "Stranger", headers=desk).status_code == 201
