"""What happens to an intake, published in the changing transaction (wiring.py lists who listens)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class IntakeAnswered:
    """A public request for a place was carried out: a new intake, or (`again`) the address's open
    intake's link sent again. Either way the person gets their link, under the one answer subject."""

    intake: object
    again: bool = False
    asked: bool = False  # "send it again": the person asked for their link


@dataclass(frozen=True)
class IntakeRefused:
    """A queued request could no longer be carried out (the program stopped admitting by intake)."""

    email: str
    name: str
    program: object
    reason: str  # "admits_directly": the program now takes enrolments directly
    locale: str | None = None  # the language the request was made in


@dataclass(frozen=True)
class OutcomeRecorded:
    """Staff recorded an assessment's outcome: the person is told, neutrally, with their link."""

    intake: object


@dataclass(frozen=True)
class AssessmentBooked:
    """An assessment was booked (or, `changed`, moved to another slot): the person gets its time and link."""

    intake: object
    appointment: object
    previous: object = None  # the appointment it replaced, when moved

    @property
    def changed(self) -> bool:
        return self.previous is not None


@dataclass(frozen=True)
class AssessmentCancelled:
    """A booked assessment was cancelled (by the person, or `by_staff`)."""

    intake: object
    appointment: object
    by_staff: bool = False
