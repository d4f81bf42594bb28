"""The staff console: front desk, facilitators and admins run cohorts from the browser.

Thin page views over the same services as the JSON API (enrolment, cohorts,
notifications, staff); sign-in by one-time link and a console session cookie
(staff.services keeps the links, sessions and the staff audit log).
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the console's pages."""
    from . import attendance, refunds  # noqa: F401  (more pages on the same blueprint)
    from .views import bp

    app.register_blueprint(bp)
