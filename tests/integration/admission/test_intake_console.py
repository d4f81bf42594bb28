"""Issue 21 in the console: /desk/intakes, the queue of each intake program with Move up, Move down,
Record outcome (on the request's own page) and Offer a seat; refusals come back beside the form."""

from tests.desk_support import post_form, sign_in, text_of
from tests.integration.admission.test_intakes import mail_to, requested


def test_the_desk_runs_the_queue_from_the_console(client, make_staff, make_program, make_cohort):
    program = make_program(admission="intake", name="Skills for emotions")
    cohort = make_cohort(program=program, capacity=1, price_amount=0, name="Tuesday evenings")
    ana, _ = requested(client, program, "ana@example.org", name="Ana Ruiz")
    ben, _ = requested(client, program, "ben@example.org", name="Ben Okafor")
    desk = client.application.test_client()
    sign_in(desk, make_staff("front_desk")[0])
    page = text_of(desk.get("/desk/intakes"))
    assert "Skills for emotions (2 in the queue)" in page
    assert page.index("Ana Ruiz") < page.index("Ben Okafor") and "Record outcome" in page

    moved = post_form(desk, "/desk/intakes", f"/desk/intakes/{ben}/move", {"position": "1", "focus": "up"})
    assert moved.status_code == 303
    page = text_of(desk.get(moved.headers["Location"]))
    assert "Ben Okafor is now number 1 in the queue." in page and page.index("Ben Okafor") < page.index("Ana Ruiz")

    blank = post_form(desk, f"/desk/intakes/{ana}", f"/desk/intakes/{ana}/outcome", {"outcome": ""})
    assert blank.status_code == 422 and "Choose the outcome: approved or not suitable." in text_of(blank)
    done = post_form(
        desk,
        f"/desk/intakes/{ana}",
        f"/desk/intakes/{ana}/outcome",
        {"outcome": "approved", "note": "Good fit", "message": "Welcome aboard."},
    )
    assert done.status_code == 303
    after = text_of(desk.get(done.headers["Location"]))
    assert "Outcome recorded for Ana Ruiz" in after and "Good fit" in after and "Tuesday evenings" in after
    assert len(mail_to("ana@example.org", "seat_offered")) == 1  # the free seat went to her at once

    # Ben approved too: no seat is free, so Offer a seat says why beside the form.
    post_form(desk, f"/desk/intakes/{ben}", f"/desk/intakes/{ben}/outcome", {"outcome": "approved"})
    full = post_form(desk, "/desk/intakes", f"/desk/intakes/{ben}/offer", {"cohort_id": cohort.id})
    assert full.status_code == 409 and "No seat is free" in text_of(full)
    assert client.get("/desk/intakes").status_code == 303  # signed out: to the sign-in page
    facilitator = client.application.test_client()
    sign_in(facilitator, make_staff("facilitator")[0])
    assert facilitator.get("/desk/intakes").status_code == 403


def test_an_assessor_sets_hours_and_sees_bookings_in_the_console(client, auth, make_staff, make_program):
    import time_machine

    from scheduler.staff.services import create_staff
    from tests.integration.admission.test_assessments import T0

    program = make_program(admission="intake", name="Skills for emotions")
    ada = create_staff("ada@staff.test", "Dr Ada Lind", "facilitator", assessor=True).member
    console = client.application.test_client()
    with time_machine.travel(T0, tick=False):
        sign_in(console, ada)
        page = text_of(console.get("/desk/availability"))
        assert "No hours are offered yet." in page
        form = {
            "weekday": "tuesday",
            "start_time": "9am",
            "end_time": "11:00",
            "timezone": "America/New_York",
            "slot_minutes": "50",
            "from_date": "2030-10-01",
            "meeting_url": "https://video.example/ada",
        }
        wrong = post_form(console, "/desk/availability", "/desk/availability", form)
        assert wrong.status_code == 422 and "Use HH:MM on a 24-hour clock" in text_of(wrong)
        added = post_form(console, "/desk/availability", "/desk/availability", {**form, "start_time": "09:00"})
        assert added.status_code == 303
        page = text_of(console.get("/desk/availability"))
        assert "Tuesdays, 09:00–11:00 (America/New_York), 50-minute appointments" in page
        intake_id, me = requested(client, program, "ana@example.org", name="Ana Ruiz")
        assert (
            client.post(
                f"/api/v1/intakes/{intake_id}/appointment", json={"starts_at": "2030-10-08T13:00:00Z"}, headers=me
            ).status_code
            == 201
        )
        page = text_of(console.get("/desk/availability"))
        assert "Ana Ruiz" in page and "Skills for emotions" in page and "Tue, Oct 8, 9:00 AM EDT" in page
    other = client.application.test_client()
    sign_in(other, make_staff("facilitator")[0])
    assert other.get(f"/desk/availability?staff_id={ada.id}").status_code == 403


def test_the_desk_books_and_cancels_an_assessment_for_the_person(client, auth, make_staff, make_program):
    import time_machine

    from tests.integration.admission.test_assessments import T0, assessor

    program = make_program(admission="intake")
    assessor(client, auth, name="Dr Ada Lind")
    with time_machine.travel(T0, tick=False):
        intake_id, _ = requested(client, program, "ana@example.org", name="Ana Ruiz")
        desk = client.application.test_client()
        sign_in(desk, make_staff("front_desk")[0])
        page = text_of(desk.get(f"/desk/intakes/{intake_id}"))
        assert "Not booked yet" in page and "Book for them" in page
        booked = post_form(
            desk,
            f"/desk/intakes/{intake_id}",
            f"/desk/intakes/{intake_id}/appointment",
            {"starts_at": "2030-10-08T13:00:00Z"},
        )
        assert booked.status_code == 303
        page = text_of(desk.get(booked.headers["Location"]))
        assert "The assessment is booked for Tue, Oct 8, 9:00 AM EDT" in page and "with Dr Ada Lind" in page
        taken = post_form(
            desk,
            f"/desk/intakes/{intake_id}",
            f"/desk/intakes/{intake_id}/appointment",
            {"starts_at": "2030-10-08T13:10:00Z"},
        )
        assert taken.status_code == 409 and "not free" in text_of(taken)
        cancelled = post_form(desk, f"/desk/intakes/{intake_id}", f"/desk/intakes/{intake_id}/appointment/cancel")
        assert cancelled.status_code == 303 and "Not booked yet" in text_of(desk.get(cancelled.headers["Location"]))
    assert len(mail_to("ana@example.org", "assessment_cancelled")) == 1
