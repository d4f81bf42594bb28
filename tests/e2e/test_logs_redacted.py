"""No token (nor email) reaches a log, across an enrolment's whole life, under a real gunicorn (issue 14, 12).

gunicorn's access log recorded `?token=mng_…` and `/calendar/cal_….ics` paths. The server
runs as the Procfile runs it (`--logger-class scheduler.foundation.logs.GunicornLogger`), with the
app's log as JSON lines; both logs are read back and searched for every token the test
saw, and for anything shaped like one.
"""

import json
import re
from types import SimpleNamespace

import pytest

from scheduler.foundation.links import manage_url
from tests.helpers import emailed_link
from tests.live_server import LiveServer, request

pytestmark = pytest.mark.slow

TOKEN_SHAPE = re.compile(r"(?:mng|stf|cal)_[A-Za-z0-9_-]{20,}")


def test_no_token_in_the_access_or_application_log(app, database_url, make_cohort, make_staff, tmp_path):
    _, staff_token = make_staff("admin")
    cohort = make_cohort(price_amount=0)
    access_log = tmp_path / "access.log"
    seen_tokens = {staff_token}
    env = {"LOG_FORMAT": "json"}
    with LiveServer(database_url, workers=2, env=env, access_log=access_log) as server:
        base, api = server.url, server.url + "/api/v1"
        staff = {"Authorization": f"Bearer {staff_token}"}

        def call(method, url, body=None, headers=None, expect=(200, 201)):
            status, payload, _ = request(method, url, body, headers)
            assert status in expect, (method, url, status, payload)
            return payload

        def local(url):  # links are built on PUBLIC_BASE_URL; fetch them from this server
            return url.replace("https://scheduler.test", base)

        call(
            "POST", f"{api}/cohorts/{cohort.id}/enrolments", {"name": "Sam Rivera", "email": "sam@x.org"}, expect=(202,)
        )
        enrolment_id, manage = emailed_link(cohort.id, "sam@x.org")
        seen_tokens.add(manage)
        me = f"{api}/enrolments/{enrolment_id}"
        page = manage_url(SimpleNamespace(id=enrolment_id, manage_token=manage))
        # The link in the email (token in the query string), with a Referer that carries it too.
        view = call("GET", f"{me}?token={manage}", headers={"Referer": local(page)})
        call("GET", me, headers={"Authorization": f"Bearer {manage}"})
        feed = view["calendar_url"]
        seen_tokens.add(feed.rsplit("/", 1)[1].removesuffix(".ics"))
        call("GET", local(feed))
        call("HEAD", local(feed))
        rotated = call("POST", f"{me}/calendar/rotate", headers={"Authorization": f"Bearer {manage}"})
        seen_tokens.add(rotated["calendar_url"].rsplit("/", 1)[1].removesuffix(".ics"))
        call("GET", local(feed), expect=(404,))
        call("GET", local(rotated["calendar_url"]))
        cohort_view = call("GET", f"{api}/cohorts/{cohort.id}", headers=staff)
        cohort_feed = cohort_view["calendar_url"]
        seen_tokens.add(cohort_feed.rsplit("/", 1)[1].removesuffix(".ics"))
        call("GET", local(cohort_feed))
        # Staff mistakes: a token in the URL is refused, and still must not be logged.
        call("GET", f"{api}/programs?token={staff_token}", expect=(401,))
        call("GET", f"{api}/programs", headers={"Authorization": "Bearer stf_" + "w" * 43}, expect=(401,))
        call("GET", f"{api}/enrolments/{enrolment_id}/messages", headers=staff)
        call("GET", f"{api}/enrolments?email=sam%40x.org", headers=staff)
        call("GET", f"{api}/enrolments?email=sam@x.org&status=confirmed", headers=staff)
        call("GET", f"{api}/cohorts/{cohort.id}/roster.csv", headers=staff)
        call("POST", f"{me}/withdraw?token={manage}")
        call("GET", f"{base}/calendar/{manage}.ics", expect=(404,))
        call("GET", f"{base}/healthz", headers=staff)
    access = access_log.read_text()
    application = server.app_log()

    assert access.count("\n") >= 20, access  # every request is there, redacted
    assert "email=[email]" in access
    assert "[redacted]" in access and "/calendar/[redacted].ics" in access
    assert "/calendar/cohorts/[redacted].ics" in access and "token=[redacted]" in access
    for name, text in (("access log", access), ("application log", application)):
        for token in seen_tokens:
            assert token not in text, f"{name} holds a token"
        assert not TOKEN_SHAPE.search(text), (name, TOKEN_SHAPE.search(text)[0][:12])
        assert "sam@x.org" not in text and "sam%40x.org" not in text, f"{name} holds an email address"

    # The application's request lines: JSON, with route (the rule, not the path), status, duration, request id.
    lines = [json.loads(line) for line in application.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "scheduler.request"]
    assert len(requests) >= 18
    for line in requests:
        assert {"ts", "level", "request_id", "route", "method", "status", "duration_ms"} <= set(line)
        assert "sam@x.org" not in json.dumps(line) and "Sam Rivera" not in json.dumps(line)
    routes = {line["route"] for line in requests}
    assert "/api/v1/enrolments/<enrolment_id>" in routes and "/calendar/<feed_token>.ics" in routes
    assert enrolment_id not in application  # ids stay out too: the route is the rule
