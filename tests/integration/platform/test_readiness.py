"""/readyz: ready only when the database answers, its schema is at the latest migration and,
when rate limits count in Redis, Redis answers; else 503 problem+json saying which check failed."""

import os
import socket

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from scheduler import create_app
from scheduler.foundation.config import for_tests
from scheduler.foundation.extensions import db
from tests.conftest import _fresh_postgres_database, _postgres_admin_url


def _not_ready(response, words):
    assert response.status_code == 503, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert body["status"] == 503 and body["type"].endswith("/unavailable")
    assert words in body["detail"], body["detail"]
    return body


def test_ready_once_migrated(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok", "database": "ok", "migrations": "ok", "redis": "not used"}


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    """A fresh database on the same backend as `database_url`, with no table at all."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    admin, name = _postgres_admin_url(), f"scheduler_readiness_{os.getpid()}"
    yield _fresh_postgres_database(admin, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_not_ready_before_migration_and_ready_after(empty_database_url):
    app = create_app(for_tests(empty_database_url))
    client = app.test_client()
    with app.app_context():
        try:
            _not_ready(client.get("/readyz"), "not migrated")
            assert client.get("/healthz").status_code == 200  # the process is up all the same
            upgrade(directory=app.extensions["migrate"].directory)
            assert client.get("/readyz").get_json()["migrations"] == "ok"
        finally:
            db.session.remove()
            db.engine.dispose()


def test_not_ready_when_the_schema_is_behind_the_latest_migration(app, client):
    (head,) = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars()
    try:
        db.session.execute(text("UPDATE alembic_version SET version_num = '0001_initial'"))
        db.session.commit()
        _not_ready(client.get("/readyz"), "behind the latest migration")
        # A revision this code does not know: a newer release migrated; this one keeps serving until replaced.
        db.session.execute(text("UPDATE alembic_version SET version_num = 'from_a_newer_release'"))
        db.session.commit()
        ahead = client.get("/readyz")
        assert ahead.status_code == 200 and ahead.get_json()["migrations"] == "ahead"
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()
    assert client.get("/readyz").status_code == 200


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: nothing listens there


def test_not_ready_when_the_rate_limit_redis_does_not_answer(database_url):
    url = f"redis://:hunter2-secret@127.0.0.1:{_closed_port()}/0"
    app = create_app(for_tests(database_url, RATELIMIT_STORAGE_URI=url))
    with app.app_context():
        try:
            body = _not_ready(app.test_client().get("/readyz"), "Redis")
        finally:
            db.session.remove()
            db.engine.dispose()
    # Which check failed, in words; never the URL or its password.
    assert "hunter2" not in str(body) and "127.0.0.1" not in str(body)


def test_ready_with_a_redis_that_answers(database_url, redis_url):
    app = create_app(for_tests(database_url, RATELIMIT_STORAGE_URI=redis_url))
    with app.app_context():
        try:
            ready = app.test_client().get("/readyz")
        finally:
            db.session.remove()
            db.engine.dispose()
    assert ready.status_code == 200 and ready.get_json()["redis"] == "ok"


def test_not_ready_when_the_database_does_not_answer(tmp_path):
    app = create_app(for_tests(f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}"))
    _not_ready(app.test_client().get("/readyz"), "database does not answer")
