"""Use cases for cohorts and their sessions (programs: programs.py). Each public function is one transaction.

Cohorts sit low in the stack: they know nothing of enrolments. What enrolment must
hear (a cancelled cohort, new seats, a changed session) is published as an event
(cohorts/events.py); how many seats are taken is asked of the counter the
enrolment domain supplies (seat_counter, installed by scheduler/wiring.py).
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import json
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import selectinload

from ..foundation import clock
from ..foundation.database import Page, UTCDateTime, count, lock_one, paginate, write_transaction
from ..foundation.errors import Conflict, Invalid, NotFound
from ..foundation.events import publish
from ..foundation.extensions import db
from ..foundation.plugins import PlugIn
from ..foundation.rendered import Rendering, earliest_after, rendered
from ..staff.models import Role, Staff
from .events import CohortCancelled, CohortChanged, SeatsAdded, SessionChanged
from .joining import Joining, joining, prorated, takes_public_clause
from .models import (
    COHORT_TRANSITIONS,
    Cohort,
    CohortStatus,
    Program,
    SeatCount,
    Session,
    SessionStatus,
    cohort_facilitators,
    cohort_status_word,
)
from .schedule import ScheduleError, plan_sessions, resolve_local

# ---- seats: counted by the enrolment domain (scheduler/wiring.py installs how) ------------------

seat_counter = PlugIn("count the seats of cohorts: counter(cohorts, at) -> {cohort_id: SeatCount}")


def seat_counts(cohorts: list[Cohort], at: datetime) -> dict[str, SeatCount]:
    """Seats of each cohort at instant `at`, from the enrolment rows, in one query."""
    return seat_counter(cohorts, at)


@dataclass(frozen=True)
class CohortView:
    """A cohort as shown: the row, its seats now, its status now (running, completed…), and whether
    and from which session a person may join now (late joiners: cohorts/joining.py)."""

    cohort: Cohort
    seats: SeatCount
    view_status: CohortStatus
    joining: Joining
    at: datetime

    def __getattr__(self, name):  # the row's own fields, for the schemas
        return getattr(self.cohort, name)

    def price_now(self, amount: int | None = None) -> int:
        """What enrolling now costs: the cohort's price (or `amount`, a level's), pro-rated for a late joiner."""
        return prorated(self.cohort, self.cohort.price_amount if amount is None else amount, self.at)


def describe(cohorts: list[Cohort], at: datetime | None = None) -> list[CohortView]:
    """What cohorts show but do not store: seats now and status now (one query for all)."""
    at = at or clock.now()
    counts = seat_counts(cohorts, at)
    return [CohortView(c, counts[c.id], c.display_status(at), joining(c, at), at) for c in cohorts]


# ---- cohorts ----------------------------------------------------------------------------------


def _session_title(program: Program, number: int) -> str:
    titles = program.session_titles or []
    return titles[number - 1] if number <= len(titles) else f"Session {number}"


def _facilitators(ids: list[str]) -> list[Staff]:
    if not ids:
        return []
    found = {s.id: s for s in db.session.scalars(select(Staff).where(Staff.id.in_(ids)))}
    wrong = [i for i in ids if i not in found or found[i].role != Role.FACILITATOR or found[i].revoked_at]
    if wrong:
        raise Invalid.field("facilitator_ids", f"Not an active facilitator: {', '.join(wrong)}.")
    return [found[i] for i in dict.fromkeys(ids)]


def create_cohort(data: dict) -> CohortView:
    """Open a run of a program, with its weekly sessions planned in the cohort's zone."""
    with write_transaction():
        program = db.session.get(Program, data["program_id"])
        if program is None:
            raise Invalid.field("program_id", "No such program.")
        settings = {
            "name": data.get("name") or f"{program.name}, {data['start_date']:%A}s from {data['start_date']:%B %-d}",
            "session_count": data.get("session_count", program.default_session_count),
            "duration_minutes": data.get("duration_minutes", program.default_duration_minutes),
            "capacity": data.get("capacity", program.default_capacity),
            "price_amount": data.get("price_amount", program.price_amount),
            "currency": data.get("currency", program.currency),
        }
        try:
            planned = plan_sessions(
                data["start_date"],
                data["start_time"],
                data["timezone"],
                settings["session_count"],
                settings["duration_minutes"],
                data.get("skip_dates", []),
            )
        except ScheduleError as exc:
            raise Invalid.field(exc.field, exc.message) from None
        _check_enrol_until(data.get("enrol_until_session", 1), settings["session_count"])
        cohort = Cohort(
            program=program,
            status=data.get("status", CohortStatus.DRAFT),
            timezone=data["timezone"],
            start_date=data["start_date"],
            start_time=data["start_time"].strftime("%H:%M"),
            meeting_url=data.get("meeting_url"),
            skip_dates=sorted(d.isoformat() for d in data.get("skip_dates", [])),
            facilitators=_facilitators(data.get("facilitator_ids", [])),
            **{
                k: data[k]
                for k in (
                    "hold_minutes",
                    "confirm_email_minutes",
                    "offer_hours",
                    "refund_cutoff_hours",
                    "manual_hold_hours",
                    "allow_pay_at_desk",
                    "enrol_until_session",
                    "prorate_late_joiners",
                )
                if k in data
            },
            **settings,
        )
        cohort.sessions = [
            Session(number=p.number, title=_session_title(program, p.number), starts_at=p.starts_at, ends_at=p.ends_at)
            for p in planned
        ]
        db.session.add(cohort)
    return describe([cohort])[0]


