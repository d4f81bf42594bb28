"""Every route declares who may call it, and the declaration holds.

Walks the app's URL map, so routes added later are covered with no change here:
each route needing credentials answers 401 without a token and 403 to every staff
role it does not admit (credentials are checked before anything is looked up, so
placeholder ids do). A route that needs no credentials must be listed below, so a
new route cannot become public by accident.
"""

import re

import pytest

from scheduler.foundation.auth import ROLES
from tests.helpers import enrolled

# endpoint -> why anyone may call it without a staff or participant credential.
EXPECTED_WITHOUT_CREDENTIALS = {
    "meta.healthz": "health check",
    "meta.readyz": "readiness check",
    "meta.openapi": "the API's own description",
    "meta.docs": "the API reference page",
    "meta.metrics": "its own bearer token (METRICS_TOKEN); 404 while that is unset",
    "cohorts.list_cohorts": "the public list of open cohorts (staff see more)",
    "cohorts.get_cohort": "a public cohort page (staff see more)",
    "enrolment.enrol": "the public enrolment form",
    "admission.request_place": "the public request for a place in an intake program",
    "calendars.participant_feed": "the secret token in the URL is the credential",
    "calendars.cohort_feed": "the secret token in the URL is the credential",
    "calendars.intake_feed": "a person's assessment appointments: the secret token in the URL is the credential",
    "calendars.staff_feed": "a staff member's own calendar: the secret token in the URL is the credential",
    "join.join": "a participant's personal join link: the secret token in the URL is the credential",
    "webhooks.stripe_webhook": "Stripe, verified by its signature",
}


# Staff routes whose roles the contract names outright (API.md), beyond "refuses the roles it does not admit".
EXPECTED_ROLES = {
    "privacy.export_participant": {"admin", "front_desk"},
    "privacy.erase_participant": {"admin"},
}


# Pages (HTML for people, declared with @page(access)) that anyone may open, and why.
PUBLIC_PAGES = {
    "pages.home": "the clinic's open cohorts",
    "pages.cohort": "a public cohort page",
    "pages.enrol": "the public enrolment form (CSRF-protected like every form)",
    "pages.check_email": "'Check your email' after the form: the same page for every address",
    "pages.send_link_again": "'Send it again' on that page: a request like the form's, answered alike",
    "pages.link_again": "'Send my link again' on the page an old link opens: a request answered alike",
    "pages.link_sent": "'Check your email' after it: the same page for every address",
    "pages.request_place": "'Request a place' in an intake program: a request like the form's, answered alike",
    "pages.static": "the stylesheet and scripts",
    "desk.login": "the console's sign-in page",
    "desk.send_link": "asks for a sign-in link (same answer for any address; rate limited)",
    "desk.confirm_link": "the one-time link from the email is the credential",
    "desk.use_link": "the one-time link from the email is the credential (CSRF-protected)",
}
PAGE_KINDS = ("public", "participant_page", "desk")


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, view


def _placeholder_path(rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: f"placeholder-{m[1]}", rule.rule)


def test_every_view_declares_its_access(app):
    undeclared = [
        rule.endpoint
        for rule, _, view in _routes(app)
        if not hasattr(view, "endpoint_spec") and not hasattr(view, "page_access")
    ]
    assert undeclared == [], "every view must use @endpoint(access, …) (or @page(access) for an HTML page)"
    unknown = {
        (rule.endpoint, view.page_access.kind)
        for rule, _, view in _routes(app)
        if hasattr(view, "page_access") and view.page_access.kind not in PAGE_KINDS
    }
    assert not unknown, f"pages with an access kind this test does not check: {sorted(unknown)}"


def test_pages_anyone_may_open_are_exactly_the_expected_ones(app):
    public = {
        rule.endpoint
        for rule, _, view in _routes(app)
        if hasattr(view, "page_access") and view.page_access.kind == "public"
    }
    assert public == set(PUBLIC_PAGES), f"public pages nobody approved: {sorted(public - set(PUBLIC_PAGES))}"


def test_routes_without_credentials_are_exactly_the_expected_ones(app):
    open_routes = {
        rule.endpoint
        for rule, _, view in _routes(app)
        if hasattr(view, "endpoint_spec") and not view.endpoint_spec.access.needs_credentials
    }
    unexpected = open_routes - set(EXPECTED_WITHOUT_CREDENTIALS)
    assert not unexpected, f"routes callable without credentials that nobody approved: {sorted(unexpected)}"


