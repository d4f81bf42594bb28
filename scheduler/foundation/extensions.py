"""Flask extensions, created here and bound to the app in create_app()."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so that Alembic can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _rotate_limit() -> str:
    from flask import current_app

    return current_app.config.get("ROTATE_RATE_LIMIT", "10 per hour")


_ROTATE_ENDPOINTS = ("calendars.rotate_participant_feed", "calendars.rotate_cohort_feed")
_rotation_limited: dict = {}  # original view -> limited view, made once (the limiter is module-wide)


def limit_feed_rotation(app) -> None:
    """Rotating a feed token is limited per client address (each rotation mails nobody, but
    a stolen manage token could otherwise churn a person's feed without end)."""
    for endpoint in _ROTATE_ENDPOINTS:
        view = app.view_functions.get(endpoint)
        if view is None or view in _rotation_limited.values():
            continue
        if view not in _rotation_limited:
            _rotation_limited[view] = limiter.limit(_rotate_limit, key_func=get_remote_address)(view)
        app.view_functions[endpoint] = _rotation_limited[view]


def _per_address_limit() -> str:
    from flask import current_app

    return current_app.config.get("PUBLIC_REQUEST_RATE_LIMIT_PER_ADDRESS", "5 per 15 minutes")


def _address_key() -> str:
    """The address a public request is for (from a form or a JSON body), as typed, case-blind."""
    from flask import request

    body = request.get_json(silent=True) if request.is_json else None
    email = body.get("email") if isinstance(body, dict) else request.form.get("email")
    return "public-address:" + (email if isinstance(email, str) else "").strip().lower()[:254]


def _staff_call() -> bool:
    from flask import request

    return request.headers.get("Authorization", "").startswith("Bearer stf_")


# Every public form that takes an email counts its requests per address, together and alike for
# a known and an unknown address, so that no form can flood someone's inbox (staff calls are not
# counted: the desk enrols people by phone).
per_address = limiter.shared_limit(
    _per_address_limit, scope="public-request-address", key_func=_address_key, exempt_when=_staff_call
)
