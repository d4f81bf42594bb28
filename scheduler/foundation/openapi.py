"""The OpenAPI 3 document, generated from each view's @endpoint declaration."""

import re
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from .validation import Instant, Timezone, WallTime

PROBLEM = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["type", "title", "status", "detail"],
}
_ERROR_TEXT = {
    400: "Malformed body",
    401: "Missing or invalid credentials",
    403: "Role not allowed",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Validation failed",
    503: "Database unavailable",
}


def _schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


def _path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _operation(view, method: str, rule) -> dict:
    spec = view.endpoint_spec
    doc = (view.__doc__ or "").strip().splitlines()
    op = {
        "summary": spec.summary or (doc[0] if doc else view.__name__),
        "operationId": f"{view.__name__}_{method}" if method != "get" else view.__name__,
        "tags": [rule.endpoint.split(".")[0]],
        "responses": {},
    }
    if spec.access.needs_credentials:
        op["security"] = [{"bearer": []}]
    elif spec.access.kind == "public" and spec.access.roles:
        op["security"] = [{}, {"bearer": []}]
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in rule.arguments]
    if spec.query is not None:
        params.append({"in": "query", "schema": spec.query})
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": spec.body}}}
    success: dict = {"description": "Success"}
    if 300 <= spec.status < 400:
        success = {"description": "Redirect", "headers": {"Location": {"schema": {"type": "string"}}}}
    elif spec.response is not None:
        shape = spec.response if not spec.many else {"type": "array", "items": spec.response}
        if spec.staff_response is not None:
            staff_shape = spec.staff_response if not spec.many else {"type": "array", "items": spec.staff_response}
            # anyOf, not oneOf: an empty list (or a value valid in both shapes) matches both.
            shape = {"anyOf": [shape, staff_shape]}
        success["content"] = {"application/json": {"schema": shape}}
    else:
        success["content"] = spec.extra.get("content", {"application/json": {"schema": {"type": "object"}}})
    op["responses"][str(spec.status)] = success
    # A route that answers pages (a join link) documents its own outcomes, not problem+json.
    op["responses"].update(spec.extra.get("responses", {}))
    codes = {404, 503} if rule.arguments else {503}
    if spec.access.needs_credentials:
        codes |= {401, 403}
    if spec.body is not None:
        codes |= {400, 413, 415, 422}
    if spec.query is not None:
        codes.add(422)
    if method in ("post", "put", "patch", "delete"):
        codes.add(409)
    for code in sorted(codes - {int(c) for c in spec.extra.get("responses", {})}):
        op["responses"][str(code)] = {
            "description": _ERROR_TEXT[code],
            "content": {"application/problem+json": {"schema": PROBLEM}},
        }
    # Every other error (405, 429, 500 …) has the same shape; saying so lets clients and
    # schemathesis check it.
    op["responses"]["default"] = {
        "description": "Any other error",
        "content": {"application/problem+json": {"schema": PROBLEM}},
    }
    return op


def _field_formats(converter):
    converter.map_to_openapi_type(Instant, "string", "date-time")
    converter.map_to_openapi_type(WallTime, "string", None)
    converter.map_to_openapi_type(Timezone, "string", None)
    converter.add_attribute_function(_field_rules)


def _field_rules(self, field, **kwargs) -> dict:
    """What a field type enforces (scheduler/foundation/validation.py): patterns, zones, lengths."""
    describe = getattr(field, "openapi_properties", None)
    return describe() if describe is not None else {}


@lru_cache(maxsize=4)
def _build(app_id: int, app: Flask) -> dict:
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title="Scheduler API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": "Group therapy programs: cohorts, enrolment, payments, calendars."},
    )
    _field_formats(plugin.converter)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    rules = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        if view is None or not hasattr(view, "endpoint_spec"):
            continue
        operations = {m.lower(): _operation(view, m.lower(), rule) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})}
        spec.path(path=_path(rule.rule), operations=operations)
        for schema in (view.endpoint_spec.body, view.endpoint_spec.query):
            if getattr(schema, "openapi_rules", None):
                rules[_schema_name(schema)] = schema.openapi_rules
    document = spec.to_dict()
    # Rules across fields (marshmallow's @validates_schema), which apispec cannot see.
    for name, extra in rules.items():
        document["components"]["schemas"].get(name, {}).update(extra)
    return _without_empty_keywords(document)


def _without_empty_keywords(node):
    """apispec writes `format: null` / `pattern: null` for fields mapped without them; OpenAPI forbids that."""
    if isinstance(node, dict):
        return {
            k: _without_empty_keywords(v) for k, v in node.items() if not (k in ("format", "pattern") and v is None)
        }
    if isinstance(node, list):
        return [_without_empty_keywords(v) for v in node]
    return node


def build_spec(app: Flask) -> dict:
    """The document for this app (built once per app: routes do not change at run time)."""
    return _build(id(app), app)