def _check_enrol_until(session: int, session_count: int) -> None:
    if not 1 <= session <= session_count:
        raise Invalid.field(
            "enrol_until_session",
            f"Give a session from 1 to {session_count} (this cohort's sessions): "
            "the public may enrol until that session has started.",
        )


def _visible_to(staff, stmt=None):
    # Sessions and facilitators load with the page in two more queries, whatever its size.
    if stmt is None:
        stmt = select(Cohort).options(selectinload(Cohort.sessions), selectinload(Cohort.facilitators))
    if staff is not None and staff.role == Role.FACILITATOR:
        stmt = stmt.join(cohort_facilitators).where(cohort_facilitators.c.staff_id == staff.id)
    return stmt


def get_cohort(cohort_id: str, staff=None) -> CohortView:
    """A cohort as `staff` may see it (None: the public, who see open and running ones)."""
    cohort = db.session.scalar(_visible_to(staff).where(Cohort.id == cohort_id))
    if cohort is None:
        raise NotFound(_l("No such cohort."))
    view = describe([cohort])[0]
    if staff is None and view.view_status not in (CohortStatus.OPEN, CohortStatus.RUNNING):
        raise NotFound(_l("No such cohort."))
    return view


def cohort_revision(cohort_id: str, staff) -> int:
    """The revision of a cohort this staff member may see (one query: who may see it is checked every time)."""
    revision = db.session.scalar(_visible_to(staff, select(Cohort.revision)).where(Cohort.id == cohort_id))
    if revision is None:
        raise NotFound(_l("No such cohort."))
    return revision


def _listed(staff, query: dict, at: datetime, *, ids_only: bool = False):
    """The list's statement for this query, and its parameters."""
    wanted = CohortStatus.OPEN if staff is None else query.get("status")
    facilitator = staff is not None and staff.role == Role.FACILITATOR
    by_program = bool(query.get("program_id"))
    stmt = _listing(facilitator, wanted and CohortStatus(wanted), by_program, ids_only, staff is None)
    params = {"at": at, "staff_id": staff.id if facilitator else None, "program_id": query.get("program_id")}
    return stmt, params


