"""HTTP views for programs, cohorts and sessions: parse, call one service, dump."""

from flask import Blueprint

from ..foundation.auth import DESK, FACILITATOR, PUBLIC, current_staff, staff
from ..foundation.http import PageQuery, endpoint, json_page_response
from . import agreements, programs, services
from .schemas import (
    AgreementCreate,
    AgreementOut,
    CohortCreate,
    CohortPatch,
    CohortPublicOut,
    CohortQuery,
    CohortStaffOut,
    ProgramCreate,
    ProgramOut,
    ProgramPatch,
    SessionOut,
    SessionPatch,
)

bp = Blueprint("cohorts", __name__, url_prefix="/api/v1")


@bp.post("/programs")
@endpoint(staff(*DESK), body=ProgramCreate, response=ProgramOut, status=201)
def create_program(data):
    """Create a program."""
    return programs.create_program(data)


@bp.get("/programs")
@endpoint(staff(*DESK), query=PageQuery, response=ProgramOut, many=True)
def list_programs(query):
    """List programs."""
    return programs.list_programs(query["page"], query["page_size"])


@bp.get("/programs/<program_id>")
@endpoint(staff(*DESK), response=ProgramOut)
def get_program(program_id):
    """One program."""
    return programs.get_program(program_id)


@bp.patch("/programs/<program_id>")
@endpoint(staff(*DESK), body=ProgramPatch, response=ProgramOut)
def update_program(program_id, data):
    """Change a program."""
    return programs.update_program(program_id, data)


@bp.post("/programs/<program_id>/agreements")
@endpoint(staff(*DESK), body=AgreementCreate, response=AgreementOut, status=201)
def add_agreement(program_id, data):
    """Add a version of one of the program's agreements (the same title again supersedes it)."""
    return agreements.add_agreement(program_id, data, current_staff())


@bp.get("/programs/<program_id>/agreements")
@endpoint(staff(*DESK, FACILITATOR), response=AgreementOut, many=True)
def list_agreements(program_id):
    """The program's current agreements."""
    return agreements.current_agreements(program_id)


@bp.post("/cohorts")
@endpoint(staff(*DESK), body=CohortCreate, response=CohortStaffOut, status=201)
def create_cohort(data):
    """Create a cohort and its weekly sessions."""
    return services.create_cohort(data)


@bp.get("/cohorts")
@endpoint(PUBLIC, query=CohortQuery, response=CohortPublicOut, staff_response=CohortStaffOut, many=True)
def list_cohorts(query):
    """Open cohorts (public), or any cohort by status and program (staff)."""
    member = current_staff()
    schema = CohortStaffOut if member else CohortPublicOut
    render = lambda views: schema(many=True).dump(views)  # noqa: E731  (built only when a cohort is rendered)
    return json_page_response(services.list_cohorts_rendered(member, query, schema.__name__, render))


@bp.get("/cohorts/<cohort_id>")
@endpoint(PUBLIC, response=CohortPublicOut, staff_response=CohortStaffOut)
def get_cohort(cohort_id):
    """One cohort: public shape, or with settings and link for staff."""
    return services.get_cohort(cohort_id, current_staff())


@bp.patch("/cohorts/<cohort_id>")
@endpoint(staff(*DESK), body=CohortPatch, response=CohortStaffOut)
def update_cohort(cohort_id, data):
    """Change a cohort's settings or status."""
    return services.update_cohort(cohort_id, data, current_staff())


@bp.patch("/sessions/<session_id>")
@endpoint(staff(*DESK), body=SessionPatch, response=SessionOut)
def update_session(session_id, data):
    """Reschedule, retitle or cancel a session."""
    return services.update_session(session_id, data)
