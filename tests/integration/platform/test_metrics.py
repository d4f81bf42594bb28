"""/metrics: Prometheus text, behind METRICS_TOKEN; request latency, outbox depth and age, holds about to lapse."""

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from scheduler.enrolment import events
from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from tests.helpers import announce, handle_inbox
from tests.live_server import LiveServer, fire

TOKEN = "metrics-" + "k" * 32


def _samples(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _scrape(client) -> dict:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain" and response.headers["Cache-Control"] == "no-store"
    return _samples(response.get_data(as_text=True))


def test_metrics_is_404_until_a_token_is_set_then_needs_it(app, client, auth):
    unset = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert unset.status_code == 404 and unset.mimetype == "application/problem+json"
    app.config["METRICS_TOKEN"] = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers=auth("admin")).status_code == 401  # a staff token is not it
    assert client.get("/metrics", query_string={"token": TOKEN}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_latency_outbox_and_lapsing_holds(app, client, make_cohort, make_enrolment):
    app.config["METRICS_TOKEN"] = TOKEN
    cohort = make_cohort()
    now = clock.now()
    make_enrolment(cohort, status="pending_payment", hold_expires_at=now + timedelta(minutes=3))
    make_enrolment(cohort, status="pending_payment", hold_expires_at=now + timedelta(minutes=4, seconds=50))
    make_enrolment(cohort, status="pending_payment", hold_expires_at=now + timedelta(minutes=30))
    waiting = [make_enrolment(cohort, status="waitlisted") for _ in range(3)]
    announce(*(events.Waitlisted(person, position) for position, person in enumerate(waiting, 1)))
    db.session.execute(update(OutboxMessage).values(created_at=now - timedelta(minutes=10)))
    db.session.commit()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/cohorts/nope").status_code == 404

    samples = _scrape(client)
    assert samples[("scheduler_outbox_messages", (("status", "pending"),))] == 3
    assert samples[("scheduler_outbox_messages", (("status", "sending"),))] == 0
    assert 600 <= samples[("scheduler_outbox_oldest_pending_age_seconds", ())] < 700
    assert samples[("scheduler_holds_lapsing_soon", ())] == 2
    assert samples[("scheduler_database_up", ())] == 1
    healthz = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
    assert samples[("scheduler_request_duration_seconds_count", healthz)] >= 3
    missing = (("method", "GET"), ("route", "/api/v1/cohorts/<cohort_id>"), ("status", "404"))
    assert samples[("scheduler_request_duration_seconds_count", missing)] >= 1
    # Routes are URL rules: no id, token or email becomes a label.
    assert not any("nope" in str(labels) for _, labels in samples)


def test_an_empty_outbox_has_age_zero(app, client):
    app.config["METRICS_TOKEN"] = TOKEN
    samples = _scrape(client)
    assert samples[("scheduler_outbox_oldest_pending_age_seconds", ())] == 0
    assert samples[("scheduler_holds_lapsing_soon", ())] == 0


@pytest.mark.slow
def test_two_workers_report_the_same_totals(app, database_url, tmp_path):
    """PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py makes one): whichever worker answers, counts are the sum of both."""
    env = {"METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with LiveServer(database_url, workers=2, env=env) as server:

        def healthz_count():
            [(status, text, _)] = fire([("GET", server.url + "/metrics", None, headers)], processes=1)
            assert status == 200, text
            key = (
                "scheduler_request_duration_seconds_count",
                (("method", "GET"), ("route", "/healthz"), ("status", "200")),
            )
            return _samples(text).get(key, 0)

        before = healthz_count()
        results = fire([("GET", server.url + "/healthz", None, None)] * 40, processes=8)
        assert {r[0] for r in results} == {200}
        counts = {healthz_count() for _ in range(6)}
    assert counts == {before + 40}
    assert len(list(tmp_path.glob("histogram_*.db"))) == 2  # both workers recorded requests


def test_each_write_reports_how_long_it_held_its_lock(app, client, make_cohort, database_url):
    """The lock an enrolment holds (the cohort's row, or SQLite's database) is timed to its commit."""
    app.config["METRICS_TOKEN"] = TOKEN
    cohort = make_cohort()
    lock = "database" if database_url.startswith("sqlite") else "cohort"
    key = ("scheduler_lock_hold_seconds_count", (("lock", lock),))
    before = _scrape(client).get(key, 0)
    for n in range(3):
        response = client.post(
            f"/api/v1/cohorts/{cohort.id}/enrolments", json={"name": f"Sam {n}", "email": f"sam{n}@example.org"}
        )
        assert response.status_code == 202
    handle_inbox()
    samples = _scrape(client)
    # On SQLite every write transaction holds the database: each request as it is queued, each
    # enrolment the worker makes of it, then (just after that commits) the one that stores its
    # email's bytes. On PostgreSQL only the enrolment locks a row (the cohort's).
    assert samples[key] == before + (9 if lock == "database" else 3)
    assert samples[("scheduler_lock_hold_seconds_sum", (("lock", lock),))] > 0
