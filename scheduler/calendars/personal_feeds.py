"""Two more feeds, built on request: a person's assessment appointments and a staff member's own calendar.

- /calendar/intakes/<token>.ics: the appointments of one intake, each titled "Appointment", with the
  person's own join link; a cancelled or moved one stays as STATUS:CANCELLED with a higher SEQUENCE.
- /calendar/staff/<token>.ics: a staff member's appointments, each titled "Assessment" with no
  person and no join link (the console's page for the request, behind sign-in, says who), and the
  sessions of the cohorts they facilitate as those cohorts' staff feeds show them.

Unlike enrolment and cohort feeds (services.py), these are not stored: their inputs (appointments,
intakes, staff, facilitators) are written by use cases the stored-feed deriver (watching.py) does
not watch, and a wrong stored copy would be worse than a build. They are small (one person's or
one clinician's), so each request builds the bytes; the ETag is the bytes' hash, as for stored feeds,
and Last-Modified the latest change of any row they are made of.
"""

from dataclasses import replace
from datetime import datetime

from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select

from ..admission.models import Intake
from ..appointments.models import Appointment, AppointmentKind, AppointmentStatus, Availability
from ..cohorts.models import Cohort, cohort_facilitators
from ..enrolment.models import Enrolment
from ..foundation import i18n
from ..foundation.database import lock_one, new_token, write_transaction
from ..foundation.errors import NotFound
from ..foundation.extensions import db
from ..foundation.links import intake_page_url, join_url, public_url, staff_feed_urls
from ..staff.models import Staff, StaffAuditEntry
from ..staff.services import record_action
from .builder import FeedEvent, build_feed
from .services import NO_FEED, Feed, cohort_events, etag_of, event_uid
from .wording import Words, words_for

PERSON_TITLE = Words().appointment  # names no program, no clinician: a glance at a phone reveals nothing
# A staff member's own calendar speaks the language they chose for the console (else the clinic's).
STAFF_TITLES = {  # no person
    AppointmentKind.ASSESSMENT: lazy_gettext("Assessment"),
    AppointmentKind.INDIVIDUAL: lazy_gettext("Individual session"),
}
STAFF_FEED_NAME = lazy_gettext("Clinic schedule")


def _feed(events: list[FeedEvent], name: str, since: datetime) -> Feed:
    body = build_feed(events, name=name)
    last = max([since, *(event.last_modified for event in events)])
    return Feed(body, etag_of(body), last.replace(microsecond=0))


def _zones(appointments: list[Appointment]) -> dict[str, str]:
    """The zone of each appointment: an assessment's, the assessor's hours it was booked in; an
    individual session's, its person's cohort (where the series was planned)."""
    hours = {a.availability_id for a in appointments if a.availability_id}
    places = {a.enrolment_id for a in appointments if a.enrolment_id}
    zones: dict[str, str] = {}
    if hours:
        rows = db.session.execute(select(Availability.id, Availability.timezone).where(Availability.id.in_(hours)))
        zones |= {row.id: row.timezone for row in rows}
    if places:
        rows = db.session.execute(
            select(Enrolment.id, Cohort.timezone)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(Enrolment.id.in_(places))
        )
        zones |= {row.id: row.timezone for row in rows}
    return {a.id: zones.get(a.availability_id or a.enrolment_id) or "UTC" for a in appointments}


# ---- a person's appointments ------------------------------------------------------------------


def _person_event(appointment: Appointment, tz: str, page: str, words: Words) -> FeedEvent:
    booked = appointment.status == AppointmentStatus.BOOKED
    link = join_url(appointment) if booked else None  # a cancelled appointment's link leads nowhere
    if booked:
        description = f"{words.join % {'link': link}}\n\n{words.change_or_cancel % {'url': page}}"
    else:
        description = f"{words.appointment_cancelled}\n\n{words.your_page % {'url': page}}"
    return FeedEvent(
        uid=event_uid(appointment.id),
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        tz=tz,
        summary=words.appointment,
        meeting_url=link,
        sequence=appointment.sequence,
        last_modified=appointment.updated_at,
        created=appointment.created_at,
        cancelled=not booked,
        description=description,
    )


