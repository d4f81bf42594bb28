"""Schemathesis over /openapi.json, in-process: no server errors, no response that breaks its own schema.

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
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from scheduler import create_app
from scheduler.config import for_tests
from scheduler.extensions import db

pytestmark = pytest.mark.slow


def _fuzzed_app():
    url = f"sqlite:///{tempfile.mkdtemp(prefix='schemathesis-')}/fuzz.db"
    # With a webhook secret set, an unsigned webhook call is the client's error (400), not ours.
    app = create_app(for_tests(url, STRIPE_WEBHOOK_SECRET="whsec_schemathesis"))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        from scheduler.cohorts.services import create_cohort, create_program
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


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_own_description(case):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {APP.config['FUZZ_TOKEN']}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
