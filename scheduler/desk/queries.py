"""What the console's pages read, in a number of queries that does not grow with the rows shown.

Writes never happen here: every change goes through the domain services. Lists come
from the services where one exists (roster, waitlist, audit, messages); the rest are
reads only the console needs (the day's overview, a search across cohorts).
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import pgettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..cohorts import services as cohort_services
from ..cohorts.models import Cohort, CohortStatus, Program, Session, cohort_facilitators
from ..enrolment import agreements as enrolment_agreements
from ..enrolment import self_service, staff_actions
from ..enrolment.models import Enrolment, EnrolmentStatus, reference_prefix
from ..foundation import clock
from ..foundation.database import Page, paginate
from ..foundation.errors import Forbidden, NotFound
from ..foundation.extensions import db
from ..notifications import services as notification_services
from ..payments.models import Payment, Refund
from ..staff.models import Role, Staff

S = EnrolmentStatus
CURRENT = "current"
ALL = "all"
# The Today page's status filter: its values, in the order offered (labels: `status_filters`).
STATUS_FILTERS = (CURRENT, "open", "running", "closed", "draft", "completed", "cancelled", ALL)


def status_filters() -> dict[str, str]:
    """The Today page's status filter, value -> label in the page's language (a cohort's status:
    the context keeps these words apart from the same English said of a session or a place)."""
    return {
        CURRENT: _("Open or running"),
        "open": pgettext("cohort filter", "Open"),
        "running": pgettext("cohort filter", "Running"),
        "closed": pgettext("cohort filter", "Closed"),
        "draft": pgettext("cohort filter", "Draft"),
        "completed": pgettext("cohort filter", "Completed"),
        "cancelled": pgettext("cohort filter", "Cancelled"),
        ALL: _("Any status"),
    }


# Holds and offers lapsing within this long are listed for the desk to chase.
SOON = timedelta(hours=24)
TODAY_PAGE_SIZE = 50
SEARCH_LIMIT = 50


def is_facilitator(member) -> bool:
    return member.role == Role.FACILITATOR


# ---- Today -----------------------------------------------------------------------------------


@dataclass
class Deadlines:
    """A cohort's seats held for someone who has not finished: holds pending payment, open offers."""

    holds: list = field(default_factory=list)
    offers: list = field(default_factory=list)


@dataclass
class Today:
    cohorts: Page
    deadlines: dict[str, Deadlines]
    chase: list  # (enrolment, kind, deadline) lapsing within SOON, soonest first
    programs: list


def _current_cohorts(member, program_id: str | None):
    """Cohorts open for enrolment or running now (stored open or closed, first session ahead or under way)."""
    at = clock.now()
    first = select(Session.starts_at).where(Session.cohort_id == Cohort.id).order_by(Session.number).limit(1)
    last = select(Session.ends_at).where(Session.cohort_id == Cohort.id).order_by(Session.number.desc()).limit(1)
    stmt = (
        select(Cohort)
        .options(selectinload(Cohort.sessions), selectinload(Cohort.facilitators))
        .where(
            Cohort.status.in_([CohortStatus.OPEN, CohortStatus.CLOSED]),
            last.scalar_subquery() > at,
            or_(Cohort.status == CohortStatus.OPEN, first.scalar_subquery() <= at),
        )
    )
    if is_facilitator(member):
        stmt = stmt.join(cohort_facilitators).where(cohort_facilitators.c.staff_id == member.id)
    if program_id:
        stmt = stmt.where(Cohort.program_id == program_id)
    return stmt.order_by(Cohort.start_date, Cohort.id)


def today(member, program_id: str | None, status: str, page: int) -> Today:
    """The cohorts to look at today, with seats, waitlists, holds and offers and their deadlines."""
    query = {"page": page, "page_size": TODAY_PAGE_SIZE, "program_id": program_id}
    if status == CURRENT:
        cohorts = paginate(_current_cohorts(member, program_id), page, TODAY_PAGE_SIZE)
        cohorts.items = cohort_services.describe(cohorts.items)
    else:
        query["status"] = None if status == ALL else status
        cohorts = cohort_services.list_cohorts(member, query)
    at = clock.now()
    ids = [c.id for c in cohorts.items]
    deadlines = {cid: Deadlines() for cid in ids}
    chase = []
    if ids:
        held = db.session.scalars(
            select(Enrolment)
            .where(
                Enrolment.cohort_id.in_(ids),
                Enrolment.status.in_([S.PENDING_PAYMENT, S.OFFERED]),
                Enrolment.holds_seat(at),
            )
            .order_by(func.coalesce(Enrolment.hold_expires_at, Enrolment.offer_expires_at), Enrolment.id)
        ).all()
        for enrolment in held:
            held_pending = enrolment.status == S.PENDING_PAYMENT
            deadline = enrolment.hold_expires_at if held_pending else enrolment.offer_expires_at
            entry = deadlines[enrolment.cohort_id]
            (entry.holds if held_pending else entry.offers).append(enrolment)
            if deadline <= at + SOON:
                chase.append((enrolment, enrolment.status, deadline))
    programs = db.session.scalars(select(Program).order_by(Program.name, Program.id)).all()
    return Today(cohorts, deadlines, chase, list(programs))


def next_session(cohort, at):
    """The next scheduled session not yet over (None after the last)."""
    return next((s for s in cohort.sessions if s.status == "scheduled" and s.ends_at > at), None)


