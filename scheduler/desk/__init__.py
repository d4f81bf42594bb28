"""The staff console: front desk, facilitators and admins run cohorts from the browser.

Thin page views over the same services as the JSON API (enrolment, cohorts,
notifications, staff); sign-in by one-time link and a console session cookie
(staff.services keeps the links, sessions and the staff audit log).

One blueprint (blueprint.py), one module per screen (listed in `screen_modules`), and what
the screens share (screens.py: rendering a page, answering a form).
"""

from types import ModuleType

from flask import Flask


def screen_modules() -> tuple[ModuleType, ...]:
    """The console's screens, one module each; importing one adds its views to the `desk` blueprint."""
    from . import (
        account,
        attendance,
        availability,
        cohorts,
        enrolments,
        intakes,
        programme,
        programs,
        refunds,
        sessions,
        staff,
        statements,
        today,
        waitlist,
        week,
    )

    return (
        account,
        today,
        cohorts,
        sessions,
        waitlist,
        enrolments,
        refunds,
        attendance,
        intakes,
        availability,
        programs,
        staff,
        statements,
        programme,
        week,
    )


def init_app(app: Flask) -> None:
    """Register the console's pages: every screen's views, on the one blueprint."""
    from .blueprint import bp

    screen_modules()
    app.register_blueprint(bp)
