"""A participant's personal join link: where it leads now (the meeting, a wait, an end),
recording the first join of a session as a provisional present, rotating a leaked link,
and remembering a link that ended so that it answers 410 rather than 404.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from ..admission.booking import zone_of
from ..admission.models import Intake
from ..appointments.models import Appointment, AppointmentStatus
from ..cohorts.models import Session, SessionStatus
from ..cohorts.revisions import touch
from ..enrolment.audit import record
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..enrolment.views import lock_enrolment
from ..foundation import clock, i18n
from ..foundation.database import end_read, hash_token, new_id, new_token, write_transaction
from ..foundation.errors import Conflict
from ..foundation.extensions import db
from .models import AttendanceRecord, EndedJoinLink, RecordSource
from .records import upsert


@dataclass(frozen=True)
class JoinOutcome:
    """What a join link does now.

    open: redirect to meeting_url · wait: opens at opens_at · ended: no session left ·
    no_link: in a session's window, but the cohort has no meeting link yet ·
    gone: the enrolment left the cohort (410) · unknown: no such link (404).
    """

    state: str
    meeting_url: str | None = None
    opens_at: datetime | None = None
    starts_at: datetime | None = None
    zone: ZoneInfo | None = None
    appointment: bool = False  # a 1:1 appointment's link, not a group's: the page words it so
    locale: str | None = None  # the person's language (their enrolment's or intake's): the page speaks it

    def when(self, instant: datetime) -> str:
        """The instant in the person's zone, in the page's language."""
        return i18n.when_text(instant.astimezone(self.zone))


def join_window(session: Session) -> tuple[datetime, datetime]:
    """From JOIN_OPENS_MINUTES before the session's start until its end."""
    return session.starts_at - timedelta(minutes=current_app.config["JOIN_OPENS_MINUTES"]), session.ends_at


def open_join_link(token: str, *, record_join: bool = True) -> JoinOutcome:
    """Follow a personal join link: where it leads now, recording the first join of a session."""
    at = clock.now()
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.join_token == token))
    if enrolment is None:
        appointment = db.session.scalar(select(Appointment).where(Appointment.join_token == token))
        if appointment is not None:
            return _appointment_outcome(appointment, at)
        ended = db.session.get(EndedJoinLink, hash_token(token)) is not None
        end_read()
        return JoinOutcome("gone" if ended else "unknown")
    locale = enrolment.locale
    if enrolment.status in (EnrolmentStatus.WITHDRAWN, EnrolmentStatus.CANCELLED):
        end_read()
        return JoinOutcome("gone", locale=locale)
    if enrolment.status != EnrolmentStatus.CONFIRMED:
        end_read()  # never handed out: the link shows only once confirmed
        return JoinOutcome("unknown", locale=locale)
    cohort = enrolment.cohort
    zone = ZoneInfo(enrolment.timezone or cohort.timezone)
    held = sorted((s for s in cohort.sessions if s.status == SessionStatus.SCHEDULED), key=lambda s: s.starts_at)
    live = [s for s in held if join_window(s)[0] <= at < join_window(s)[1]]
    if not live:
        upcoming = [s for s in held if join_window(s)[0] > at]
        end_read()
        if not upcoming:
            return JoinOutcome("ended", zone=zone, locale=locale)
        opens_at, starts_at = join_window(upcoming[0])[0], upcoming[0].starts_at
        return JoinOutcome("wait", opens_at=opens_at, starts_at=starts_at, zone=zone, locale=locale)
    session, meeting_url = live[0], cohort.meeting_url
    if not meeting_url:
        end_read()
        return JoinOutcome("no_link", starts_at=session.starts_at, zone=zone, locale=locale)
    if record_join:
        _record_join(session, enrolment.id, at)
    else:
        end_read()
    return JoinOutcome("open", meeting_url=meeting_url, starts_at=session.starts_at, zone=zone, locale=locale)


def _appointment_outcome(appointment: Appointment, at: datetime) -> JoinOutcome:
    """A personal link to a 1:1 appointment (an intake's assessment, an individual session): open in
    its window, like a session's; gone once cancelled or the person left the group."""
    enrolment = appointment.enrolment
    if enrolment is not None:  # an individual session beside the group: it ends with the place
        zone, locale = ZoneInfo(enrolment.timezone or enrolment.cohort.timezone), enrolment.locale
        left = enrolment.status in (EnrolmentStatus.WITHDRAWN, EnrolmentStatus.CANCELLED, EnrolmentStatus.EXPIRED)
    else:
        intake = db.session.get(Intake, appointment.intake_id)
        zone, locale, left = zone_of(intake), intake.locale, False
    opens = appointment.starts_at - timedelta(minutes=current_app.config["JOIN_OPENS_MINUTES"])
    end_read()
    if appointment.status != AppointmentStatus.BOOKED or left:
        return JoinOutcome("gone", appointment=True, locale=locale)
    if at >= appointment.ends_at:
        return JoinOutcome("ended", zone=zone, appointment=True, locale=locale)
    if at < opens:
        starts_at = appointment.starts_at
        return JoinOutcome("wait", opens_at=opens, starts_at=starts_at, zone=zone, appointment=True, locale=locale)
    if not appointment.meeting_url:
        return JoinOutcome("no_link", starts_at=appointment.starts_at, zone=zone, appointment=True, locale=locale)
    return JoinOutcome(
        "open",
        meeting_url=appointment.meeting_url,
        starts_at=appointment.starts_at,
        zone=zone,
        appointment=True,
        locale=locale,
    )


def _record_join(session: Session, enrolment_id: str, at: datetime) -> None:
    """The first join of a session: a provisional present (or, when staff recorded first, only the time)."""
    session_id = session.id
    joined = db.session.scalar(
        select(AttendanceRecord.joined_at).where(
            AttendanceRecord.session_id == session_id, AttendanceRecord.enrolment_id == enrolment_id
        )
    )
    if joined is not None:
        end_read()  # joined before: nothing to write
        return
    row = {
        "id": new_id("att"),
        "session_id": session_id,
        "enrolment_id": enrolment_id,
        "status": "present",
        "source": RecordSource.JOIN,
        "recorded_by_id": None,
        "recorded_at": at,
        "joined_at": at,
    }
    with write_transaction():
        # Concurrent joins meet the unique (session, enrolment) constraint: one row, the first time kept.
        table = AttendanceRecord.__table__
        db.session.execute(upsert([row], {"joined_at": lambda new: func.coalesce(table.c.joined_at, new.joined_at)}))
        touch(session.cohort_id)  # the roster shows it; the upsert went past the ORM


def rotate_join_link(enrolment_id: str, staff=None) -> Enrolment:
    """Replace a confirmed enrolment's join link (a forwarded or leaked one): the old link answers 404."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        if enrolment.status != EnrolmentStatus.CONFIRMED:
            raise Conflict(f"Only a confirmed enrolment has a join link; this one is {enrolment.status}.")
        enrolment.join_token = new_token("join")
        enrolment.updated_at = clock.now()
        record(enrolment, staff, "join_link_rotated", None)
    return enrolment


def end_join_link(enrolment: Enrolment, cohort_id: str, token: str, reason: str) -> None:
    """Remember a join link that ended (a transfer), so that it answers 410 rather than 404."""
    db.session.add(
        EndedJoinLink(
            token_hash=hash_token(token),
            enrolment_id=enrolment.id,
            cohort_id=cohort_id,
            reason=reason,
            ended_at=clock.now(),
        )
    )
