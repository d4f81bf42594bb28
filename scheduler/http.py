"""The edge of every JSON endpoint: credentials, body and query parsing, dumping, paging.

A view is a plain function decorated with @endpoint(...). The declaration is also
what /openapi.json and the route-by-route access test read.
"""

import functools
from dataclasses import dataclass, field
from typing import Any

from flask import Response, g, json, request
from marshmallow import Schema, fields, validate

from .auth import Access, authenticate
from .database import Page
from .errors import BadRequest, DomainError, NotFound


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


@dataclass
class EndpointSpec:
    access: Access
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    staff_response: type[Schema] | None = None
    status: int = 200
    many: bool = False
    summary: str = ""
    extra: dict = field(default_factory=dict)


class UnsupportedMediaType(DomainError):
    status, type, title = 415, "unsupported-media-type", "Unsupported media type"


def read_json_object() -> dict:
    """The request body as a JSON object; {} when there is none."""
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as JSON with 'Content-Type: application/json'.")
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise BadRequest(f"The body must be a JSON object, not {type(payload).__name__}.")
    if _has_nul(payload):
        raise BadRequest(_NUL_MESSAGE)
    return payload


_NUL_MESSAGE = "Text may not contain the NUL character (\\u0000)."


def _has_nul(value) -> bool:
    """PostgreSQL cannot store NUL in text: refuse it at the edge rather than fail later."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def read_query(schema: type[Schema]) -> dict:
    args = {k: v for k, v in request.args.items() if k != "token"}
    if _has_nul(args):
        raise BadRequest(_NUL_MESSAGE)
    return schema().load(args)


def json_response(payload: Any, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(payload), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def endpoint(
    access: Access, *, body=None, query=None, response=None, staff_response=None, status=200, many=False, summary=""
):
    """Declare who may call a view and what it takes and returns.

    The view receives `data` (the loaded body) and `query` (the loaded query string)
    as keyword arguments when declared, and returns a model object, a list, a Page,
    or a ready Response. `staff_response`, when given, is the shape shown to staff.
    """
    spec = EndpointSpec(access, body, query, response, staff_response, status, many, summary)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(**view_args):
            if _has_nul(view_args):
                raise NotFound("No such resource.")
            authenticate(access, view_args)
            if body is not None:
                view_args["data"] = body().load(read_json_object())
            if query is not None:
                view_args["query"] = read_query(query)
            result = view(**view_args)
            if isinstance(result, Response):
                return _private_unless_public(result, access)
            headers = {}
            if isinstance(result, Page):
                headers["X-Pagination"] = json.dumps(
                    {"total": result.total, "page": result.page, "page_size": result.page_size}
                )
                result = result.items
            schema = staff_response if staff_response and g.staff else response
            payload = schema(many=many).dump(result) if schema is not None else result
            return _private_unless_public(json_response(payload, status, headers), access)

        wrapper.endpoint_spec = spec
        return wrapper

    return decorate


def _private_unless_public(response: Response, access: Access) -> Response:
    """Anything but what the public may read (a person, a token, a meeting link, a feed) is never
    stored by a browser or a cache: `Cache-Control: no-store`."""
    public_read = access.kind == "public" and request.method in ("GET", "HEAD") and not g.get("staff")
    if not public_read and access.kind != "webhook" and "no-store" not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = "no-store"
    return response
