"""`flask --app wsgi demo`: a demo program, an open cohort, a token and a console sign-in link for the demo admin."""

from datetime import time, timedelta

import click
from flask import current_app
from sqlalchemy import select

from .cohorts import programs
from .cohorts import services as cohorts
from .cohorts.models import Cohort, Program
from .enrolment import enrolling
from .foundation import clock
from .foundation.extensions import db
from .staff import services as staff
from .staff.models import Staff

DEMO_TITLES = [
    "Orientation and mindfulness",
    "Wise mind",
    "Observe, describe, participate",
    "Distress tolerance: STOP and TIPP",
    "Distress tolerance: radical acceptance",
    "Emotion regulation: naming emotions",
    "Emotion regulation: opposite action",
    "Emotion regulation: building positive experiences",
    "Interpersonal effectiveness: DEAR MAN",
    "Interpersonal effectiveness: GIVE and FAST",
    "Putting the skills together",
    "Review and next steps",
]
DEMO_ADMIN_EMAIL = "admin@demo.invalid"


def _demo_admin() -> tuple[Staff, str]:
    """The demo admin, made on the first run and reused after, with a fresh token.

    Only a hash of a token is stored, so a lost one cannot be shown again: each run
    replaces it (the previous token stops working) instead of adding admin2, admin3…
    """
    # Runs before this change made admin1@demo.invalid, admin2@…: the first of them is the one.
    admin = db.session.scalar(
        select(Staff)
        .where(Staff.email.endswith("@demo.invalid"), Staff.role == "admin")
        .order_by(Staff.created_at, Staff.id)
        .limit(1)
    )
    # The command promises a working admin token, even if someone revoked the demo admin.
    made = (
        staff.create_staff(DEMO_ADMIN_EMAIL, "Demo admin", "admin")
        if admin is None
        else staff.issue_new_token(admin.id)
    )
    return made.member, made.token


@click.command("demo")
def demo_command():
    """Seed a demo program and an open cohort (once); print a fresh token and a sign-in link for the demo admin."""
    program = db.session.scalar(select(Program).where(Program.name == "Demo skills group"))
    if program is None:
        program = programs.create_program(
            {
                "name": "Demo skills group",
                "description": "A twelve-week online skills group (demo data).",
                "session_titles": DEMO_TITLES,
                "default_session_count": 12,
                "default_duration_minutes": 90,
                "default_capacity": 8,
                "price_amount": 36000,
                "currency": "usd",
            }
        )
    admin, token = _demo_admin()
    cohort = db.session.scalar(select(Cohort).where(Cohort.program_id == program.id))
    if cohort is None:
        start = (clock.now() + timedelta(days=14)).date()
        cohort = cohorts.create_cohort(
            {
                "program_id": program.id,
                "name": "Demo cohort, weekday evenings",
                "start_date": start,
                "start_time": time(18, 0),
                "timezone": "America/New_York",
                "meeting_url": "https://video.example/j/demo",
                "status": "open",
            }
        )
        # One demo participant, paid at the desk, so that the worker writes a real
        # confirmation email to instance/mail/ for a first look.
        enrolling.enrol(
            cohort.id,
            {
                "name": "Alex Demo",
                "email": "alex@example.org",
                "timezone": "America/Chicago",
                "desk_payment": {"method": "cash", "amount": cohort.price_amount, "reference": "demo"},
            },
            staff=admin,
        )
        click.echo(
            f"Demo participant alex@example.org confirmed; the worker writes their emails "
            f"to {current_app.config['MAIL_DIR']}/."
        )
    click.echo(
        f"Demo program {program.id}, open cohort {cohort.id} "
        f"(first session {cohort.sessions[0].starts_at:%Y-%m-%d %H:%M} UTC)."
    )
    click.echo(f"Admin token (shown once): {token}")
    click.echo(
        f"Staff console: sign in as the demo admin with this link (works once, for "
        f"{staff.SIGN_IN_LINK_MINUTES} minutes): {staff.issue_sign_in_link(admin.email)}"
    )
