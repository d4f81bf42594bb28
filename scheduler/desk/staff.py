"""Admin: staff accounts (create, change role, revoke) and the staff audit log."""

from functools import partial

from flask import flash, g, redirect, url_for
from flask_babel import gettext as _

from ..foundation.auth import ADMIN
from ..foundation.errors import Conflict, Invalid
from ..staff import services as staff_services
from ..staff.schemas import RoleChange, StaffCreate
from . import presenters, queries
from .blueprint import bp
from .forms import parse
from .screens import answer_form, render
from .session import desk_page


def _staff_page(*, form=None, errors=None, values=None, problem=None, status=200):
    log = staff_services.staff_audit(1, 50).items
    return render(
        "desk/staff.html",
        status,
        members=queries.all_staff(),
        log=log,
        names={m.id: m.name for m in queries.all_staff()},
        roles=presenters.ROLES,
        form=form,
        errors=errors or {},
        values=values or {},
        problem=problem,
    )


def _back_to_staff(message: str):
    flash(message, "success")
    return redirect(url_for("desk.staff"), 303)


@bp.get("/staff")
@desk_page(ADMIN)
def staff():
    """Staff accounts (create, change role, revoke) and the staff audit log."""
    return _staff_page()


@bp.post("/staff")
@desk_page(ADMIN)
def create_staff():
    """Create a staff account; they sign in with a link sent to their email."""

    def act():
        data = parse(StaffCreate, {"name": "text", "email": "text", "role": "text"})
        member = staff_services.create_staff(data["email"], data["name"], data["role"], g.desk_member)
        login = url_for("desk.login", _external=False)
        names = {"name": member.name, "url": login, "email": member.email}
        return _back_to_staff(_("%(name)s can now sign in at %(url)s with %(email)s.", **names))

    return answer_form(partial(_staff_page, form="create"), act, refusals=(Conflict,), field="email")


@bp.post("/staff/<staff_id>/role")
@desk_page(ADMIN)
def change_role(staff_id):
    """Give a staff member another role."""

    def act():
        data = parse(RoleChange, {"role": "text"})
        member = staff_services.change_role(staff_id, data["role"], g.desk_member)
        role = presenters.label(presenters.ROLES, member.role)
        return _back_to_staff(_("%(name)s is now %(role)s.", name=member.name, role=role))

    return answer_form(partial(_staff_page, form=f"role-{staff_id}"), act, refusals=(Conflict, Invalid), values={})


@bp.post("/staff/<staff_id>/revoke")
@desk_page(ADMIN)
def revoke_staff(staff_id):
    """End a staff member's access: their sessions, tokens and links stop working."""

    def act():
        member = staff_services.revoke_staff(staff_id, g.desk_member)
        return _back_to_staff(_("%(name)s's access is revoked.", name=member.name))

    return answer_form(partial(_staff_page, form=f"role-{staff_id}"), act, refusals=(Conflict,), values={})
