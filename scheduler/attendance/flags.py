"""The missed-sessions rule applied: raising a flag when a run of misses crosses the program's
limit, the follow-up email to staff, and clearing a flag.

Every write that can raise a flag runs under the cohort's lock, so a crossing is seen by
one transaction only; the unique index on open flags is the database's last word on it.
The email goes through the notifications domain (its outbox), which attendance sits above.
"""

from datetime import time
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from ..cohorts.models import Cohort
from ..enrolment.audit import record
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..enrolment.views import lock_enrolment
from ..foundation import clock, i18n
from ..foundation.database import lock_one, new_id, require_lock, write_transaction
from ..foundation.errors import Conflict
from ..foundation.extensions import db
from ..foundation.links import public_url
from ..notifications.models import MessageKind
from ..notifications.outbox import queue_to_staff
from ..staff.models import Role, Staff
from . import rule
from .models import AttendanceFlag, FlagReason
from .records import Summary, confirmed, summaries


def evaluate(cohort: Cohort, enrolments: list[Enrolment]) -> list[AttendanceFlag]:
    """Raise a flag for each of these enrolments whose run of misses crossed the limit (under the cohort's lock).

    The front desk and the cohort's facilitators each get one email per crossing.
    """
    require_lock("cohort", cohort.id)
    program = cohort.program
    people = [e for e in enrolments if e.status == EnrolmentStatus.CONFIRMED and e.cohort_id == cohort.id]
    if program.missed_sessions_limit <= 0 or not people:
        return []
    db.session.flush()
    at = clock.now()
    raised = []
    for enrolment_id, summary in summaries(people, at).items():
        flag_open = summary.open_flag is not None
        if rule.crosses_limit(summary.run, program.missed_sessions_limit, summary.acknowledged_through, flag_open):
            flag = AttendanceFlag(
                id=new_id("afl"),
                enrolment_id=enrolment_id,
                cohort_id=cohort.id,
                reason=FlagReason.MISSED_LIMIT,
                missed_in_a_row=len(summary.run),
                raised_at=at,
            )
            db.session.add(flag)
            raised.append((flag, summary))
    if raised:
        db.session.flush()
        _tell_staff(cohort, raised)
    return [flag for flag, _ in raised]


def _follow_up_staff(cohort: Cohort) -> list[Staff]:
    """Who hears of a flag: the front desk (admins when there is none) and the cohort's facilitators."""
    desk_roles = (Role.FRONT_DESK, Role.ADMIN)
    active = db.session.scalars(
        select(Staff).where(Staff.revoked_at.is_(None), Staff.role.in_(desk_roles)).order_by(Staff.id)
    ).all()
    desk = [s for s in active if s.role == Role.FRONT_DESK] or [s for s in active if s.role == Role.ADMIN]
    facilitators = [f for f in cohort.facilitators if f.revoked_at is None]
    return list({s.id: s for s in desk + facilitators}.values())


def group_label(cohort: Cohort) -> str:
    """A cohort as staff recognise it without naming what it treats: weekday, time, zone, first date
    (in the language being written)."""
    start, language = cohort.start_date, i18n.page_language()
    return gettext(
        "the %(weekday)s %(time)s group (%(zone)s time) that started on %(day)s",
        weekday=format_date(start, "EEEE", locale=language),
        time=i18n.time_text(time.fromisoformat(str(cohort.start_time))),  # stored as "HH:MM"
        zone=cohort.timezone,
        day=format_date(start, "long", locale=language),
    )


def _tell_staff(cohort: Cohort, raised: list) -> None:
    zone = ZoneInfo(cohort.timezone)
    recipients = _follow_up_staff(cohort)
    for flag, summary in raised:
        last = rule.attended(summary.marks)
        for member in recipients:
            with i18n.speaking(member.locale):  # the group and the day in the member's language too
                queue_to_staff(
                    member,
                    MessageKind.ATTENDANCE_FLAG,
                    about=summary.enrolment,
                    dedupe_key=f"attendance_flag:{flag.id}:{member.id}",
                    participant_name=summary.enrolment.name,
                    missed=flag.missed_in_a_row,
                    limit=cohort.program.missed_sessions_limit,
                    group=group_label(cohort),
                    last_attended=i18n.day_text(last[-1].starts_at.astimezone(zone)) if last else "",
                    desk_url=public_url(f"/desk/enrolments/{summary.enrolment.id}"),
                )


def reevaluate_cohort(cohort_id: str) -> list[AttendanceFlag]:
    """Apply the rule to every confirmed participant again (a session was cancelled or moved).

    Takes the cohort's lock (a no-op when the caller, as update_session does, holds it already).
    """
    cohort = lock_one(Cohort, cohort_id)
    return evaluate(cohort, confirmed(cohort.id))


def clear_flag(enrolment_id: str, note: str, staff) -> Summary:
    """Clear an enrolment's attendance flag with a note (audited); the misses so far are acknowledged."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        flag = db.session.scalar(
            select(AttendanceFlag).where(
                AttendanceFlag.enrolment_id == enrolment.id,
                AttendanceFlag.cohort_id == enrolment.cohort_id,
                AttendanceFlag.cleared_at.is_(None),
            )
        )
        if flag is None:
            raise Conflict(lazy_gettext("This enrolment has no attendance flag to clear."))
        at = clock.now()
        run = summaries([enrolment], at)[enrolment.id].run
        flag.cleared_at, flag.cleared_by_id, flag.clear_note = at, staff.id, note
        # The next flag needs `limit` misses after the last one seen now.
        flag.acknowledged_through = run[-1].starts_at if run else None
        record(enrolment, staff, "attendance_flag_cleared", {"attendance_flag": flag.reason}, note=note)
    return summaries([enrolment])[enrolment.id]
