"""A clinician's week (/desk/week): the sessions of the groups they lead, their assessments and
their individual sessions, day by day, with the way to each one's page.

A clinician sees their own week; the front desk and admins may open anyone's (?staff_id=).
Times are in the clinician's usual zone: the one most of their groups, hours and people are in
(the clinic's, CLINIC_TIMEZONE, for someone with none yet).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import current_app, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..admission.models import Intake
from ..appointments.models import Appointment, AppointmentKind, AppointmentStatus, Availability
from ..cohorts.models import Cohort, CohortStatus, Session, SessionStatus, cohort_facilitators
from ..enrolment.models import Enrolment
from ..foundation import clock
from ..foundation.auth import DESK
from ..foundation.extensions import db
from ..foundation.i18n import page_language
from ..staff.models import Staff
from .availability import whose
from .blueprint import bp
from .screens import render
from .session import desk_page

# A week and its days as the page's language writes them: "Monday 30 September 2030" /
# "lunes 30 de septiembre de 2030"; a day heading without the year.
_WEEK = {"en": "EEEE d MMMM y", "es": "EEEE d 'de' MMMM 'de' y"}
_DAY = {"en": "EEEE d MMMM", "es": "EEEE d 'de' MMMM"}


def week_text(monday: date) -> str:
    language = page_language()
    return format_date(monday, _WEEK.get(language, "full"), locale=language)


def day_text(day: date) -> str:
    language = page_language()
    return format_date(day, _DAY.get(language, "long"), locale=language)


@dataclass(frozen=True)
class Item:
    starts_at: datetime
    ends_at: datetime
    what: str
    who: str
    cancelled: bool
    link: str | None


def _usual_zone(member: Staff) -> str:
    """The zone most of a clinician's groups, weekly hours and individual sessions are planned in."""
    led = select(Cohort.timezone).join(cohort_facilitators).where(cohort_facilitators.c.staff_id == member.id)
    hours = select(Availability.timezone).where(Availability.staff_id == member.id)
    people = (
        select(Cohort.timezone)
        .join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .join(Appointment, Appointment.enrolment_id == Enrolment.id)
        .where(Appointment.staff_id == member.id)
    )
    zones = Counter(db.session.scalars(led.union_all(hours, people)).all())
    return zones.most_common(1)[0][0] if zones else current_app.config["CLINIC_TIMEZONE"]


def _monday(zone: ZoneInfo) -> date:
    try:
        day = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        day = clock.now().astimezone(zone).date()
    return day - timedelta(days=day.weekday())


def _items(member: Staff, start: datetime, end: datetime) -> list[Item]:
    sessions = db.session.execute(
        select(Session, Cohort)
        .join(Cohort, Cohort.id == Session.cohort_id)
        .join(cohort_facilitators, cohort_facilitators.c.cohort_id == Cohort.id)
        .where(cohort_facilitators.c.staff_id == member.id, Session.starts_at >= start, Session.starts_at < end)
    ).all()
    items = [
        Item(
            s.starts_at,
            s.ends_at,
            _("Group: %(name)s, session %(number)s", name=c.name, number=s.number),
            "",
            s.status == SessionStatus.CANCELLED or c.status == CohortStatus.CANCELLED,
            url_for("desk.cohort", cohort_id=c.id, _anchor=f"session-{s.id}"),
        )
        for s, c in sessions
    ]
    appointments = db.session.scalars(
        select(Appointment).where(
            Appointment.staff_id == member.id, Appointment.starts_at >= start, Appointment.starts_at < end
        )
    ).all()
    intakes = {
        i.id: i for i in db.session.scalars(select(Intake).where(Intake.id.in_({a.intake_id for a in appointments})))
    }
    for a in appointments:
        cancelled = a.status == AppointmentStatus.CANCELLED
        if a.kind == AppointmentKind.ASSESSMENT:
            who = intakes[a.intake_id].name if a.intake_id in intakes else ""
            items.append(
                Item(
                    a.starts_at,
                    a.ends_at,
                    _("Assessment"),
                    who,
                    cancelled,
                    url_for("desk.intake", intake_id=a.intake_id),
                )
            )
        else:
            link = url_for("desk.appointment", appointment_id=a.id)
            items.append(Item(a.starts_at, a.ends_at, _("Individual session"), a.enrolment.name, cancelled, link))
    return sorted(items, key=lambda item: (item.starts_at, item.what))


@bp.get("/week")
@desk_page()
def week():
    """A clinician's groups, assessments and individual sessions, day by day, for one week."""
    member = whose()
    zone = ZoneInfo(_usual_zone(member))
    monday = _monday(zone)
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone)
    items = _items(member, start, end)
    days = [
        (
            monday + timedelta(days=n),
            [i for i in items if i.starts_at.astimezone(zone).date() == monday + timedelta(days=n)],
        )
        for n in range(7)
    ]
    staff = (
        db.session.scalars(select(Staff).where(Staff.revoked_at.is_(None)).order_by(Staff.name)).all()
        if g.desk_member.role in DESK
        else []
    )
    return render(
        "desk/week.html",
        member=member,
        staff=staff,
        zone=str(zone),
        hhmm=lambda instant: f"{instant.astimezone(zone):%H:%M}",
        days=days,
        week_text=week_text,
        day_text=day_text,
        count=len([i for i in items if not i.cancelled]),
        monday=monday,
        today=clock.now().astimezone(zone).date(),
        previous=(monday - timedelta(days=7)).isoformat(),
        following=(monday + timedelta(days=7)).isoformat(),
    )
