"""A person's statement of services in the console, and the diagnosis codes it carries.

The codes are staff-only and shown on the statement alone: they are entered on this page, not on
the enrolment's page, so that no other screen shows them.
"""

from functools import partial

from flask import flash, g, redirect, url_for
from flask_babel import gettext as _

from ..attendance import statements
from ..attendance.schemas import DiagnosisCodesIn
from ..attendance.statement_pdf import pdf_response
from ..foundation.auth import DESK
from ..foundation.errors import Invalid
from .blueprint import bp
from .forms import parse
from .screens import answer_form, render
from .session import desk_page


def statement_page(enrolment_id, *, errors=None, values=None, problem=None, status=200):
    found = statements.statement(enrolment_id)
    return render(
        "desk/statement.html",
        status,
        s=found,
        codes="\n".join(found.diagnosis_codes),
        errors=errors or {},
        values=values or {},
        problem=problem,
    )


@bp.get("/enrolments/<enrolment_id>/statement")
@desk_page(*DESK)
def statement(enrolment_id):
    """The statement of services, with the diagnosis codes it carries (staff-only)."""
    return statement_page(enrolment_id)


@bp.get("/enrolments/<enrolment_id>/statement/print")
@desk_page(*DESK)
def statement_print(enrolment_id):
    """The printable statement (the document the person and the API get), to print from the browser."""
    pdf_url = url_for("desk.statement_pdf", enrolment_id=enrolment_id)
    return render("attendance/statement.html", s=statements.statement(enrolment_id), pdf_url=pdf_url)


@bp.get("/enrolments/<enrolment_id>/statement.pdf")
@desk_page(*DESK)
def statement_pdf(enrolment_id):
    """The statement as a PDF, diagnosis codes and all (private, as every console page)."""
    return pdf_response(statements.statement(enrolment_id))


@bp.post("/enrolments/<enrolment_id>/statement")
@desk_page(*DESK)
def statement_codes(enrolment_id):
    def act():
        data = parse(DiagnosisCodesIn, {"diagnosis_codes": "lines"})
        statements.set_diagnosis_codes(enrolment_id, data["diagnosis_codes"], g.desk_member)
        flash(_("The diagnosis codes are saved; they show on this statement only."), "success")
        return redirect(url_for("desk.statement", enrolment_id=enrolment_id), 303)

    return answer_form(partial(statement_page, enrolment_id), act, refusals=(Invalid,))
