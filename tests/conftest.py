"""Fixtures shared by every test.

Database tests run twice: on SQLite and on PostgreSQL. PostgreSQL comes from
TEST_POSTGRES_URL (a URL to an existing database the tests may use to create
their own, e.g. postgresql://postgres@127.0.0.1:5432/postgres). `.ci/run` starts
one; without it, outside CI, the PostgreSQL half skips and says how to enable it.
"""

import os
from datetime import date, time

import psycopg
import pytest
from flask_migrate import upgrade
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from scheduler import create_app
from scheduler.config import for_tests
from scheduler.extensions import db

# In CI, property and fuzz tests take the same examples every run, so that a red build
# is about the change, not the dice; runs elsewhere keep exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

POSTGRES_HINT = (
    "PostgreSQL tests skipped: set TEST_POSTGRES_URL=postgresql://USER@127.0.0.1:5432/postgres "
    "(a server the tests may create databases on), or run `bash .ci/run`, which starts one."
)


def _postgres_admin_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TEST_POSTGRES_URL is not set: the PostgreSQL tests must run in CI.")
        pytest.skip(POSTGRES_HINT)
    return url


def _fresh_postgres_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated, empty database on each backend, made once per test run (per xdist worker)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    else:
        # One database per test process, so that several runs on one server never collide.
        url = _fresh_postgres_database(_postgres_admin_url(), f"scheduler_test_{os.getpid()}")
    app = create_app(for_tests(url))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()
    return url


def _empty_all_tables():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f'DELETE FROM "{table}"'))
    db.session.commit()


@pytest.fixture
def app(database_url):
    """The app on one backend; every table emptied after the test."""
    app = create_app(for_tests(database_url))
    with app.app_context():
        yield app
        db.session.rollback()
        _empty_all_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_staff(app):
    """make_staff(role) -> (Staff, token)."""
    from scheduler.staff.services import create_staff

    counter = iter(range(1, 10_000))

    def make(role="admin", name=None):
        n = next(counter)
        member = create_staff(f"{role}{n}@staff.test", name or f"{role.title()} {n}", role)
        return member, member.token

    return make


@pytest.fixture
def auth(make_staff):
    """auth(role) -> headers with a fresh token of that role."""

    def headers(role="admin"):
        return {"Authorization": f"Bearer {make_staff(role)[1]}"}

    return headers


@pytest.fixture
def make_program(app):
    from scheduler.cohorts.services import create_program

    def make(**overrides):
        data = {
            "name": "Skills group",
            "default_session_count": 12,
            "default_duration_minutes": 90,
            "default_capacity": 10,
            "price_amount": 36000,
            "currency": "usd",
        }
        data.update(overrides)
        return create_program(data)

    return make


@pytest.fixture
def make_cohort(app, make_program):
    """make_cohort(capacity=2, price_amount=0, …) -> an open cohort with its sessions."""
    from scheduler.cohorts.services import create_cohort

    def make(program=None, **overrides):
        program = program or make_program()
        data = {
            "program_id": program.id,
            "start_date": date(2030, 10, 3),
            "start_time": time(18, 0),
            "timezone": "America/New_York",
            "meeting_url": "https://video.example/j/123",
            "status": "open",
        }
        data.update(overrides)
        return create_cohort(data)

    return make


REDIS_HINT = (
    "Redis tests skipped: set TEST_REDIS_URL=redis://127.0.0.1:6379/0 (a server the tests may write "
    "rate-limit counters to), or run `bash .ci/redis.sh`, which starts one and prints that URL."
)


@pytest.fixture(scope="session")
def redis_url():
    """A Redis server for the shared rate-limit tests (TEST_REDIS_URL; `.ci/run` starts one)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL")
    in_ci = os.environ.get("CI") == "true"
    if not url:
        if in_ci:
            pytest.fail("CI=true but TEST_REDIS_URL is not set: the Redis tests must run in CI.")
        pytest.skip(REDIS_HINT)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        if in_ci:
            pytest.fail(f"TEST_REDIS_URL={url} does not answer: {error}")
        pytest.skip(f"{REDIS_HINT} ({url} does not answer: {error})")
    return url


@pytest.fixture
def smtp_server():
    """A real aiosmtpd server on a free loopback port that records every message (tests/smtp_server.py)."""
    from tests.smtp_server import SMTPServer

    server = SMTPServer().start()
    yield server
    server.stop()
