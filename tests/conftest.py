"""Fixtures shared by every test.

Database tests run twice: on SQLite and on PostgreSQL. PostgreSQL comes from
TEST_POSTGRES_URL (a URL to an existing database the tests may use to create
their own, e.g. postgresql://postgres@127.0.0.1:5432/postgres). `.ci/run` starts
one; without it, outside CI, the PostgreSQL half is left out and the summary says
once how to enable it.
"""

import os
import tempfile
from datetime import date, time

import psycopg
import pytest
from flask_migrate import upgrade
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from scheduler import create_app
from scheduler.foundation import clock
from scheduler.foundation.config import for_tests
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db

# Fixtures shared beyond one module live in these plugin modules (localstripe, the served app).
pytest_plugins = ["tests.stripe_double"]

# In CI, property and fuzz tests take the same examples every run, so that a red build
# is about the change, not the dice; runs elsewhere keep exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

# Tests never touch instance/ (the folder the README sends a new user to): every app, and every
# subprocess started from here, keeps its local state (secret key, mail files) in a throwaway folder.
_INSTANCE = tempfile.TemporaryDirectory(prefix="scheduler-instance-")
os.environ["SCHEDULER_INSTANCE_DIR"] = _INSTANCE.name

POSTGRES_HOW = (
    "set TEST_POSTGRES_URL=postgresql://USER@127.0.0.1:5432/postgres "
    "(a server the tests may create databases on), or run `bash .ci/run`, which starts one."
)
POSTGRES_HINT = "PostgreSQL tests skipped: " + POSTGRES_HOW
_POSTGRES_LEFT_OUT = pytest.StashKey[int]()


def pytest_collection_modifyitems(config, items):
    """Without TEST_POSTGRES_URL (outside CI), leave the PostgreSQL half out quietly; the summary says so once."""
    if os.environ.get("TEST_POSTGRES_URL") or os.environ.get("CI") == "true":
        return  # in CI the database_url fixture fails loudly instead
    # Every test parametrized over the backend (database_url, or a fixture of its own) with "postgresql".
    left_out = [i for i in items if "postgresql" in getattr(getattr(i, "callspec", None), "params", {}).values()]
    if left_out:
        ids = {id(i) for i in left_out}
        items[:] = [i for i in items if id(i) not in ids]
        config.hook.pytest_deselected(items=left_out)
        config.stash[_POSTGRES_LEFT_OUT] = len(left_out)
        if hasattr(config, "workeroutput"):  # an xdist worker: tell the controller, which prints the summary
            config.workeroutput["postgres_left_out"] = len(left_out)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    count = getattr(node, "workeroutput", {}).get("postgres_left_out", 0)
    node.config.stash[_POSTGRES_LEFT_OUT] = max(count, node.config.stash.get(_POSTGRES_LEFT_OUT, 0))


def pytest_terminal_summary(terminalreporter, config):
    count = config.stash.get(_POSTGRES_LEFT_OUT, 0)
    if count and not hasattr(config, "workeroutput"):
        terminalreporter.write_line(f"{count} PostgreSQL tests not run: {POSTGRES_HOW}", yellow=True)


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
    from scheduler.cohorts.programs import create_program

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
        return create_cohort(data).cohort

    return make


@pytest.fixture
def make_enrolment(app):
    """make_enrolment(cohort, status="confirmed", email=…, timezone=None, amount_paid=0) -> Enrolment."""
    from datetime import timedelta

    from sqlalchemy import select

    from scheduler.enrolment.models import Enrolment, Participant, normalise_email

    counter = iter(range(1, 10_000))

    def make(cohort, status="confirmed", email=None, timezone=None, amount_paid=0, **fields):
        """amount_paid: a desk payment of that much is written to the payments ledger with it."""
        with write_transaction():
            n = next(counter)
            fields.setdefault("name", f"Person {n}")
            email = email or f"person{n}@example.org"
            key = normalise_email(email)
            participant = db.session.scalar(select(Participant).where(Participant.email_normalised == key))
            if participant is None:
                participant = Participant(email_normalised=key)
            if status == "pending_payment":
                fields.setdefault("hold_expires_at", clock.now() + timedelta(minutes=30))
            if status == "offered":
                fields.setdefault("offer_expires_at", clock.now() + timedelta(hours=24))
            enrolment = Enrolment(
                cohort=cohort,
                participant=participant,
                status=status,
                email=email,
                timezone=timezone,
                **fields,
            )
            db.session.add(enrolment)
            if amount_paid:
                # What was paid lives in the payments ledger: a succeeded desk payment says so.
                from scheduler.payments.models import Payment, PaymentStatus, Provider

                db.session.flush()
                db.session.add(
                    Payment(
                        enrolment_id=enrolment.id,
                        provider=Provider.DESK,
                        method=fields.get("payment_method") or "cash",
                        amount=amount_paid,
                        currency=cohort.currency,
                        status=PaymentStatus.SUCCEEDED,
                        succeeded_at=clock.now(),
                    )
                )
        return enrolment

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
