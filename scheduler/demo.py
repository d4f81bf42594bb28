"""`flask --app wsgi demo`: a demo program, an open cohort, and an admin token."""
from datetime import timedelta

import click
from sqlalchemy import select

from . import clock
from .cohorts import services as cohorts
from .cohorts.models import Cohort, Program
from .extensions import db
from .staff import services as staff
from .staff.models import Staff

DEMO_TITLES = [
    "Orientation and mindfulness", "Wise mind", "Observe, describe, participate",
    "Distress tolerance: STOP and TIPP", "Distress tolerance: radical acceptance",
    "Emotion regulation: naming emotions", "Emotion regulation: opposite action",
    "Emotion regulation: building positive experiences", "Interpersonal effectiveness: DEAR MAN",
    "Interpersonal effectiveness: GIVE and FAST", "Putting the skills together", "Review and next steps",
]


@click.command("demo")
def demo_command():
    """Seed a demo program and an open cohort (once), and print a new admin token."""
    program = db.session.scalar(select(Program).where(Program.name == "Demo skills group"))
    if program is None:
        program = cohorts.create_program({
            "name": "Demo skills group", "description": "A twelve-week online skills group (demo data).",
            "session_titles": DEMO_TITLES, "default_session_count": 12, "default_duration_minutes": 90,
            "default_capacity": 8, "price_amount": 36000, "currency": "usd",
        })
    cohort = db.session.scalar(select(Cohort).where(Cohort.program_id == program.id))
    if cohort is None:
        start = (clock.now() + timedelta(days=14)).date()
        from datetime import time
        cohort = cohorts.create_cohort({
            "program_id": program.id, "name": "Demo cohort, weekday evenings",
            "start_date": start, "start_time": time(18, 0), "timezone": "America/New_York",
            "meeting_url": "https://video.example/j/demo", "status": "open",
        })
    count = db.session.scalar(select(db.func.count()).select_from(Staff)) or 0
    admin = staff.create_staff(f"admin{count + 1}@demo.invalid", "Demo admin", "admin")
    click.echo(f"Demo program {program.id}, open cohort {cohort.id} "
               f"(first session {cohort.sessions[0].starts_at:%Y-%m-%d %H:%M} UTC).")
    click.echo(f"Admin token (shown once): {admin.token}")
