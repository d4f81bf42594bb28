"""Today (the console's home) and the search for people across every cohort."""

from flask import g, request

from ..enrolment import refunding
from ..foundation import clock
from ..foundation.auth import DESK
from . import queries
from .blueprint import bp
from .screens import page_number, render
from .session import desk_page


@bp.get("/")
@desk_page()
def today():
    """Cohorts open or running, with seats, waitlists, holds and offers and their deadlines."""
    status = request.args.get("status", queries.CURRENT)
    if status not in queries.STATUS_FILTERS:
        status = queries.CURRENT
    program_id = request.args.get("program") or None
    view = queries.today(g.desk_member, program_id, status, page_number())
    owed = None  # refunds the desk owes (desk/refunds.py lists them); facilitators never see refunds
    if g.desk_member.role in DESK:
        owed = refunding.refunds({"status": "owed_by_front_desk", "page": 1, "page_size": 1})
    return render(
        "desk/today.html",
        view=view,
        refunds_owed=owed,
        chosen=status,
        program_id=program_id,
        statuses=queries.status_filters(),
        now=clock.now(),
        next_session=queries.next_session,
    )


@bp.get("/people")
@desk_page(*DESK)
def people():
    """People across every cohort whose name or email contains the search text."""
    text = request.args.get("q", "").strip().replace("\x00", "")[:200]
    found = queries.search_people(text) if text else []
    return render("desk/people.html", q=text, found=found, limit=queries.SEARCH_LIMIT)
