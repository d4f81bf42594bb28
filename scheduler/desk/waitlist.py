"""A cohort's waitlist, from its page: move a waiting person, or offer them a seat out of order.

The same services as the JSON API's staff actions (enrolment.staff_actions); a refusal
comes back on the page the button was on, by its form.
"""

from functools import partial

from flask import g, request
from flask_babel import gettext as _

from ..enrolment import self_service, staff_actions
from ..enrolment.schemas import MoveIn
from ..foundation.auth import DESK
from ..foundation.errors import Conflict, Invalid
from . import presenters
from .blueprint import bp
from .cohorts import back_to_cohort, cohort_page
from .enrolments import back_to_enrolment, enrolment_page
from .forms import parse
from .screens import answer_form
from .session import desk_page


def _cohort_of(enrolment_id: str) -> str:
    return self_service.get_enrolment(enrolment_id).cohort_id


@bp.post("/enrolments/<enrolment_id>/move")
@desk_page(*DESK)
def move(enrolment_id):
    """Put a waiting person at another position (Move up, Move down, or a number)."""
    cohort_id = _cohort_of(enrolment_id)
    focus = request.form.get("focus", "")
    focus = focus if focus in ("up", "down", "position") else "position"

    def act():
        data = parse(MoveIn, {"position": "int"}, {})
        moved = staff_actions.move(enrolment_id, data["position"], g.desk_member)
        message = _(
            "%(name)s is now number %(position)s in the waitlist.", name=moved.name, position=moved.waitlist_position
        )
        return back_to_cohort(cohort_id, message, f"{focus}-{enrolment_id}")

    page = partial(cohort_page, cohort_id, form=f"move-{enrolment_id}")
    return answer_form(page, act, refusals=(Conflict, Invalid))


@bp.post("/enrolments/<enrolment_id>/offer")
@desk_page(*DESK)
def offer(enrolment_id):
    """Offer a seat to this waiting person now, out of order."""
    cohort_id = _cohort_of(enrolment_id)
    back = request.form.get("back") == "enrolment"
    page = (
        partial(enrolment_page, enrolment_id, form="offer")
        if back
        else partial(cohort_page, cohort_id, form=f"move-{enrolment_id}")
    )

    def act():
        offered = staff_actions.offer(enrolment_id, g.desk_member)
        until = presenters.when(offered.offer_expires_at, offered.cohort.timezone)
        message = _(
            "A seat is offered to %(name)s until %(until)s; they are told by email.", name=offered.name, until=until
        )
        if back:
            return back_to_enrolment(enrolment_id, message)
        return back_to_cohort(cohort_id, message, anchor="waitlist-heading")

    return answer_form(page, act, refusals=(Conflict,), values={})
