"""What other domains tell the notifications domain, inside their own transaction.

Each function writes the outbox row(s) for one event in the caller's transaction,
so that the email exists exactly when the change it reports was committed.
Callers hold the cohort's lock where they change enrolments; these functions
never commit.
"""


def enrolment_received(enrolment, payment: dict | None) -> None:
    """A seat is held pending payment: how to pay, and until when."""


def enrolment_confirmed(enrolment) -> None:
    """Paid (or free, or confirmed at the desk): link, schedule, calendar, manage link, .ics."""


def waitlisted(enrolment, position: int) -> None:
    """No seat was free: the person's place in the waitlist."""


def seat_offered(enrolment) -> None:
    """A seat was offered from the waitlist: accept link and deadline."""


def hold_expired(enrolment) -> None:
    """A pending payment's hold lapsed."""


def offer_expired(enrolment) -> None:
    """An offer lapsed without an answer."""


def withdrawn(enrolment, refund: dict | None) -> None:
    """The person withdrew (or declined an offer), with any refund."""


def transferred(enrolment, from_cohort) -> None:
    """Staff moved a confirmed participant to another cohort (same enrolment row)."""


def cohort_cancelled(enrolment, refund: dict | None) -> None:
    """The whole cohort was cancelled: this enrolment is cancelled, with any refund."""


def session_changed(session) -> None:
    """A session was rescheduled, retitled or cancelled: confirmed participants hear of it."""
