"""Health checks, metrics, the OpenAPI document and the offline API reference page."""

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
    """The database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready"
        db.session.rollback()
        raise Unavailable("The database does not answer.") from None
    return {"status": "ok", "database": "ok"}


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
