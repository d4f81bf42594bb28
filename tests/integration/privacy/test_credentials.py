"""Where credentials may come from, and where they are ignored (issue 14, 11 and 12).

11: /healthz, /readyz, /docs and /openapi.json answered 403 to a staff token; a monitor
or a browser that sends any credential, good or bad, now gets the same answer as without.
12: staff tokens were accepted in the query string (and so landed in access logs); only a
participant's manage token may ride in `?token=` (the links in emails carry it).
"""

import pytest

from scheduler.foundation.auth import ROLES
from tests.helpers import enrolled

OPEN_PATHS = ["/healthz", "/readyz", "/docs", "/openapi.json"]


@pytest.mark.parametrize("path", OPEN_PATHS)
def test_open_endpoints_ignore_every_credential(client, make_staff, path):
    plain = client.get(path)
    assert plain.status_code == 200
    presented = [f"Bearer {make_staff(role)[1]}" for role in ROLES]
    presented += ["Bearer stf_revoked_or_mistyped", "Bearer mng_someone", "Bearer garbage", "Basic dXNlcjpwYXNz", "x"]
    for value in presented:
        response = client.get(path, headers={"Authorization": value})
        assert response.status_code == 200, (path, value, response.get_data(as_text=True)[:200])
        assert response.mimetype == plain.mimetype
    assert client.get(path, query_string={"token": "stf_anything"}).status_code == 200


def test_a_staff_token_in_the_query_string_is_401_saying_to_use_the_header(client, make_staff, make_cohort):
    _, token = make_staff("admin")
    assert client.get("/api/v1/programs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    for path in ("/api/v1/programs", "/api/v1/cohorts", f"/api/v1/cohorts/{make_cohort().id}/roster"):
        refused = client.get(path, query_string={"token": token})
        assert refused.status_code == 401 and refused.mimetype == "application/problem+json", path
        assert "Authorization header" in refused.json["detail"]
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_manage_token_may_still_come_in_the_query_string(client, make_cohort):
    cohort = make_cohort(price_amount=0)
    enrolment = enrolled(client, cohort, "sam@example.org", "Sam")
    path = f"/api/v1/enrolments/{enrolment['id']}"
    assert client.get(path, query_string={"token": enrolment["manage_token"]}).status_code == 200
    assert client.get(path, headers={"Authorization": f"Bearer {enrolment['manage_token']}"}).status_code == 200
    # Anything else in ?token= is refused, not looked up as a staff token.
    refused = client.get(path, query_string={"token": "cal_" + "x" * 43})
    assert refused.status_code == 401 and "Authorization" in refused.json["detail"]
    # A public page that a participant opens from an email link ignores their token.
    public = client.get(f"/api/v1/cohorts/{cohort.id}", query_string={"token": enrolment["manage_token"]})
    assert public.status_code == 200
