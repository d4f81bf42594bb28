"""HTTP views for discount codes (staff): parse, call one service, dump."""

from flask import Blueprint

from ..foundation.auth import DESK, current_staff, staff
from ..foundation.http import endpoint
from . import discounts
from .schemas import DiscountCodeCreate, DiscountCodeOut, DiscountCodePatch, DiscountCodeQuery

bp = Blueprint("discounts", __name__, url_prefix="/api/v1")


@bp.post("/discount-codes")
@endpoint(staff(*DESK), body=DiscountCodeCreate, response=DiscountCodeOut, status=201)
def create_code(data):
    """Create a discount code: percent_off or amount_off, optionally for a program or cohort, limited or dated."""
    return discounts.create_code(data, current_staff())


@bp.get("/discount-codes")
@endpoint(staff(*DESK), query=DiscountCodeQuery, response=DiscountCodeOut, many=True)
def list_codes(query):
    """Discount codes, newest first, with how many uses each has taken."""
    return discounts.list_codes(query)


@bp.patch("/discount-codes/<code_id>")
@endpoint(staff(*DESK), body=DiscountCodePatch, response=DiscountCodeOut)
def update_code(code_id, data):
    """Disable a code ({"active": false}), or change its limit or expiry."""
    return discounts.update_code(code_id, data)
