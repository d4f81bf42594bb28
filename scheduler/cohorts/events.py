"""What happens to cohorts and sessions that higher domains react to (see scheduler/foundation/events.py)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionChanged:
    """A session was rescheduled, retitled, cancelled or restored (its sequence was raised).

    `before` is the session as it was ({"starts_at", "ends_at", "title", "status"}), so a
    notice can say what changed from what.
    """

    session: object
    before: dict | None = None


@dataclass(frozen=True)
class CohortCancelled:
    """Staff cancelled the whole cohort: every active enrolment is cancelled and refunded."""

    cohort: object
    staff: object | None


@dataclass(frozen=True)
class SeatsAdded:
    """Capacity was raised: the new seats go down the waitlist."""

    cohort: object


@dataclass(frozen=True)
class CohortChanged:
    """Staff changed a cohort's settings (a new meeting link, capacity…): the fields, before and after."""

    cohort: object
    staff: object | None
    before: dict
    after: dict
