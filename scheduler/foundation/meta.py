"""Health checks, metrics, the OpenAPI document and the offline API reference page."""

import functools
import hmac

from flask import Blueprint, Response, current_app, render_template, request
from sqlalchemy import text

from .auth import Access
from .errors import NotFound, Unauthorized, Unavailable
from .extensions import db
from .http import endpoint, json_response

bp = Blueprint("meta", __name__)
OPEN = Access("open")  # credentials, good or bad, are ignored: a monitor may send any
METRICS = Access("metrics")  # its own bearer token, METRICS_TOKEN, checked by the view


@bp.get("/healthz")
@endpoint(OPEN)
def healthz():
    """The process is up."""
    return {"status": "ok"}


@bp.get("/readyz")
@endpoint(OPEN)
def readyz():
    """The database answers at the latest migration and, when rate limits count in Redis, Redis answers."""
    try:
        # One tiny query: it reaches the database and reads which migration the schema is at.
        applied = set(db.session.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except Exception:  # no database, or a database with no migration applied at all
        db.session.rollback()
        if not _database_answers():
            raise Unavailable("The database does not answer.") from None
        raise Unavailable(
            "The database schema is not migrated: run `flask --app wsgi db upgrade` (the release step)."
        ) from None
    heads, known = _migrations(current_app.extensions["migrate"].directory)
    if applied == heads:
        migrations = "ok"
    elif applied and not applied <= known:
        # A revision this code does not know: a newer release has migrated (migrations run before the
        # new processes start). The processes still serving this release stay ready until replaced.
        migrations = "ahead"
    else:
        raise Unavailable(
            "The database schema is behind the latest migration: run `flask --app wsgi db upgrade` (the release step)."
        )
    redis = "not used"
    storage = str(current_app.config.get("RATELIMIT_STORAGE_URI") or "")
    if storage.startswith(("redis://", "rediss://")):
        if not _redis_answers(storage):
            # Never the URL itself: it may carry a password.
            raise Unavailable("Redis (RATELIMIT_STORAGE_URI, the shared rate-limit counters) does not answer.")
        redis = "ok"
    return {"status": "ok", "database": "ok", "migrations": migrations, "redis": redis}


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        db.session.rollback()


@functools.cache
def _migrations(directory: str) -> tuple[frozenset, frozenset]:
    """migrations/'s head revision(s) and every revision it has: read once per process (they change with a deploy)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(directory)
    return frozenset(script.get_heads()), frozenset(r.revision for r in script.walk_revisions())


_REDIS_TIMEOUT_SECONDS = 1
_redis_clients: dict = {}  # URL -> client, one connection pool per process


def _redis_answers(url: str) -> bool:
    import redis

    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(
            url, socket_connect_timeout=_REDIS_TIMEOUT_SECONDS, socket_timeout=_REDIS_TIMEOUT_SECONDS
        )
    try:
        return bool(client.ping())
    except Exception:  # refused, timed out, wrong password, …: not ready, whatever the reason
        return False


@bp.get("/openapi.json")
@endpoint(OPEN)
def openapi():
    """The OpenAPI 3 document of every endpoint."""
    from .openapi import build_spec

    return json_response(build_spec(current_app))


@bp.get("/docs")
@endpoint(OPEN)
def docs():
    """An API reference page that needs no internet access."""
    from .openapi import build_spec

    # A ready Response: the endpoint decorator would otherwise dump the page as a JSON string.
    return Response(render_template("docs.html", spec=build_spec(current_app)), mimetype="text/html")


@bp.get("/metrics")
@endpoint(METRICS)
def metrics():
    """Prometheus metrics (text format); `Authorization: Bearer <METRICS_TOKEN>`, 404 unless it is set."""
    from . import metrics as prometheus

    expected = current_app.config.get("METRICS_TOKEN") or ""
    if not expected:
        raise NotFound("No such resource.")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise Unauthorized("Send 'Authorization: Bearer <METRICS_TOKEN>'.")
    body, content_type = prometheus.render()
    response = Response(body, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


metrics.endpoint_spec.extra["content"] = {"text/plain": {"schema": {"type": "string"}}}
