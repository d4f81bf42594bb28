"""HTTP views for attendance: session sheets, the cohort grid, flags, join links, the letter.

`/join/<token>` is a participant's link, not an API call: it answers a redirect or a small
calm page (never JSON), and never lets a search engine or a browser cache keep it.
"""

from flask import Blueprint, Response, current_app, render_template, request, url_for

from ..foundation import i18n
from ..foundation.auth import DESK, FACILITATOR, TOKEN_IN_URL, current_staff, participant_or_staff, staff
from ..foundation.http import endpoint
from ..foundation.links import join_url
from ..foundation.openapi import PROBLEM
from . import flags, join_links, letters, services, statements
from .schemas import (
    AttendanceIn,
    DiagnosisCodesIn,
    FlagClearIn,
    JoinLinkOut,
    PersonAttendanceOut,
    SessionAttendanceOut,
    StatementQuery,
)
from .statement_pdf import PDF, pdf_response

bp = Blueprint("attendance", __name__, url_prefix="/api/v1")
join_bp = Blueprint("join", __name__, template_folder="templates")

HTML = "text/html"
_PAGE = {HTML: {"schema": {"type": "string"}}}


@bp.put("/sessions/<session_id>/attendance")
@endpoint(staff(*DESK, FACILITATOR), body=AttendanceIn, response=SessionAttendanceOut)
def record_session(session_id, data):
    """Record a started session's attendance (present, late, absent, excused) for the people given."""
    return services.record_session(session_id, data["records"], current_staff())


@bp.get("/sessions/<session_id>/attendance")
@endpoint(staff(*DESK, FACILITATOR), response=SessionAttendanceOut)
def session_attendance(session_id):
    """A session's attendance sheet: every confirmed participant and their record."""
    return services.session_attendance(session_id, current_staff())


@bp.get("/cohorts/<cohort_id>/attendance")
@endpoint(staff(*DESK, FACILITATOR), response=PersonAttendanceOut, many=True)
def cohort_attendance(cohort_id):
    """The cohort's attendance grid: per confirmed participant, records, run of misses and flag."""
    return services.cohort_attendance(cohort_id, current_staff())


@bp.post("/enrolments/<enrolment_id>/attendance-flag/clear")
@endpoint(staff(*DESK), body=FlagClearIn, response=PersonAttendanceOut)
def clear_attendance_flag(enrolment_id, data):
    """Clear an attendance flag once the person was followed up, with a note (audited)."""
    return flags.clear_flag(enrolment_id, data["note"], current_staff())


@bp.post("/enrolments/<enrolment_id>/join/rotate")
@endpoint(participant_or_staff(), response=JoinLinkOut)
def rotate_join_link(enrolment_id):
    """Replace a confirmed enrolment's personal join link (the old one answers 404 from now on)."""
    enrolment = join_links.rotate_join_link(enrolment_id, current_staff())
    return {"enrolment_id": enrolment.id, "join_url": join_url(enrolment)}


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token must not travel on to the video service
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/enrolments/<enrolment_id>/attendance-letter")
@endpoint(participant_or_staff(), status=200)
def attendance_letter(enrolment_id):
    """A printable attendance letter listing the dates attended (text/html; print or save as PDF)."""
    letter = letters.attendance_letter(enrolment_id)
    page = render_template("attendance/letter.html", letter=letter, clinic=current_app.config["CLINIC_NAME"])
    return _private(Response(page, mimetype=HTML))


attendance_letter.endpoint_spec.extra["content"] = _PAGE


@bp.get("/enrolments/<enrolment_id>/statement")
@endpoint(participant_or_staff(), query=StatementQuery, status=200)
def statement(enrolment_id, query):
    """A statement of services (superbill) for insurers: each attended date of service with its CPT
    code, units, fee and clinician; payments; the clinic's ids; diagnosis codes staff entered
    (text/html to print, or application/pdf: `Accept: application/pdf` or `?format=pdf`)."""
    found = statements.statement(enrolment_id, query.get("from"), query.get("to"))
    if _statement_format(query) == "pdf":
        response = pdf_response(found)
    else:
        kept = {name: request.args[name] for name in ("from", "to", "token") if name in request.args}
        pdf_url = url_for("attendance.statement", enrolment_id=enrolment_id, **kept, format="pdf")
        response = Response(render_template("attendance/statement.html", s=found, pdf_url=pdf_url), mimetype=HTML)
    response.vary.add("Accept")
    return _private(response)


def _statement_format(query: dict) -> str:
    """?format= when given; else PDF only when Accept prefers it to HTML by quality (HTML for `*/*`,
    for no Accept at all, and for anything else)."""
    if query.get("format"):
        return query["format"]
    return "pdf" if request.accept_mimetypes.best_match([HTML, PDF]) == PDF else "html"


statement.endpoint_spec.extra["content"] = {**_PAGE, PDF: {"schema": {"type": "string", "format": "binary"}}}


@bp.put("/enrolments/<enrolment_id>/diagnosis-codes")
@endpoint(staff(*DESK), body=DiagnosisCodesIn, status=200)
def set_diagnosis_codes(enrolment_id, data):
    """ICD-10 codes for the statement of services: staff-only, shown on that statement alone."""
    return {"diagnosis_codes": statements.set_diagnosis_codes(enrolment_id, data["diagnosis_codes"], current_staff())}


attendance_letter.endpoint_spec.extra["responses"] = {
    "409": {
        "description": "No attended session to list yet",
        "content": {"application/problem+json": {"schema": PROBLEM}},
    }
}

_STATUS = {"open": 302, "gone": 410, "unknown": 404}

# Mail link scanners and chat previews fetch a link before (or instead of) the person: API.md
# "Attendance and join links". Lower-case substrings of the User-Agent, matched case-insensitively.
LINK_SCANNER_AGENTS = (
    "safelinks",
    "safe links",
    "bingpreview",
    "proofpoint",
    "mimecast",
    "barracuda",
    "slackbot",
    "slack-imgproxy",
    "facebookexternalhit",
    "twitterbot",
    "whatsapp",
    "googlebot",
    "discordbot",
)


def is_link_scanner(user_agent: str | None) -> bool:
    """A mail scanner or chat preview fetching the link, not the person clicking it."""
    agent = (user_agent or "").lower()
    return any(name in agent for name in LINK_SCANNER_AGENTS)


@join_bp.get("/join/<join_token>")
@endpoint(TOKEN_IN_URL, status=302)
def join(join_token):
    """A participant's join link: 302 to the meeting during a session's window, else a page saying when."""
    # HEAD (Flask routes it to this view) and a scanner's GET get the same answer but record nothing.
    person = request.method == "GET" and not is_link_scanner(request.headers.get("User-Agent"))
    outcome = join_links.open_join_link(join_token, record_join=person)
    if outcome.state == "open":
        response = Response(status=302)
        response.headers["Location"] = outcome.meeting_url
        return _private(response)
    i18n.use_locale(outcome.locale)  # the person's language; an unknown link follows the browser
    page = render_template("attendance/join.html", outcome=outcome)
    return _private(Response(page, status=_STATUS.get(outcome.state, 200), mimetype=HTML))


join.endpoint_spec.extra["responses"] = {
    "302": {
        "description": "The session's window is open: to the meeting",
        "headers": {"Location": {"schema": {"type": "string"}}},
    },
    "200": {"description": "Not open now: a page saying when it opens", "content": _PAGE},
    "404": {"description": "No such join link (it may have been replaced)", "content": _PAGE},
    "410": {"description": "The enrolment left the group (withdrawn, cancelled or transferred)", "content": _PAGE},
}
