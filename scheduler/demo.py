"""`flask --app wsgi demo`: a demo program, an open cohort, and an admin token."""

from datetime import time, timedelta

import click
from flask import current_app
from sqlalchemy import select

from . import clock
from .cohorts import services as cohorts
from .cohorts.models import Cohort, Program
from .enrolment import services as enrolment
from .extensions import db
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


@click.command("demo")
def demo_command():
    """Seed a demo program and an open cohort (once), and print a new admin token."""
    program = db.session.scalar(select(Program).where(Program.name == "Demo skills group"))
    if program is None:
        program = cohorts.create_program(
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
    count = db.session.scalar(select(db.func.count()).select_from(Staff)) or 0
    admin = staff.create_staff(f"admin{count + 1}@demo.invalid", "Demo admin", "admin")
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
        sample = enrolment.enrol(
            cohort.id, {"name": "Alex Demo", "email": "alex@example.org", "timezone": "America/Chicago"}, staff=admin
        )
        enrolment.confirm(sample.id, {"method": "waived", "amount": 0, "reference": "demo"}, admin)
        click.echo(
            f"Demo participant alex@example.org confirmed; the worker writes their emails "
            f"to {current_app.config['MAIL_DIR']}/."
        )
    click.echo(
        f"Demo program {program.id}, open cohort {cohort.id} "
        f"(first session {cohort.sessions[0].starts_at:%Y-%m-%d %H:%M} UTC)."
    )
    click.echo(f"Admin token (shown once): {admin.token}")
