"""What happens to individual sessions, published in the changing transaction (wiring.py lists who listens)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SeriesScheduled:
    """A series of individual sessions was made for an enrolment: the person is told the dates."""

    enrolment: object
    appointments: list
    timezone: str


@dataclass(frozen=True)
class AppointmentChanged:
    """An individual session moved or was cancelled (`was`: its start and status before)."""

    appointment: object
    was: dict
    by_staff: bool = True


@dataclass(frozen=True)
class IndividualAttendanceRecorded:
    """Attendance of an individual session was recorded (the missed-sessions rule may count it)."""

    appointment: object
