"""Health checks, the OpenAPI document and the offline API reference page."""

from flask import Blueprint, Response, current_app, render_template
from sqlalchemy import text

from .auth import Access
from .errors import Unavailable
from .extensions import db
from .http import endpoint, json_response

bp = Blueprint("meta", __name__)
OPEN = Access("public")


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
