"""The console's attendance sheet: one session, every confirmed participant, one Save button.

A thin page over the attendance domain: the sheet is read with `session_attendance` and
saved with `record_session`, the same service as `PUT /api/v1/sessions/{id}/attendance`
(its rules, its transaction, its 409 for a session that has not started). Facilitators
see only the sessions of their own cohorts (403 otherwise); the desk and admins see all.
"""

from dataclasses import dataclass

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..attendance import services as attendance_services
from ..attendance.models import AttendanceStatus, RecordSource
from ..attendance.schemas import AttendanceIn
from ..cohorts.models import Cohort, CohortStatus, Session, SessionStatus
from ..foundation import clock
from ..foundation.errors import Conflict, Forbidden, Invalid, NotFound
from ..foundation.extensions import db
from . import presenters
from .blueprint import bp
from .queries import is_facilitator
from .session import desk_page

STATUS_LABELS = presenters.ATTENDANCE  # Present, Late, Absent, Excused
FIELD = "att-"  # one radio group per person: att-<enrolment id> = present | late | absent | excused
CHOOSE_ONE = _l("Choose Present, Late, Absent or Excused for at least one person, then save.")
CHOOSE_VALID = _l("Choose one of Present, Late, Absent or Excused.")
ROSTER_CHANGED = _l(
    "The group's list of participants changed while you were recording (someone joined or left). "
    "Nothing was saved: check the sheet below and save again."
)


def sheet_url(session_id: str) -> str:
    return url_for("desk.attendance_sheet", session_id=session_id)


def _visible_session(session_id: str) -> Session:
    """The session with its cohort and sessions; a facilitator of another cohort gets the 403 page."""
    session = db.session.scalar(
        select(Session)
        .options(
            selectinload(Session.cohort).selectinload(Cohort.sessions),
            selectinload(Session.cohort).selectinload(Cohort.facilitators),
        )
        .where(Session.id == session_id)
    )
    if session is None:
        raise NotFound(_("No such session."))
    member = g.desk_member
    if is_facilitator(member) and all(f.id != member.id for f in session.cohort.facilitators):
        raise Forbidden(_("This group is not one of yours."))
    return session


@dataclass(frozen=True)
class SheetState:
    """Whether the sheet can be saved now, and if not, why (shown above the form)."""

    open: bool
    reason: str | None


def sheet_state(session: Session, at) -> SheetState:
    cohort = session.cohort
    if cohort.status == CohortStatus.CANCELLED:
        return SheetState(False, _("This group was cancelled; there is no attendance to record."))
    if session.status == SessionStatus.CANCELLED:
        return SheetState(False, _("This session was cancelled; there is no attendance to record."))
    if session.starts_at > at:
        starts = presenters.when(session.starts_at, cohort.timezone)
        return SheetState(
            False,
            _(
                "This session has not started yet: it starts %(when)s (%(relative)s). "
                "Attendance can be taken once it has started.",
                when=starts,
                relative=presenters.relative(session.starts_at),
            ),
        )
    return SheetState(True, None)


def neighbours(session: Session) -> tuple[Session | None, Session | None]:
    """The sessions held before and after this one (cancelled ones skipped)."""
    held = [s for s in session.cohort.sessions if s.status != SessionStatus.CANCELLED or s.id == session.id]
    held.sort(key=lambda s: (s.starts_at, s.number))
    index = next(i for i, s in enumerate(held) if s.id == session.id)
    before = held[index - 1] if index > 0 else None
    after = held[index + 1] if index + 1 < len(held) else None
    return before, after


def _render_sheet(session: Session, *, chosen=None, errors=None, problem=None, status=200) -> Response:
    sheet = attendance_services.session_attendance(session.id, g.desk_member)
    at = clock.now()
    recorded = {enrolment.id: record for enrolment, record in sheet.rows}
    staff_records = [r for r in recorded.values() if r is not None and r.source == RecordSource.STAFF]
    last_saved = max(staff_records, key=lambda r: r.recorded_at, default=None)
    before, after = neighbours(session)
    page = render_template(
        "desk/attendance.html",
        s=session,
        c=session.cohort,
        rows=sheet.rows,
        chosen=chosen if chosen is not None else {e.id: r.status for e, r in sheet.rows if r is not None},
        errors=errors or {},
        problem=problem,
        state=sheet_state(session, at),
        before=before,
        after=after,
        last_saved=last_saved,
        labels=STATUS_LABELS,
        provisional=RecordSource.JOIN,
        focus=request.args.get("focus", ""),
        field=FIELD,
        sheet_url=sheet_url,
        now=at,
    )
    return Response(page, status=status, mimetype="text/html")


