"""Every route declares who may call it, and the declaration holds.

Walks the app's URL map, so routes added later are covered with no change here:
each route needing credentials answers 401 without a token and 403 to every staff
role it does not admit (credentials are checked before anything is looked up, so
placeholder ids do). A route that needs no credentials must be listed below, so a
new route cannot become public by accident.
"""

import re

import pytest

from scheduler.auth import ROLES

# endpoint -> why anyone may call it without a staff or participant credential.
EXPECTED_WITHOUT_CREDENTIALS = {
    "meta.home": "redirects to the API reference page",
    "meta.healthz": "health check",
    "meta.readyz": "readiness check",
    "meta.openapi": "the API's own description",
    "meta.docs": "the API reference page",
    "meta.metrics": "its own bearer token (METRICS_TOKEN); 404 while that is unset",
    "cohorts.list_cohorts": "the public list of open cohorts (staff see more)",
    "cohorts.get_cohort": "a public cohort page (staff see more)",
    "enrolment.enrol": "the public enrolment form",
    "calendars.participant_feed": "the secret token in the URL is the credential",
    "calendars.cohort_feed": "the secret token in the URL is the credential",
    "payments.stripe_webhook": "Stripe, verified by its signature",
}


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, view


def _placeholder_path(rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: f"placeholder-{m[1]}", rule.rule)


def test_every_view_declares_its_access(app):
    undeclared = [rule.endpoint for rule, _, view in _routes(app) if not hasattr(view, "endpoint_spec")]
    assert undeclared == [], "every view must use @endpoint(access, …)"


def test_routes_without_credentials_are_exactly_the_expected_ones(app):
    open_routes = {
        rule.endpoint
        for rule, _, view in _routes(app)
        if hasattr(view, "endpoint_spec") and not view.endpoint_spec.access.needs_credentials
    }
    unexpected = open_routes - set(EXPECTED_WITHOUT_CREDENTIALS)
    assert not unexpected, f"routes callable without credentials that nobody approved: {sorted(unexpected)}"


def test_every_protected_route_refuses_no_token_and_roles_it_does_not_admit(app, client, make_staff):
    tokens = {role: make_staff(role)[1] for role in ROLES}
    checked = 0
    for rule, method, view in _routes(app):
        access = view.endpoint_spec.access
        if not access.needs_credentials:
            continue
        path = _placeholder_path(rule)
        anonymous = client.open(path, method=method, json={})
        assert anonymous.status_code == 401, (method, rule.rule, anonymous.status_code)
        assert anonymous.mimetype == "application/problem+json"
        mistyped = client.open(path, method=method, json={}, headers={"Authorization": "Bearer stf_wrong"})
        assert mistyped.status_code == 401, (method, rule.rule)
        for role in set(ROLES) - set(access.roles):
            refused = client.open(path, method=method, json={}, headers={"Authorization": f"Bearer {tokens[role]}"})
            assert refused.status_code == 403, (method, rule.rule, role, refused.status_code)
            assert refused.mimetype == "application/problem+json"
        for role in access.roles:
            allowed = client.open(path, method=method, json={}, headers={"Authorization": f"Bearer {tokens[role]}"})
            assert allowed.status_code not in (401, 403), (method, rule.rule, role, allowed.json)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("endpoint", ["cohorts.list_cohorts", "meta.healthz"])
def test_public_routes_answer_without_a_token(app, client, endpoint):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    assert client.get(rule.rule).status_code == 200