def intake_feed(feed_token: str) -> Feed:
    """The feed behind a person's intake feed token: its appointments, booked and cancelled.

    The intake page's link carries no token: the feed gives nothing its URL's holder could not see.
    """
    intake = db.session.scalar(select(Intake).where(Intake.feed_token == feed_token))
    if intake is None:
        raise NotFound(NO_FEED)
    appointments = db.session.scalars(
        select(Appointment).where(Appointment.intake_id == intake.id).order_by(Appointment.starts_at, Appointment.id)
    ).all()
    zones, page, words = _zones(appointments), intake_page_url(intake), words_for(intake.locale)
    events = [_person_event(a, intake.timezone or zones[a.id], page, words) for a in appointments]
    return _feed(events, words.appointments_feed_name, max(intake.requested_at, intake.updated_at))


# ---- a staff member's own calendar ------------------------------------------------------------


def _staff_event(appointment: Appointment, tz: str) -> FeedEvent:
    booked = appointment.status == AppointmentStatus.BOOKED
    if appointment.intake_id:
        path = f"/desk/intakes/{appointment.intake_id}"
    elif appointment.enrolment_id:
        path = f"/desk/enrolments/{appointment.enrolment_id}/programme"
    else:
        path = "/desk/availability"
    where = gettext("The details are in the staff console (sign in first): %(url)s", url=public_url(path))
    return FeedEvent(
        uid=event_uid(appointment.id),
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        tz=tz,
        summary=str(STAFF_TITLES.get(appointment.kind, PERSON_TITLE)),
        meeting_url=None,  # the person's join link is theirs alone
        sequence=appointment.sequence,
        last_modified=appointment.updated_at,
        created=appointment.created_at,
        cancelled=not booked,
        description=where if booked else gettext("Cancelled. %(details)s", details=where),
    )


def _words_since(member: Staff) -> datetime:
    """Since when the feed's words are what they are: the account's creation, or the member's latest
    choice of language (so that a client revalidating by If-Modified-Since gets the new words)."""
    chosen = db.session.scalar(
        select(func.max(StaffAuditEntry.created_at)).where(
            StaffAuditEntry.staff_id == member.id, StaffAuditEntry.action == "language_chosen"
        )
    )
    return max(member.created_at, chosen) if chosen else member.created_at


def staff_feed(feed_token: str) -> Feed:
    """The feed behind a staff member's feed token (NotFound once the account is revoked)."""
    member = db.session.scalar(select(Staff).where(Staff.feed_token == feed_token, Staff.revoked_at.is_(None)))
    if member is None:
        raise NotFound(NO_FEED)
    appointments = db.session.scalars(
        select(Appointment).where(Appointment.staff_id == member.id).order_by(Appointment.starts_at, Appointment.id)
    ).all()
    zones = _zones(appointments)
    cohorts = db.session.scalars(
        select(Cohort)
        .join(cohort_facilitators, cohort_facilitators.c.cohort_id == Cohort.id)
        .where(cohort_facilitators.c.staff_id == member.id)
        .order_by(Cohort.id)
    ).all()
    with i18n.speaking(member.locale):
        events = [_staff_event(a, zones[a.id]) for a in appointments]
        # The groups under their programs' own calendar titles (staff), the rest in the member's words.
        words = replace(words_for(member.locale), group_title=None)
        return _feed(events + cohort_events(list(cohorts), words), str(STAFF_FEED_NAME), _words_since(member))


def staff_feed_links(member_id: str) -> dict:
    """The member's own feed as {"calendar_url", "webcal_url"}, its token made on first use."""
    member = db.session.get(Staff, member_id)
    if member is None or member.feed_token is None:
        with write_transaction():
            member = lock_one(Staff, member_id, "No such staff member.")
            if member.feed_token is None:
                member.feed_token = new_token("cal")
    return staff_feed_urls(member)


def replace_staff_feed(member_id: str) -> dict:
    """A new token for the member's own feed (a link shared by mistake): the old URL answers 404 at once."""
    with write_transaction():
        member = lock_one(Staff, member_id, "No such staff member.")
        member.feed_token = new_token("cal")
        record_action(member, "calendar_link_replaced", target=f"staff:{member.id}")
    return staff_feed_urls(member)
