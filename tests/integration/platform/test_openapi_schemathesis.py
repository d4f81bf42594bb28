"""Schemathesis over /openapi.json, in-process: no server errors, no response that breaks its own schema,
and no request that the document calls valid refused as malformed.

Runs on SQLite to keep the suite quick; every endpoint's PostgreSQL behaviour is
covered by the other integration tests. Requests carry an admin token so the
authenticated paths are exercised, and a few real ids are seeded so that some
generated requests reach real rows.
"""

import tempfile
from datetime import date, time

import pytest
import schemathesis
from flask_migrate import upgrade
from hypothesis import HealthCheck, given, settings
from marshmallow import ValidationError
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import response_schema_conformance

from scheduler import create_app
from scheduler.foundation.config import for_tests
from scheduler.foundation.extensions import db
from scheduler.foundation.openapi import _path

pytestmark = pytest.mark.slow


def _fuzzed_app():
    url = f"sqlite:///{tempfile.mkdtemp(prefix='schemathesis-')}/fuzz.db"
    # With a webhook secret set, an unsigned webhook call is the client's error (400), not ours.
    app = create_app(for_tests(url, STRIPE_WEBHOOK_SECRET="whsec_schemathesis"))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        from scheduler.cohorts.programs import create_program
        from scheduler.cohorts.services import create_cohort
        from scheduler.staff.services import create_staff

        program = create_program({"name": "Skills group", "price_amount": 0})
        create_cohort(
            {
                "program_id": program.id,
                "start_date": date(2030, 10, 3),
                "start_time": time(18, 0),
                "timezone": "America/New_York",
                "status": "open",
            }
        )
        app.config["FUZZ_TOKEN"] = create_staff("fuzz-admin@staff.test", "Fuzz admin", "admin").token
        db.session.remove()
        db.engine.dispose()
    return app


# Built when the module is collected: schemathesis needs the document to generate the tests.
APP = _fuzzed_app()
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)


# (path as documented, METHOD) -> the view's declaration: its body and query schemas.
DECLARED = {
    (_path(rule.rule), method): APP.view_functions[rule.endpoint].endpoint_spec
    for rule in APP.url_map.iter_rules()
    if hasattr(APP.view_functions[rule.endpoint], "endpoint_spec")
    for method in rule.methods
}


@schemathesis.check
def valid_by_the_document_is_valid_by_the_server(ctx, response, case):
    """A request generated as valid from /openapi.json is never refused as malformed.

    400 is never right for it; 422 is right only for a business rule that no schema can
    state (a skip date off the weekly pattern, an unknown facilitator), which the
    endpoint's own marshmallow schema then accepts: the document and the server agree.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    declared = DECLARED[(case.operation.path, case.operation.method.upper())]
    if declared.access.kind == "webhook":
        return None  # no generator can sign a Stripe event
    if response.status_code == 400:
        raise AssertionError(f"a request the document calls valid was refused as malformed: {response.text}")
    refused = {}
    for loader, data in ((declared.body, case.body), (declared.query, case.query)):
        if loader is not None and data not in (None, NOT_SET):
            try:
                loader().load({k: v for k, v in data.items() if k != "token"})
            except ValidationError as error:
                refused.update(error.messages)
    if refused:
        raise AssertionError(f"the document accepts what the server's schema refuses: {refused}")
    return None


# One test per operation, each with an id of its own ("GET /api/v1/audit"). schemathesis's own
# schema.parametrize() gives every operation the same node id, and pytest-xdist (make test
# runs two workers) then ran one of them and reported the other 53 as nothing at all.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_api_conforms_to_its_own_description(operation):
    # Requests the document calls valid, and requests it calls invalid (which must be refused, not crash).
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=cases)
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    def conforms(case):
        case.call_and_validate(
            headers={"Authorization": f"Bearer {APP.config['FUZZ_TOKEN']}"},
            checks=[not_a_server_error, response_schema_conformance, valid_by_the_document_is_valid_by_the_server],
        )

    conforms()
