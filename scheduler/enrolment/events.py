"""What happens to an enrolment that people must hear of (scheduler/foundation/events.py explains the bus).

Each event carries the enrolment row, in the state it has just reached, inside the
transaction that changed it; the notifications domain handles it (scheduler/wiring.py) and writes the email.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class SeatHeld:
    """A seat is held pending payment (enrolled or accepted an offer): how to pay, until when."""

    enrolment: object
    payment: dict
    # Staff made the hold (by phone, at the desk): its email waits a little, in case they
    # confirm it at once (then only the confirmation is sent).
    by_staff: bool = False
    # The enrolment's ledger (payments.accounts.Account) as the use case read it: the email
    # says the same, without reading it again. None: the handler reads it.
    account: object = None
    # The email answers a public request (which was told only "check your email"): its
    # subject is the same whatever happened, and it carries the link to the outcome.
    answers_request: bool = False


@dataclass(frozen=True)
class Confirmed:
    """Paid, free, or confirmed at the desk: the link, the schedule and the calendar."""

    enrolment: object
    account: object = None  # as SeatHeld.account
    answers_request: bool = False  # as SeatHeld.answers_request


@dataclass(frozen=True)
class Waitlisted:
    enrolment: object
    position: int
    answers_request: bool = False  # as SeatHeld.answers_request


@dataclass(frozen=True)
class SeatOffered:
    """A seat came free for the person at the head of the waitlist (or staff offered one)."""

    enrolment: object


@dataclass(frozen=True)
class HoldExpired:
    """A held seat lapsed unpaid; `refund` is set when a late payment was given back."""

    enrolment: object
    refund: dict | None = None


@dataclass(frozen=True)
class OfferExpired:
    enrolment: object


@dataclass(frozen=True)
class Withdrawn:
    """The person withdrew or declined an offer, with any refund."""

    enrolment: object
    refund: dict | None


@dataclass(frozen=True)
class Transferred:
    """Staff moved a confirmed participant to another cohort (the same enrolment row)."""

    enrolment: object
    from_cohort: object
    # What the move did to the money: amount_due before and after, balance, refund, detail.
    change: dict | None = None
    # The join link of the cohort left behind: it answers 410 from now on (attendance keeps it).
    previous_join_token: str | None = None


@dataclass(frozen=True)
class CancelledWithCohort:
    """The whole cohort was cancelled: this enrolment is cancelled, with any refund."""

    enrolment: object
    refund: dict | None


@dataclass(frozen=True)
class EnrolAgainAttempted:
    """Someone tried to enrol with the address of an active enrolment: its owner is told its state
    (a public caller hears only "check your email"; staff hear it is already enrolled or waiting)."""

    enrolment: object
    answers_request: bool = False  # as SeatHeld.answers_request


@dataclass(frozen=True)
class RefundPaidOut:
    """The front desk paid back a refund it owed (the Refund row, with method and reference)."""

    enrolment: object
    refund: object


@dataclass(frozen=True)
class RequestRefused:
    """A public request from the inbox could no longer be carried out (the cohort closed since it
    was sent, a discount code's last use went to an earlier request): the address is told why."""

    email: str
    name: str
    cohort: object
    reason: str  # "discount_code", "closed" or "invalid": worded in the reader's language where they are told
    locale: str | None = None  # the language the request was made in


@dataclass(frozen=True)
class LinkAskedAgain:
    """Someone asked (the public "send it again" form) for this enrolment's link: it goes to its address."""

    enrolment: object
