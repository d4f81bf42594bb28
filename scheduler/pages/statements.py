"""The person's documents, from their page: the statement of services (superbill), printable or as
a PDF, and the receipt of each payment."""

from flask import Response, render_template, url_for

from ..attendance import statements
from ..attendance.statement_pdf import pdf_response
from ..enrolment import paying
from ..foundation.errors import NotFound
from ..foundation.security import private
from .views import PARTICIPANT_PAGE, _require_participant, bp, page


@bp.get("/me/<enrolment_id>/statement")
@page(PARTICIPANT_PAGE)
def statement(enrolment_id):
    """Every attended date of service with its CPT code, for an insurer (print it, or download the PDF)."""
    _require_participant(enrolment_id)
    found = statements.statement(enrolment_id)
    pdf_url = url_for("pages.statement_pdf", enrolment_id=enrolment_id)
    return private(
        Response(render_template("attendance/statement.html", s=found, pdf_url=pdf_url), mimetype="text/html")
    )


@bp.get("/me/<enrolment_id>/statement.pdf")
@page(PARTICIPANT_PAGE)
def statement_pdf(enrolment_id):
    """The same statement as a PDF, to keep or send to an insurer."""
    _require_participant(enrolment_id)
    return private(pdf_response(statements.statement(enrolment_id)))


@bp.get("/me/<enrolment_id>/receipts/<payment_id>")
@page(PARTICIPANT_PAGE)
def receipt(enrolment_id, payment_id):
    """The receipt of one of the person's payments (printable; names no program)."""
    _require_participant(enrolment_id)
    if paying.payment_owner(payment_id) != enrolment_id:
        raise NotFound("No such receipt.")
    return private(Response(paying.receipt(payment_id), mimetype="text/html"))