@bp.get("/sessions/<session_id>/attendance")
@desk_page()
def attendance_sheet(session_id):
    """A session's attendance sheet: each confirmed participant with Present, Late, Absent or Excused."""
    return _render_sheet(_visible_session(session_id))


def _chosen_in_form() -> dict[str, str]:
    """What the form says per person (in the order of the form): enrolment id -> the status chosen."""
    chosen = {}
    for key, value in request.form.items(multi=True):
        if key.startswith(FIELD) and key[len(FIELD) :] and "\x00" not in key + value:
            chosen.setdefault(key[len(FIELD) :], value.strip())
    return chosen


def _parse(chosen: dict[str, str]) -> list[dict]:
    """The records, through the API's own schema; a wrong value is named beside its person."""
    payload = {"records": [{"enrolment_id": e, "status": status} for e, status in chosen.items()]}
    try:
        return AttendanceIn().load(payload)["records"]
    except ValidationError as exc:
        people = list(chosen)
        errors = {}
        found = exc.messages.get("records") if isinstance(exc.messages, dict) else None
        if isinstance(found, dict):
            for index, fields in found.items():
                if not isinstance(index, int) or index >= len(people):
                    continue
                if "enrolment_id" in fields:  # not an id this sheet shows: the service's roster check words it
                    errors[f"records.{index}.enrolment_id"] = fields["enrolment_id"]
                else:
                    errors[people[index]] = [str(CHOOSE_VALID)]
        if not errors:
            errors["_form"] = [str(CHOOSE_ONE)]
        raise Invalid("The sheet has mistakes", errors=errors) from None


def _counted(status: str, n: int) -> str:
    """ "3 present", "1 late": how many people had one status (Spanish agrees in number)."""
    if status == AttendanceStatus.PRESENT:
        return ngettext("%(num)s present", "%(num)s present", n)
    if status == AttendanceStatus.LATE:
        return ngettext("%(num)s late", "%(num)s late", n)
    if status == AttendanceStatus.ABSENT:
        return ngettext("%(num)s absent", "%(num)s absent", n)
    return ngettext("%(num)s excused", "%(num)s excused", n)


def _summary(records: list[dict]) -> str:
    counts = {}
    for item in records:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return ", ".join(_counted(s, counts[s]) for s in STATUS_LABELS if s in counts)


@bp.post("/sessions/<session_id>/attendance")
@desk_page()
def save_attendance(session_id):
    """Save the whole sheet in one go (the attendance service's rules and transaction)."""
    session = _visible_session(session_id)
    chosen = _chosen_in_form()
    try:
        records = _parse(chosen)
        saved = attendance_services.record_session(session.id, records, g.desk_member)
    except Invalid as exc:
        errors = exc.errors or {}
        if any(key.startswith("records.") for key in errors):  # the service: not a confirmed participant
            return _render_sheet(session, chosen=chosen, problem=str(ROSTER_CHANGED), status=422)
        return _render_sheet(session, chosen=chosen, errors=errors, status=422)
    except Conflict as exc:
        db.session.rollback()
        session = _visible_session(session_id)
        state = sheet_state(session, clock.now())
        problem = _("Nothing was saved. %(reason)s", reason=state.reason) if state.reason else exc.said()
        return _render_sheet(session, chosen=chosen, problem=problem, status=409)
    unrecorded = [e.name for e, record in saved.rows if record is None]
    day = presenters.day(session.starts_at, session.cohort.timezone)
    message = _(
        "Attendance for session %(number)s (%(day)s) is saved: %(summary)s.",
        number=session.number,
        day=day,
        summary=_summary(records),
    )
    if unrecorded:
        message += " " + _("Not recorded yet: %(names)s.", names=", ".join(unrecorded))
    flash(message, "success")
    return redirect(url_for("desk.attendance_sheet", session_id=session.id, focus="save"), 303)