@functools.cache
def _listing(facilitator: bool, wanted: CohortStatus | None, by_program: bool, ids_only: bool, public: bool = False):
    """The cohorts a list shows, in order: those taking enrolments for the public (open ones, and
    running ones whose enrol_until_session has yet to start); any, filtered, for staff.

    Built once per shape of query (who asks, which status, whether by program), with the
    instant, the facilitator and the program as parameters: building a statement costs more
    than running it.
    """
    if ids_only:  # the ids and revisions of a page, with the total beside them
        stmt = select(Cohort.id, Cohort.revision, func.count().over())
    else:
        stmt = select(Cohort).options(selectinload(Cohort.sessions), selectinload(Cohort.facilitators))
    stmt = stmt.order_by(Cohort.start_date, Cohort.id)
    if facilitator:
        stmt = stmt.join(cohort_facilitators).where(cohort_facilitators.c.staff_id == bindparam("staff_id"))
    if by_program:
        stmt = stmt.where(Cohort.program_id == bindparam("program_id"))
    at = bindparam("at", type_=UTCDateTime)
    if public:
        stmt = stmt.where(takes_public_clause(at))
    elif wanted in (CohortStatus.DRAFT, CohortStatus.CANCELLED):
        stmt = stmt.where(Cohort.status == wanted)
    elif wanted is not None:
        # Derived statuses depend on the sessions' instants (kept on the cohort): compare in SQL.
        stmt = stmt.where(Cohort.status.in_([CohortStatus.OPEN, CohortStatus.CLOSED]))
        if wanted in (CohortStatus.OPEN, CohortStatus.CLOSED):
            stmt = stmt.where(Cohort.status == wanted, Cohort.first_starts_at > at)
        elif wanted == CohortStatus.RUNNING:
            stmt = stmt.where(Cohort.first_starts_at <= at, Cohort.last_ends_at > at)
        else:
            stmt = stmt.where(Cohort.last_ends_at <= at)
    return stmt


def list_cohorts(staff, query: dict) -> Page:
    """Cohorts taking enrolments for the public; any, filtered, for staff (facilitators: their own)."""
    at = clock.now()
    stmt, params = _listed(staff, query, at)
    page = paginate(stmt, query["page"], query["page_size"], params)
    page.items = describe(page.items, at)
    return page


def list_cohorts_rendered(staff, query: dict, shape: str, render: Callable[[list[CohortView]], list]) -> Page:
    """The same page with each cohort as JSON text, rendered once per revision of that cohort.

    `render(views)` dumps cohort views in the caller's `shape`. A cohort's text is made again
    when its revision moves (cohorts/revisions.py) or when the clock reaches its next change
    by time alone: a hold or offer lapsing, a session starting or ending. The list's own
    query runs every time (which cohorts, in which order, how many): one query, for the
    ids and revisions with the total beside them.
    """
    at = clock.now()
    page, size = query["page"], query["page_size"]
    stmt, params = _listed(staff, query, at, ids_only=True)
    rows = db.session.execute(stmt.limit(size).offset((page - 1) * size), params).all()
    if rows:
        total = rows[0][2]
    else:  # past the last page (or none at all): count what there is
        total = count(stmt, params)

    def build(missing: list[int]) -> list[Rendering]:
        ids = [rows[i][0] for i in missing]
        loaded = {
            cohort.id: cohort
            for cohort in db.session.scalars(
                select(Cohort)
                .options(selectinload(Cohort.sessions), selectinload(Cohort.facilitators))
                .where(Cohort.id.in_(ids))
            )
        }
        views = describe([loaded[i] for i in ids], at)
        return [
            Rendering(json.dumps(item), _next_change(view, at)) for view, item in zip(views, render(views), strict=True)
        ]

    texts = rendered().texts([((shape, cohort_id), revision) for cohort_id, revision, _ in rows], at, build)
    return Page(texts, total, page, size)


def _next_change(view: CohortView, at: datetime) -> datetime | None:
    """When what a cohort shows changes by time alone: a seat freed by a lapse, a session's start or end."""
    return earliest_after(at, [view.seats.changes_at, *(t for s in view.sessions for t in (s.starts_at, s.ends_at))])


