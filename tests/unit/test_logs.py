"""What the log redaction removes, and what it keeps readable."""

import pytest

from scheduler.foundation.logs import cap_traceback, redact

TOKEN = "mng_" + "A1b2-C3d4_" * 4 + "xyz"  # the shape of new_token("mng"): 43 characters after the prefix


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f'"GET /api/v1/enrolments/enr_x?token={TOKEN} HTTP/1.1"', TOKEN),
        ('"GET /calendar/cal_short.ics HTTP/1.1"', "cal_short"),
        ('"HEAD /calendar/cohorts/whatever-it-is.ics HTTP/1.1"', "whatever-it-is"),
        ('"GET /calendar/intakes/short-one.ics HTTP/1.1"', "short-one"),
        ('"GET /calendar/staff/short-two.ics HTTP/1.1"', "short-two"),
        ("/join/jn_abc123?x=1", "jn_abc123"),
        ("Authorization: Bearer stf_anything", "stf_anything"),
        (f"error for {TOKEN.replace('mng', 'stf')}", TOKEN[4:]),
        ('"GET /api/v1/enrolments?email=sam%40example.org HTTP/1.1"', "sam%40example.org"),
        ("refused sam.rivera+groups@example.org: 550", "sam.rivera+groups@example.org"),
    ],
)
def test_secrets_and_emails_are_redacted(line, secret):
    cleaned = redact(line)
    assert secret not in cleaned and ("[redacted]" in cleaned or "[email]" in cleaned)


def test_ids_routes_and_ordinary_text_stay_readable():
    for text in (
        "GET /api/v1/enrolments/<enrolment_id> 200 3.1ms",
        "/calendar/<feed_token>.ics",
        "GET /calendar/cohorts/<feed_token>.ics 500 23.4ms",
        "GET /calendar/intakes/<feed_token>.ics 404 2.0ms",
        "GET /calendar/staff/<feed_token>.ics 200 9.9ms",
        "message msg_3q2Wcx1YbWv6hH8Xk0dZ9A failed: 451 try later",
        "enr_AbCdEfGhIjKlMnOpQrStUv confirmed",
    ):
        assert redact(text) == text


def test_a_long_traceback_keeps_its_head_and_its_end():
    lines = ["Traceback (most recent call last):"] + [f'  File "x.py", line {n}, in f' for n in range(3000)]
    capped = cap_traceback("\n".join([*lines, "RecursionError: maximum recursion depth exceeded"]))
    assert capped.startswith("Traceback") and capped.endswith("RecursionError: maximum recursion depth exceeded")
    assert "lines of traceback omitted" in capped and capped.count("\n") <= 61
