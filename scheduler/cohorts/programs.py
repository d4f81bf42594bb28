"""Use cases for programs: what a clinic offers (a cohort copies a program's defaults when made)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..foundation.database import Page, paginate, write_transaction
from ..foundation.errors import Invalid, NotFound
from ..foundation.extensions import db
from .models import Program


def create_program(data: dict) -> Program:
    """Create a program (what the clinic offers)."""
    _check_titles(data)
    _check_price_levels(data.get("price_levels"))
    with write_transaction():
        program = Program(**data)
        db.session.add(program)
    return program


def update_program(program_id: str, data: dict) -> Program:
    """Change a program's fields; existing cohorts keep their own copies."""
    _check_price_levels(data.get("price_levels"))
    with write_transaction():
        program = get_program(program_id)
        _check_titles(
            {
                "session_titles": data.get("session_titles", program.session_titles),
                "default_session_count": data.get("default_session_count", program.default_session_count),
            }
        )
        for key, value in data.items():
            setattr(program, key, value)
    return program


def _check_price_levels(levels: list | None) -> None:
    codes = [level["code"] for level in levels or []]
    if len(set(codes)) != len(codes):
        raise Invalid.field("price_levels", "Each price level needs its own code.")


def _check_titles(data: dict) -> None:
    titles = data.get("session_titles") or []
    count = data.get("default_session_count", 12)
    if len(titles) > count:
        raise Invalid.field(
            "session_titles", f"{len(titles)} titles given for {count} sessions; give at most one per session."
        )


def get_program(program_id: str) -> Program:
    program = db.session.get(Program, program_id)
    if program is None:
        raise NotFound(_l("No such program."))
    return program


def list_programs(page: int, page_size: int) -> Page:
    return paginate(select(Program).order_by(Program.created_at, Program.id), page, page_size)
