"""The scheduler: group therapy programs, their cohorts, enrolment, payments and calendars."""

from functools import partial
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.middleware.proxy_fix import ProxyFix

from .foundation import clock, logs, metrics
from .foundation import config as settings
from .foundation.errors import register_error_handlers
from .foundation.extensions import db, limit_feed_rotation, limiter, migrate

MAX_BODY_BYTES = 64 * 1024


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings (from the environment unless given), extensions, routes, commands."""
    app = Flask(__name__, instance_path=str(settings.instance_dir()), static_folder=None)
    app.config.update(config if config is not None else settings.from_environment())
    settings.check(app.config)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    url, instance = make_url(app.config["SQLALCHEMY_DATABASE_URI"]), settings.instance_dir()
    if url.get_backend_name() == "sqlite" and url.database and Path(url.database).parent == instance:
        instance.mkdir(parents=True, exist_ok=True)  # the default database's folder; never one given elsewhere
    engine_options = {"pool_pre_ping": True}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # How long a writer waits for SQLite's write lock before "database is locked" (503).
        engine_options["connect_args"] = {"timeout": app.config["DB_LOCK_TIMEOUT_SECONDS"]}
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options)
    logs.init_app(app)
    metrics.init_app(app)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind N proxies, the client's address is the Nth from the right in X-Forwarded-For:
        # what the rate limits count by. Trust no more hops than there are proxies.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from . import models  # noqa: F401  (registers every table before the extensions need them)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(settings.ROOT / "migrations"))
    follows = app.config.get("CLOCK_FROM_DATABASE") and url.get_backend_name() == "postgresql"
    clock.follow_database(partial(_database_now, app) if follows else None)
    limiter.init_app(app)

    # What every write sets off (events' handlers, plug-ins, derived data): one table, installed here.
    from . import wiring

    wiring.install()

    from .admission import api as admission_api
    from .appointments import api as appointments_api
    from .attendance import api as attendance_api
    from .calendars import api as calendars_api
    from .cohorts import api as cohorts_api
    from .enrolment import api as enrolment_api
    from .enrolment import webhooks as enrolment_webhooks
    from .foundation import meta
    from .notifications import api as notifications_api
    from .payments import api as payments_api
    from .privacy import api as privacy_api
    from .staff import api as staff_api

    for blueprint in (
        meta.bp,
        staff_api.bp,
        cohorts_api.bp,
        enrolment_api.bp,
        enrolment_webhooks.bp,
        admission_api.bp,
        appointments_api.bp,
        calendars_api.bp,
        notifications_api.bp,
        payments_api.bp,
        privacy_api.bp,
        attendance_api.bp,
        attendance_api.join_bp,
    ):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    limit_feed_rotation(app)
    from .foundation.money import format_money

    # Templates (pages) show amounts as {{ amount|money(currency) }}: $360.00 in the clinic's locale.
    app.jinja_env.filters["money"] = format_money

    from . import desk, pages
    from .foundation import i18n, security

    security.init_app(app)
    # Translated so far: the public and participant pages and the join page. The console and the
    # development mailbox are English for now, whatever the browser asks.
    i18n.init_app(app, english_only=("/dev/",), staff_screens=("/desk",))
    pages.init_app(app)
    desk.init_app(app)

    from .calendars.cli import feeds_cli
    from .demo import demo_command
    from .jobs import jobs_cli, worker_command
    from .staff.cli import staff_cli

    for command in (staff_cli, demo_command, jobs_cli, worker_command, feeds_cli):
        app.cli.add_command(command)
    return app


def _database_now(app: Flask):
    """PostgreSQL's clock, read on a connection of its own (foundation/clock.py measures the offset)."""
    from sqlalchemy import text

    with app.app_context(), db.engine.connect() as connection:
        return connection.scalar(text("SELECT clock_timestamp()"))
