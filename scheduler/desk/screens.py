"""What the console's screens share: rendering a page, and answering a form.

A POST reads its form through the API's own schema (forms.parse), calls one service,
and answers 303 back to the page with a one-line notice; when the form or the service
refuses, `answer_form` shows the same page again with the reason beside the field
(422) or above the form (409, 503), never JSON or a stack trace.
"""

from collections.abc import Callable, Mapping

from flask import Response, render_template, request
from flask_babel import lazy_gettext as _l

from ..foundation.errors import Conflict, DomainError, Invalid, Unavailable
from ..pages.field_errors import field_messages
from .forms import FormErrors

REFUSALS = (Conflict, Invalid, Unavailable)  # what a service's refusal of a console form usually is
UNAVAILABLE = _l("The payment provider or the database did not answer; nothing changed. Try again in a minute.")


def render(template: str, status: int = 200, **context) -> Response:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


def problem_of(exc: DomainError, field: str | None = None) -> tuple[dict, str | None, int]:
    """A service's refusal as (errors beside fields, message above the form, status).

    `field`: the field a refusal that names none is shown beside (else it goes above the form).
    """
    if isinstance(exc, Invalid) and exc.errors:
        return field_messages(exc.said_errors()), None, 422  # as the console's language says them
    if isinstance(exc, Invalid):
        return {field or "_form": [exc.said()]}, None, 422
    if isinstance(exc, Unavailable):
        return {}, str(UNAVAILABLE), 503
    if field:
        return {field: [exc.said()]}, None, exc.status
    return {}, exc.said(), exc.status


def answer_form(
    page: Callable[..., Response],
    act: Callable[[], Response],
    *,
    refusals: tuple[type[DomainError], ...] = REFUSALS,
    values: Mapping | None = None,
    field: str | None = None,
) -> Response:
    """Run `act` (read the form, call one service, answer); if it is refused, show `page` again with why.

    `page(errors=, values=, problem=, status=)` renders the form's page (a functools.partial naming
    the page and the form). The form's own mistakes (FormErrors) come back beside their fields with
    what was typed (422); a service's refusal, one of `refusals`, as `problem_of` words it, with
    `values` (default: the form as posted) and `field` (where a refusal naming no field is shown).
    """
    try:
        return act()
    except FormErrors as exc:
        return page(errors=exc.errors, values=exc.values, status=422)
    except refusals as exc:
        errors, problem, status = problem_of(exc, field)
        shown = request.form if values is None else values
        return page(errors=errors, values=shown, problem=problem, status=status)
