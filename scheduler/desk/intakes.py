"""The intake queue (admission): requests for a place by program, outcomes, offers, the order.

/desk/intakes lists each intake program's queue (requested, scheduled, approved) with
**Move up**, **Move down** and, for approved people, **Offer a seat**; each request's own page
(/desk/intakes/<id>) has **Record outcome** and its history; the assessor booked for a person
opens that page too. The same services as the JSON API.
"""

from functools import partial

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from ..admission import booking, queue, records, services
from ..admission.models import OPEN
from ..admission.schemas import BookIn, IntakeMoveIn, IntakeOfferIn, OutcomeIn
from ..appointments.models import Appointment, AppointmentStatus
from ..cohorts.models import Cohort, CohortStatus, Program
from ..enrolment.models import Enrolment
from ..enrolment.seats import seat_counts
from ..foundation import clock
from ..foundation.auth import DESK
from ..foundation.errors import Conflict, Forbidden, Invalid, NotFound
from ..foundation.extensions import db
from . import presenters
from .blueprint import bp
from .forms import parse
from .screens import answer_form, render
from .session import desk_page

OUTCOMES = (("approved", _l("Approved: offer a place")), ("not_suitable", _l("Not suitable")))


def _open_cohorts(program_ids) -> dict[str, list[dict]]:
    """Each program's cohorts whose seats can be offered (open, not started), with their free seats."""
    at = clock.now()
    cohorts = db.session.scalars(
        select(Cohort)
        .where(Cohort.program_id.in_(list(program_ids)), Cohort.status == CohortStatus.OPEN)
        .order_by(Cohort.first_starts_at, Cohort.id)
    ).all()
    cohorts = [c for c in cohorts if c.display_status_by_bounds(at) == CohortStatus.OPEN]
    counts = seat_counts(cohorts, at) if cohorts else {}
    found: dict[str, list[dict]] = {}
    for cohort in cohorts:
        free = counts[cohort.id].available
        found.setdefault(cohort.program_id, []).append(
            {
                "id": cohort.id,
                "name": cohort.name,
                "free": free,
                "label": ngettext("%(cohort)s (%(num)s free)", "%(cohort)s (%(num)s free)", free, cohort=cohort.name),
            }
        )
    return found


def _zone(program_id: str) -> str:
    """The zone the desk reads a program's queue in: its latest cohort's (the clinic's own)."""
    zone = db.session.scalar(
        select(Cohort.timezone).where(Cohort.program_id == program_id).order_by(Cohort.created_at.desc()).limit(1)
    )
    return zone or "UTC"


def _offers(intakes) -> dict[str, Enrolment]:
    ids = [i.offer_enrolment_id for i in intakes if i.offer_enrolment_id]
    if not ids:
        return {}
    return {e.id: e for e in db.session.scalars(select(Enrolment).where(Enrolment.id.in_(ids)))}


def queue_page(*, form=None, errors=None, values=None, problem=None, status=200):
    programs = db.session.scalars(select(Program).where(Program.admission == "intake").order_by(Program.name)).all()
    intakes = services.list_intakes({})
    offers = _offers(intakes)
    cohorts = _open_cohorts([p.id for p in programs])
    sections = []
    for program in programs:
        mine = [i for i in intakes if i.program_id == program.id]
        sections.append(
            {
                "program": program,
                "queue": [i for i in mine if i.status in OPEN],
                "closed": [i for i in mine if i.status not in OPEN][-20:],
                "cohorts": cohorts.get(program.id, []),
                "zone": _zone(program.id),
            }
        )
    return render(
        "desk/intakes.html",
        status,
        sections=sections,
        offers=offers,
        form=form,
        errors=errors or {},
        values=values or {},
        problem=problem,
        focus=request.args.get("focus", ""),
    )


def _assessed_by(intake_id: str, member) -> bool:
    """Whether this member is the assessor booked for the intake (they may open it and record the outcome)."""
    return bool(
        member.assessor
        and db.session.scalar(
            select(Appointment.id).where(
                Appointment.intake_id == intake_id,
                Appointment.staff_id == member.id,
                Appointment.status == AppointmentStatus.BOOKED,
            )
        )
    )


def intake_page(intake_id, *, form=None, errors=None, values=None, problem=None, status=200):
    found = records.get_intake(intake_id)
    if g.desk_member.role not in DESK and not _assessed_by(intake_id, g.desk_member):
        raise Forbidden(_("Only the front desk, an admin or this person's assessor opens this request."))
    offers = _offers([found])
    history = records.audit_of([found.id]).get(found.id, [])
    zone = str(booking.zone_of(found.intake))
    free = booking.slots(intake_id)[:60] if found.status in ("requested", "scheduled") else []
    return render(
        "desk/intake.html",
        status,
        i=found,
        slot_options=[
            (f"{s['starts_at']:%Y-%m-%dT%H:%M:%SZ}", presenters.when(s["starts_at"], str(zone))) for s in free
        ],
        offer=offers.get(found.offer_enrolment_id),
        history=history,
        cohort_options=[(c["id"], c["label"]) for c in _open_cohorts([found.program_id]).get(found.program_id, [])],
        zone=zone,
        outcomes=OUTCOMES,
        form=form,
        errors=errors or {},
        values=values or {},
        problem=problem,
    )


