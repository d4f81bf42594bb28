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


MAX_JSON_DEPTH = 32  # the deepest body any endpoint takes is 3; far below Python's recursion limit


def read_json_object() -> dict:
    """The request body as a JSON object; {} when there is none."""
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as JSON with 'Content-Type: application/json'.")
    payload = parse_json_object(raw)
    problem = _unstorable_text(payload)
    if problem:
        raise BadRequest(problem)
    return payload


def parse_json_object(raw: bytes) -> dict:
    """`raw` parsed as a JSON object; BadRequest when it nests deeper than MAX_JSON_DEPTH (checked
    before parsing), is not JSON, or is JSON of another kind (an array, a string, a number)."""
    if _nesting_depth(raw) > MAX_JSON_DEPTH:
        raise BadRequest(f"The body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep.")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"The body is not valid JSON: {_describe_json_error(exc)}.") from None
    if not isinstance(payload, dict):
        raise BadRequest(f"The body must be a JSON object, not {type(payload).__name__}.")
    return payload


def _nesting_depth(raw: bytes) -> int:
    """How deep the JSON text nests, counted without parsing it (strings skipped), so that a
    hostile body cannot make the parser recurse until Python gives up."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _describe_json_error(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "it nests too deeply"
    return str(exc).encode("ascii", "backslashreplace").decode()


_NUL_MESSAGE = "Text may not contain the NUL character (\\u0000)."
_SURROGATE_MESSAGE = "Text must be valid Unicode: a lone surrogate (\\ud800-\\udfff without its pair) cannot be stored."


def _unstorable_text(value) -> str | None:
    """PostgreSQL cannot store NUL in text, and no UTF-8 store can hold a lone surrogate:
    refuse both at the edge rather than fail later. Walks without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return _NUL_MESSAGE
            if _has_surrogate(item):
                return _SURROGATE_MESSAGE
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_query(schema: type[Schema]) -> dict:
    args = {k: v for k, v in request.args.items() if k != "token"}
    problem = _unstorable_text(args)
    if problem:
        raise BadRequest(problem)
    return schema().load(args)


def json_response(payload: Any, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(payload), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def json_text_response(text: str, headers: dict | None = None) -> Response:
    """A response from JSON already serialised (rendered once, scheduler/foundation/rendered.py)."""
    return Response(text, mimetype="application/json", headers=headers)


def json_page_response(page: Page) -> Response:
    """A page whose items are each JSON text already: a JSON array, with X-Pagination."""
    return json_text_response("[" + ", ".join(page.items) + "]", _pagination(page))


def _pagination(page: Page) -> dict:
    return {"X-Pagination": json.dumps({"total": page.total, "page": page.page, "page_size": page.page_size})}


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
            if _unstorable_text(view_args):
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
                headers = _pagination(result)
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
    public_read = access.kind in ("public", "open") and request.method in ("GET", "HEAD") and not g.get("staff")
    if not public_read and access.kind != "webhook" and "no-store" not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = "no-store"
    return response
