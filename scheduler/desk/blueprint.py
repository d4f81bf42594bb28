"""The console's one blueprint, `desk`, and what every console request shares.

Each screen module (listed in desk/__init__.py) adds its views to `bp`; the hooks here
refresh the session cookie, keep every page private and give templates the member.
"""

from flask import Blueprint, Response, current_app, g, request

from ..foundation.auth import ADMIN, DESK
from ..foundation.security import private
from . import presenters
from .session import forget, set_cookie

bp = Blueprint("desk", __name__, url_prefix="/desk")


@bp.before_request
def _nobody_yet() -> None:
    forget()


@bp.after_request
def _private(response: Response) -> Response:
    # Every console page shows people or holds a form: never stored, never sent on as a Referer.
    if g.get("desk_secret") and g.get("desk_member") is not None and request.endpoint != "desk.logout":
        set_cookie(response, g.desk_secret)  # the idle clock starts again with each request
    return private(response)


@bp.context_processor
def _context():
    member = g.get("desk_member")
    return {
        "fmt": presenters,
        "me": member,
        "is_admin": member is not None and member.role == ADMIN,
        "is_desk": member is not None and member.role in DESK,
        "clinic_zone": current_app.config["CLINIC_TIMEZONE"],
    }