def _back(message: str, focus: str | None = None, intake_id: str | None = None):
    flash(message, "success")
    if intake_id is not None:
        return redirect(url_for("desk.intake", intake_id=intake_id), 303)
    return redirect(url_for("desk.intakes", focus=focus, _anchor=f"intake-{focus}" if focus else None), 303)


@bp.get("/intakes")
@desk_page(*DESK)
def intakes():
    """Each intake program's queue, in order, with what to do next for each person."""
    return queue_page()


@bp.get("/intakes/<intake_id>")
@desk_page()
def intake(intake_id):
    """One request for a place: the person, where it stands, Record outcome, its history."""
    return intake_page(intake_id)


@bp.post("/intakes/<intake_id>/outcome")
@desk_page()
def intake_outcome(intake_id):
    def act():
        data = parse(
            OutcomeIn,
            {"outcome": "text", "cohort_id": "text", "note": "text", "message": "text"},
            {"outcome": _("Choose the outcome: approved or not suitable.")},
        )
        done = services.record_outcome(intake_id, data, g.desk_member)
        outcome = presenters.label(presenters.INTAKE_STATUS, done.status).lower()
        message = _(
            "Outcome recorded for %(name)s: %(outcome)s. They are told by email.", name=done.name, outcome=outcome
        )
        return _back(message, intake_id=intake_id)

    return answer_form(partial(intake_page, intake_id, form="outcome"), act, refusals=(Conflict, Invalid))


@bp.post("/intakes/<intake_id>/move")
@desk_page(*DESK)
def intake_move(intake_id):
    """Move up, Move down: a new place in the program's queue."""
    focus = request.form.get("focus", "")
    focus = focus if focus in ("up", "down") else "up"

    def act():
        data = parse(IntakeMoveIn, {"position": "int"}, {})
        moved = services.move(intake_id, data["position"], g.desk_member)
        message = _("%(name)s is now number %(position)s in the queue.", name=moved.name, position=moved.queue_position)
        return _back(message, f"{focus}-{intake_id}")

    return answer_form(partial(queue_page, form=f"row-{intake_id}"), act, refusals=(Conflict, Invalid, NotFound))


@bp.post("/intakes/<intake_id>/offer")
@desk_page(*DESK)
def intake_offer(intake_id):
    """Offer a seat of a cohort to an approved person now, out of turn."""
    back_here = request.form.get("back") == "intake"
    page = partial(intake_page, intake_id, form="offer") if back_here else partial(queue_page, form=f"row-{intake_id}")

    def act():
        data = parse(IntakeOfferIn, {"cohort_id": "text"}, {"cohort_id": _("Choose the cohort whose seat to offer.")})
        offered = queue.offer(intake_id, data["cohort_id"], g.desk_member)
        message = _("A seat is offered to %(name)s; they are told by email.", name=offered.name)
        return _back(message, intake_id=intake_id) if back_here else _back(message, f"offer-{intake_id}")

    return answer_form(page, act, refusals=(Conflict, Invalid), field="cohort_id")


@bp.post("/intakes/<intake_id>/appointment")
@desk_page(*DESK)
def intake_book(intake_id):
    """Book (or move) the person's assessment for them, at a free time."""

    def act():
        data = parse(BookIn, {"starts_at": "text"}, {"starts_at": _("Choose one of the free times.")})
        done = booking.book(intake_id, data["starts_at"], g.desk_member)
        when = presenters.when(done.appointment.starts_at, str(booking.zone_of(done.intake)))
        message = _("The assessment is booked for %(when)s; %(name)s is told by email.", when=when, name=done.name)
        return _back(message, intake_id=intake_id)

    return answer_form(
        partial(intake_page, intake_id, form="book"), act, refusals=(Conflict, Invalid), field="starts_at"
    )


@bp.post("/intakes/<intake_id>/appointment/cancel")
@desk_page(*DESK)
def intake_cancel_booking(intake_id):
    def act():
        done = booking.cancel(intake_id, g.desk_member)
        return _back(_("The assessment is cancelled; %(name)s is told by email.", name=done.name), intake_id=intake_id)

    return answer_form(partial(intake_page, intake_id, form="book"), act, refusals=(Conflict,))