def _csrf_token(client, cohort_id) -> str:
    html = client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def test_every_participant_page_needs_that_enrolments_own_link(app, client, make_staff, make_cohort, make_program):
    """No cookie: 403; a staff token or another enrolment's (or intake's) token: refused too. Always a
    page, never JSON. An intake's pages (/me/intakes/…) are checked with intakes' tokens."""
    from tests.integration.admission.test_intakes import requested

    cohort = make_cohort(price_amount=0)
    mine = enrolled(client, cohort, "a@example.org", "A")
    other = enrolled(client, cohort, "b@example.org", "B")
    program = make_program(admission="intake")
    my_intake, my_headers = requested(client, program, "c@example.org")
    _, other_headers = requested(client, program, "d@example.org")
    staff_token = make_staff("admin")[1]
    csrf = _csrf_token(client, cohort.id)
    checked = 0
    for rule, method, view in _routes(app):
        if getattr(view, "page_access", None) is None or view.page_access.kind != "participant_page":
            continue
        if "<intake_id>" in rule.rule:
            path, scope = rule.rule.replace("<intake_id>", my_intake), f"/me/intakes/{my_intake}"
            others = other_headers["Authorization"].removeprefix("Bearer ")
        else:
            path, scope = rule.rule.replace("<enrolment_id>", mine["id"]), f"/me/{mine['id']}"
            others = other["manage_token"]
        data = {"csrf_token": csrf} if method == "POST" else None
        client.delete_cookie("manage_token", path=scope)
        anonymous = client.open(path, method=method, data=data)
        assert anonymous.status_code == 403 and anonymous.mimetype == "text/html", (method, rule.rule)
        as_staff = client.open(path, method=method, data=data, headers={"Authorization": f"Bearer {staff_token}"})
        assert as_staff.status_code == 403 and as_staff.mimetype == "text/html", (method, rule.rule)
        client.set_cookie("manage_token", others, path=scope)
        someone_else = client.open(path, method=method, data=data)
        assert someone_else.status_code == 404 and someone_else.mimetype == "text/html", (method, rule.rule)
        told = someone_else.get_data(as_text=True)
        assert "resend your link" in told or "Send my link again" in told
        client.delete_cookie("manage_token", path=scope)
        checked += 1
    assert checked >= 10
    # Nothing was changed by any of those requests.
    me = client.get(f"/api/v1/enrolments/{mine['id']}", headers={"Authorization": f"Bearer {mine['manage_token']}"})
    assert me.json["status"] == "confirmed"
    assert client.get(f"/api/v1/intakes/{my_intake}", headers=my_headers).json["status"] == "requested"


def test_every_protected_route_refuses_no_token_and_roles_it_does_not_admit(app, client, make_staff):
    tokens = {role: make_staff(role)[1] for role in ROLES}
    checked = 0
    for rule, method, view in _routes(app):
        if not hasattr(view, "endpoint_spec"):
            continue  # pages: checked above
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


def test_routes_admit_exactly_the_roles_the_contract_names(app):
    declared = {
        rule.endpoint: set(view.endpoint_spec.access.roles)
        for rule, _, view in _routes(app)
        if rule.endpoint in EXPECTED_ROLES and view.endpoint_spec.access.kind == "staff"
    }
    assert declared == EXPECTED_ROLES


@pytest.mark.parametrize("endpoint", ["cohorts.list_cohorts", "meta.healthz"])
def test_public_routes_answer_without_a_token(app, client, endpoint):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    assert client.get(rule.rule).status_code == 200


def test_every_console_page_sends_the_anonymous_to_sign_in_and_refuses_other_roles(app, make_staff):
    """Signed out: 303 to the sign-in page. A role the page does not admit: the 403 page, never JSON."""
    from tests.desk_support import page_token, sign_in

    clients = {None: app.test_client()}
    for role in ROLES:
        clients[role] = app.test_client()
        sign_in(clients[role], make_staff(role)[0])
    tokens = {role: page_token(client, "/desk/account" if role else "/desk/login") for role, client in clients.items()}
    checked = 0
    for rule, method, view in _routes(app):
        access = getattr(view, "page_access", None)
        if access is None or access.kind != "desk":
            continue
        path = _placeholder_path(rule)
        for role, client in clients.items():
            if rule.endpoint == "desk.logout" and role is not None:
                continue  # signing out works for everyone (tests/integration/desk/test_desk_sign_in.py)
            data = {"csrf_token": tokens[role]} if method == "POST" else None
            answer = client.open(path, method=method, data=data)
            if role is None:
                assert answer.status_code == 303, (method, rule.rule, answer.status_code)
                assert answer.headers["Location"].startswith("/desk/login"), (method, rule.rule)
            elif role not in access.roles:
                assert answer.status_code == 403 and answer.mimetype == "text/html", (method, rule.rule, role)
            else:
                assert answer.status_code not in (401, 403), (method, rule.rule, role, answer.status_code)
                assert not answer.headers.get("Location", "").startswith("/desk/login"), (method, rule.rule, role)
        checked += 1
    assert checked >= 25