def update_cohort(cohort_id: str, data: dict, staff) -> CohortView:
    """Change a cohort's settings or status, under the cohort's lock."""
    with write_transaction():
        cohort = lock_one(Cohort, cohort_id)
        at = clock.now()
        if "enrol_until_session" in data:
            _check_enrol_until(data["enrol_until_session"], cohort.session_count)
        if "capacity" in data:
            taken = seat_counts([cohort], at)[cohort.id].taken
            if data["capacity"] < taken:
                raise Conflict(_l("%(taken)s seats are taken; capacity cannot go below that.", taken=taken))
        before = _settings_of(cohort, data)
        if "facilitator_ids" in data:
            cohort.facilitators = _facilitators(data.pop("facilitator_ids"))
        new_status = data.pop("status", cohort.status)
        raised = data.get("capacity", cohort.capacity) > cohort.capacity
        for key, value in data.items():
            setattr(cohort, key, value)
        cohort.updated_at = at
        if new_status != cohort.status:
            if new_status not in COHORT_TRANSITIONS[cohort.status]:
                raise Conflict(
                    _l(
                        "A %(status)s cohort cannot become %(new_status)s.",
                        status=cohort_status_word(cohort.status),
                        new_status=cohort_status_word(new_status),
                    )
                )
            cohort.status = new_status
            if new_status == CohortStatus.CANCELLED:
                publish(CohortCancelled(cohort, staff))
        if raised and cohort.status != CohortStatus.CANCELLED:
            publish(SeatsAdded(cohort))
        after = _settings_of(cohort, before)
        changed = [key for key in before if before[key] != after[key]]
        if changed:
            # The audit log (enrolment's handler) keeps who changed what, the meeting link above all;
            # personal join links follow a new meeting link at once.
            publish(CohortChanged(cohort, staff, {k: before[k] for k in changed}, {k: after[k] for k in changed}))
    return describe([cohort])[0]


def _settings_of(cohort: Cohort, fields) -> dict:
    """The cohort's current values of these settings, as plain JSON values (for the audit log)."""
    values = {}
    for key in fields:
        if key == "facilitator_ids":
            values[key] = [f.id for f in cohort.facilitators]
        else:
            value = getattr(cohort, key)
            values[key] = str(value) if key == "status" else value
    return values


# ---- sessions ---------------------------------------------------------------------------------


def update_session(session_id: str, data: dict) -> Session:
    """Reschedule, retitle, or cancel one session; raises its change counter."""
    with write_transaction():
        cohort_id = db.session.scalar(select(Session.cohort_id).where(Session.id == session_id))
        if cohort_id is None:
            raise NotFound(_l("No such session."))
        cohort = lock_one(Cohort, cohort_id)
        session = db.session.get(Session, session_id)
        if cohort.status == CohortStatus.CANCELLED:
            raise Conflict(_l("The cohort is cancelled; its sessions cannot change."))
        length = (
            timedelta(minutes=data["duration_minutes"])
            if "duration_minutes" in data
            else session.ends_at - session.starts_at
        )
        before = {
            "starts_at": session.starts_at,
            "ends_at": session.ends_at,
            "title": session.title,
            "status": session.status,
        }
        starts = data.get("starts_at") or session.starts_at
        if "local_start" in data:
            wall, offset = data["local_start"]
            try:
                starts = resolve_local(wall, ZoneInfo(cohort.timezone), offset, "local_start")
            except ScheduleError as exc:
                raise Invalid.field(exc.field, exc.message) from None
        at = clock.now()
        if starts != session.starts_at and session.starts_at > at and starts <= at:
            field = "local_start" if "local_start" in data else "starts_at"
            raise Invalid.field(field, "That time has already passed: choose a date and time still ahead.")
        changed = False
        if starts != session.starts_at or starts + length != session.ends_at:
            session.starts_at, session.ends_at = starts, starts + length
            changed = True
        if "title" in data and data["title"] != session.title:
            session.title = data["title"]
            changed = True
        if "status" in data and data["status"] != session.status:
            if session.status == SessionStatus.CANCELLED and session.starts_at <= clock.now():
                raise Conflict(_l("A cancelled session that has already passed cannot be restored."))
            session.status = data["status"]
            changed = True
        if changed:
            session.sequence += 1
            session.updated_at = clock.now()
            publish(SessionChanged(session, before))
    return session
