"""Small helpers shared by tests (fixtures live in conftest.py and tests/stripe_double.py)."""

import html
import re
from datetime import timedelta

from sqlalchemy import event, select

from scheduler.foundation.database import write_transaction
from scheduler.foundation.events import publish
from scheduler.foundation.extensions import db

URL = re.compile(r"""(?:https?|webcal)://[^\s"'<>)]+""")


def links(text: str) -> set[str]:
    """Every link in a text or HTML body, as a person would click it."""
    return {u.rstrip(".,;") for u in URL.findall(html.unescape(text))}


def announce(*events) -> None:
    """Publish domain events in a write transaction of their own, as a service would."""
    with write_transaction():
        for event in events:
            publish(event)


class QueryCounter:
    """Counts the SQL statements run while it is open: `with QueryCounter() as q: …; q.count`."""

    def __init__(self):
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, *args, **kwargs):
        self.count += 1
        self.statements.append(statement)

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self)


def add_session_after_last(cohort_id: str) -> None:
    """Add a session a week after the cohort's last one, through the ORM (no route adds a session
    today; what is kept from sessions must follow whatever writes one)."""
    from scheduler.cohorts.models import Session

    with write_transaction():
        last = db.session.scalars(
            select(Session).where(Session.cohort_id == cohort_id).order_by(Session.number.desc())
        ).first()
        starts = last.starts_at + timedelta(days=7)
        db.session.add(
            Session(
                cohort_id=cohort_id,
                number=last.number + 1,
                title="Extra",
                starts_at=starts,
                ends_at=starts + timedelta(minutes=90),
            )
        )
