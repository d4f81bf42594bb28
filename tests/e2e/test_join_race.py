"""Many clicks of one person's join link at once, served by several gunicorn worker processes: one record.

The session is moved to "now" (a live server runs on the real clock); each client is a
thread with its own HTTP connection, released together by a barrier.
"""

import http.client
import threading
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from scheduler.attendance.models import AttendanceRecord
from scheduler.cohorts.models import Session
from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from tests.live_server import LiveServer

CLIENTS = 16


def test_concurrent_joins_over_http_record_once(app, database_url, make_cohort, make_enrolment):
    cohort = make_cohort(price_amount=0)
    person = make_enrolment(cohort)
    first = cohort.sessions[0]
    now = clock.now()
    db.session.execute(
        update(Session)
        .where(Session.id == first.id)
        .values(starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(minutes=85))
    )
    db.session.commit()
    link = f"/join/{person.join_token}"

    with LiveServer(database_url, workers=3) as server:
        address = urlsplit(server.url)
        barrier, answers = threading.Barrier(CLIENTS), []

        def click():
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
            barrier.wait()
            connection.request("GET", link)
            response = connection.getresponse()
            answers.append((response.status, response.getheader("Location")))
            connection.close()

        threads = [threading.Thread(target=click) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert answers == [(302, "https://video.example/j/123")] * CLIENTS
    db.session.rollback()
    rows = db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.enrolment_id == person.id)).all()
    assert [(r.session_id, r.status, r.source) for r in rows] == [(first.id, "present", "join")]