# ---- people ------------------------------------------------------------------------------------


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _by_reference(text: str) -> list:
    """A payment reference read out on the phone ("HRGX-XKK2"): the enrolments whose id's letters
    and digits it starts; an earlier reference (the id's first eight characters, "-" and "_" kept)
    as typed with its dash."""
    prefix, typed, found = reference_prefix(text), "".join(text.split()), []
    if prefix is not None:
        letters = func.lower(func.replace(func.replace(Enrolment.id, "-", ""), "_", ""))
        found.append(letters.like(f"enr{prefix.lower()}%"))
    # The earlier form: the id's body[:4] "-" body[4:8], "-" and "_" kept.
    if len(typed) == 9 and typed[4] == "-" and all(c.isalnum() or c in "-_" for c in typed):
        earlier = (typed[:4] + typed[5:]).lower().replace("_", "\\_")
        found.append(func.lower(Enrolment.id).like(f"enr\\_{earlier}%", escape="\\"))
    return found


def search_people(text: str) -> list[Enrolment]:
    """Enrolments in any cohort whose name or email contains the text (any case), or whose payment
    reference it is, active ones first."""
    pattern = _like(text)
    active_first = Enrolment.status.in_([S.CONFIRMED, S.PENDING_PAYMENT, S.OFFERED, S.WAITLISTED])
    return list(
        db.session.scalars(
            select(Enrolment)
            .options(joinedload(Enrolment.cohort))
            .where(
                or_(
                    func.lower(Enrolment.name).like(pattern, escape="\\"),
                    func.lower(Enrolment.email).like(pattern, escape="\\"),
                    *_by_reference(text),
                )
            )
            .order_by(active_first.desc(), Enrolment.created_at.desc(), Enrolment.id)
            .limit(SEARCH_LIMIT)
        )
    )


# ---- one cohort ----------------------------------------------------------------------------------


def visible_cohort(cohort_id: str, member):
    """The cohort as this member may see it: a facilitator only their own (403 for another's)."""
    try:
        return cohort_services.get_cohort(cohort_id, member)
    except NotFound:
        if is_facilitator(member) and db.session.scalar(select(Cohort.id).where(Cohort.id == cohort_id)):
            raise Forbidden(_("This group is not one of yours.")) from None
        raise


@dataclass
class CohortDetail:
    cohort: object  # CohortView
    roster: list
    waitlist: list


def cohort_detail(cohort_id: str, member) -> CohortDetail:
    """A cohort's page: the cohort and seats, its roster and (for the desk) its waitlist."""
    cohort = visible_cohort(cohort_id, member)
    roster = staff_actions.roster_of(cohort.id)
    waitlist = [] if is_facilitator(member) else staff_actions.waitlist_of(cohort.id)
    return CohortDetail(cohort, list(roster), waitlist)


# ---- one enrolment --------------------------------------------------------------------------------


@dataclass
class EnrolmentDetail:
    enrolment: object  # EnrolmentView
    history: list
    payments: list  # (Payment, staff name or None)
    refunds: list
    messages: list
    targets: list = field(default_factory=list)  # cohorts a transfer may go to
    cohort_names: dict = field(default_factory=dict)  # cohorts the history names, id -> name
    agreements: list = field(default_factory=list)  # every acceptance of the program's agreements, any version


def transfer_targets(enrolment) -> list:
    """Open or running cohorts, in the same currency, with a free seat now (not the enrolment's own)."""
    candidates = db.session.scalars(
        select(Cohort)
        .options(selectinload(Cohort.sessions))
        .where(
            Cohort.status.in_([CohortStatus.OPEN, CohortStatus.CLOSED]),
            Cohort.currency == enrolment.cohort.currency,
            Cohort.id != enrolment.cohort_id,
        )
        .order_by(Cohort.start_date, Cohort.id)
        .limit(200)
    ).all()
    views = cohort_services.describe(list(candidates))
    return [v for v in views if v.view_status in (CohortStatus.OPEN, CohortStatus.RUNNING) and v.seats.available > 0]


def enrolment_detail(enrolment_id: str) -> EnrolmentDetail:
    """Everything about one enrolment: history with names, payments, refunds, messages, transfer targets."""
    enrolment = self_service.get_enrolment(enrolment_id)
    history = staff_actions.audit({"enrolment_id": enrolment_id, "page": 1, "page_size": 200}).items
    payments = db.session.execute(
        select(Payment, Staff.name)
        .outerjoin(Staff, Staff.id == Payment.staff_id)
        .where(Payment.enrolment_id == enrolment_id)
        .order_by(Payment.created_at, Payment.id)
    ).all()
    refunds = db.session.scalars(
        select(Refund).where(Refund.enrolment_id == enrolment_id).order_by(Refund.created_at, Refund.id)
    ).all()
    messages = notification_services.list_messages(enrolment_id, 1, 200).items
    targets = transfer_targets(enrolment) if enrolment.status == S.CONFIRMED else []
    named = {snap.get("cohort_id") for entry in history for snap in (entry.before or {}, entry.after or {})}
    named.discard(None)
    names = dict(db.session.execute(select(Cohort.id, Cohort.name).where(Cohort.id.in_(named))).all()) if named else {}
    accepted = enrolment_agreements.history(enrolment_id)
    return EnrolmentDetail(
        enrolment, list(history), list(payments), list(refunds), list(messages), targets, names, accepted
    )


# ---- staff ------------------------------------------------------------------------------------------


def all_staff() -> list[Staff]:
    return list(db.session.scalars(select(Staff).order_by(Staff.revoked_at.is_not(None), Staff.name, Staff.id)))


def facilitators() -> list[Staff]:
    return list(
        db.session.scalars(
            select(Staff).where(Staff.role == Role.FACILITATOR, Staff.revoked_at.is_(None)).order_by(Staff.name)
        )
    )
