"""Languages in the mail (issue 22): a person's emails are in the language they chose on the form
(the enrolment's `locale`), subject, text and HTML alike, with their dates and money as that
language writes them; staff mail speaks the language the member chose, whoever it is about."""

import re
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import time_machine
from sqlalchemy import select

from scheduler.foundation.extensions import db
from scheduler.notifications import jobs
from scheduler.notifications.models import OutboxMessage
from tests.helpers import URL, as_participant, enrolled

ROOT = Path(__file__).resolve().parents[3]
# Words no Spanish sentence has: an English sentence left in a Spanish message shows one of them.
ENGLISH = re.compile(r"\b(the|you|your|and|with|hello|session|place|waitlist|pay|is|are|to|of|in)\b", re.IGNORECASE)


def _messages(smtp_server) -> dict:
    """{address: [(kind, subject, text, html), …]} in the order the server received them."""
    kind_of = {row.message_id: row.kind for row in db.session.scalars(select(OutboxMessage))}
    seen = defaultdict(list)
    for received in smtp_server.messages:
        message = received.message
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        seen[received.rcpt_tos[0]].append((kind_of[received.message_id], message["Subject"], text, html))
    return seen


def _english_left(text: str, staff_words: list[str]) -> list[str]:
    """English words in a message once links, tags and what staff typed (session topics) are taken out."""
    text = re.sub(r"<[^>]+>", " ", URL.sub(" ", text))
    for words in staff_words:
        text = text.replace(words, " ")
    return ENGLISH.findall(text)


def test_a_person_who_chose_spanish_gets_every_email_in_spanish_and_an_english_one_english(
    app, client, auth, make_cohort, smtp_server
):
    app.config["MAIL_URL"] = smtp_server.url
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=36000)
    topics = [s.title for s in cohort.sessions]

    def ok(response):
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    ben = enrolled(client, cohort, "ben@example.org", "Ben", timezone="America/Chicago", locale="en")
    ana = enrolled(client, cohort, "ana@example.org", "Ana Pérez", timezone="America/Chicago", locale="es")
    assert (ben["status"], ana["status"]) == ("pending_payment", "waitlisted")
    ok(client.post(f"/api/v1/enrolments/{ben['id']}/confirm", json={"method": "cash", "amount": 36000}, headers=desk))
    jobs.deliver_outbox()  # Ben's confirmation goes before he withdraws
    ok(client.post(f"/api/v1/enrolments/{ben['id']}/withdraw", headers=as_participant(ben)))  # → Ana offered
    ok(client.post(f"/api/v1/enrolments/{ana['id']}/accept", headers=as_participant(ana)))  # → pending_payment
    ok(client.post(f"/api/v1/enrolments/{ana['id']}/confirm", json={"method": "cash", "amount": 36000}, headers=desk))
    with time_machine.travel(cohort.sessions[0].starts_at - timedelta(hours=3), tick=False):
        jobs.send_reminders()
        jobs.deliver_outbox()
    with time_machine.travel(cohort.sessions[0].starts_at - timedelta(hours=2), tick=False):
        ok(client.post(f"/api/v1/enrolments/{ana['id']}/withdraw", headers=as_participant(ana)))
        jobs.deliver_outbox()

    seen = _messages(smtp_server)
    spanish = {kind: (subject, text, html) for kind, subject, text, html in seen["ana@example.org"]}
    assert {"waitlisted", "seat_offered", "enrolment_received", "enrolment_confirmed", "reminder", "withdrawn"} <= set(
        spanish
    )
    for kind, (subject, text, html) in spanish.items():
        assert _english_left(subject, topics) == [], (kind, subject)
        assert _english_left(text, topics) == [], (kind, text)
        assert _english_left(html, topics) == [], (kind, html)
        assert text.startswith("Hola, Ana Pérez:") and "Saludos cordiales," in text, kind
        assert '<html lang="es">' in html and "Hola, Ana Pérez:" in html, kind

    first = "jueves, 3 de octubre de 2030 a las 17:00 CDT"  # 6:00 PM in New York, in Ana's Chicago
    assert spanish["waitlisted"][0] == "Su enlace personal · Test Clinic"  # the answer to her request
    assert "con el número 1" in spanish["waitlisted"][1] and f"Primera sesión: {first}" in spanish["waitlisted"][1]
    assert spanish["seat_offered"][0].startswith("Hay un lugar disponible para usted: responda antes del ")
    assert "<strong>" in spanish["seat_offered"][2] and "Aceptar o rechazar" in spanish["seat_offered"][2]
    # Money as Spanish writes it in the clinic's country (es_US: $360.00; an es_ES clinic: 360,00 €).
    assert "le pedimos pagar $360.00 antes" in spanish["enrolment_received"][1]
    assert "Le reservamos un lugar en el grupo hasta el " in spanish["enrolment_received"][1]
    assert spanish["enrolment_confirmed"][0].startswith(f"Inscripción confirmada, primera sesión el {first}")
    confirmed_text = spanish["enrolment_confirmed"][1]
    assert "$360.00 (Efectivo)" in confirmed_text and "(horarios en America/Chicago):" in confirmed_text
    assert "Agregue las sesiones a su calendario" in spanish["enrolment_confirmed"][2]
    assert "name=Sesiones+de+grupo" in confirmed_text  # Outlook names the subscription as the feed names itself
    # Read back as written: a long non-ASCII subject keeps its spaces across the header's folds.
    assert spanish["reminder"][0] == f"Recordatorio: {first} · Sesión de grupo · Test Clinic"
    assert f"su sesión de grupo es el <strong>{first}</strong>" in spanish["reminder"][2]
    assert spanish["withdrawn"][0].startswith("Se ha retirado · ")
    assert "Se ha retirado del grupo." in spanish["withdrawn"][1]

    english = {kind: (subject, text, html) for kind, subject, text, html in seen["ben@example.org"]}
    assert english["enrolment_confirmed"][0].startswith(
        "You're enrolled, first session Thursday, October 3, 2030 at 5:00 PM CDT · Group session · "
    )
    assert "$360.00 (Cash)" in english["enrolment_confirmed"][1]
    assert "Refund: $360.00" in english["withdrawn"][1] and english["withdrawn"][1].startswith("Hello Ben,")
    assert '<html lang="en">' in english["withdrawn"][2]
    for subject, text, html in english.values():
        assert not re.search(r"\b(usted|sesión|lugar|Hola)\b", subject + text + html)


def test_no_email_names_the_calendar_title_as_if_it_were_the_program(
    app, client, auth, make_program, make_cohort, make_enrolment
):
    """The calendar title is a neutral label ("Group session"), not the program's name: the body
    speaks of "the group", in either language."""
    program = make_program(name="Skills group", calendar_title="Evening circle")
    cohort = make_cohort(program=program, capacity=1)
    make_enrolment(cohort)  # the one seat is taken
    desk = auth("front_desk")  # enrolled by the desk: the waitlist email itself, not a request's answer
    enrolled(client, cohort, "eva@example.org", "Eva", locale="en", headers=desk)
    enrolled(client, cohort, "eli@example.org", "Eli", locale="es", headers=desk)
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "waitlisted")).all()
    assert {row.to_address for row in rows} == {"eva@example.org", "eli@example.org"}
    for row in rows:
        assert "Evening circle" not in row.body_text + row.body_html and "Skills group" not in row.body_text
    english = next(row for row in rows if row.to_address == "eva@example.org")
    assert "The group is full at the moment" in english.body_text and " · Evening circle · " in english.subject
    spanish = next(row for row in rows if row.to_address == "eli@example.org")
    # The clinic wrote its calendar title in English: a Spanish reader gets the generic one in theirs.
    assert "el grupo está completo" in spanish.body_text and " · Sesión de grupo · " in spanish.subject


def test_staff_mail_speaks_the_language_the_member_chose_whoever_it_is_about(app, client, make_staff):
    from flask_babel import force_locale

    from scheduler.foundation.database import write_transaction
    from scheduler.notifications.outbox import queue_to_staff
    from scheduler.staff.services import choose_language

    dana, _token = make_staff("front_desk", name="Dana Desk")
    luis, _token = make_staff("front_desk", name="Luis Mesa")
    choose_language(luis, "es")
    flag = {
        "participant_name": "Ana Pérez",
        "missed": 4,
        "group": "the Thursday group",
        "limit": 3,
        "last_attended": None,
        "desk_url": "https://scheduler.test/desk/enrolments/x",
    }

    with write_transaction(), force_locale("es"):  # as if written while a Spanish message was being made
        queue_to_staff(dana, "attendance_flag", **flag)
        queue_to_staff(luis, "attendance_flag", **flag)

    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "attendance_flag")).all()
    english, spanish = sorted(rows, key=lambda row: row.to_address != dana.email)
    assert english.subject == "Attendance follow-up needed · Test Clinic"
    assert english.body_text.startswith("Hello Dana Desk,") and "has missed 4 sessions in a row" in english.body_text
    assert spanish.subject == "Se necesita seguimiento de asistencia · Test Clinic"
    assert spanish.body_text.startswith("Hola, Luis Mesa:") and "ha faltado a 4 sesiones seguidas" in spanish.body_text
    assert '<html lang="es">' in spanish.body_html and _english_left(spanish.body_text, ["the Thursday group"]) == []


def test_individual_sessions_are_told_in_the_persons_language(app, client, auth, make_cohort):
    from scheduler.notifications.outbox import ensure_rendered
    from scheduler.staff.services import create_staff
    from tests.integration.admission.test_intakes import mail_to

    desk = auth("front_desk")
    cohort = make_cohort(price_amount=0)
    ana = enrolled(client, cohort, "ana@example.org", "Ana Pérez", locale="es", headers=desk)
    tess = create_staff("hart@staff.test", "Dr Tess Hart", "facilitator")
    plan = {"weekday": "tuesday", "start_time": "10:00", "timezone": "America/New_York", "start_date": "2030-10-22"}
    plan |= {"count": 2, "duration_minutes": 50, "meeting_url": "https://video.example/therapy/9", "staff_id": tess.id}
    with time_machine.travel(cohort.sessions[0].starts_at - timedelta(days=30), tick=False):
        booked = client.post(f"/api/v1/enrolments/{ana['id']}/individual-series", json=plan, headers=desk)
        assert booked.status_code == 201, booked.json
        moved = client.patch(
            f"/api/v1/appointments/{booked.json[0]['id']}", json={"starts_at": "2030-10-23T14:00:00Z"}, headers=desk
        )
        assert moved.status_code == 200, moved.json
    [scheduled] = mail_to("ana@example.org", "individual_scheduled")
    [notice] = mail_to("ana@example.org", "individual_moved")
    for row in (scheduled, notice):
        ensure_rendered(row)
        for part in (row.subject, row.body_text, row.body_html):
            assert _english_left(part, ["Dr Tess Hart"]) == [], part
    assert scheduled.subject.startswith("Sus sesiones individuales, la primera el martes, 22 de octubre de 2030")
    assert "2 sesiones de 50 minutos, por video" in scheduled.body_text
    assert "cambió al miércoles, 23 de octubre de 2030 a las 10:00 EDT" in notice.body_text


def test_a_request_for_an_intake_is_answered_in_the_language_it_was_made_in(client, auth, make_program):
    from tests.integration.admission.test_intakes import ask, intake_link, mail_to

    program = make_program(admission="intake", name="Dialectical skills")
    assert ask(client, program, "ana@example.org", "Ana Pérez", locale="es").status_code == 202
    intake_id, _me = intake_link("ana@example.org")
    outcome = {"outcome": "approved", "note": "Fits the group"}
    told = client.post(f"/api/v1/intakes/{intake_id}/outcome", json=outcome, headers=auth("front_desk"))
    assert told.status_code == 200, told.json
    [answer] = mail_to("ana@example.org", "intake_link")
    [news] = mail_to("ana@example.org", "intake_outcome")
    assert answer.subject == "Su enlace personal · Test Clinic"
    assert "Gracias por solicitar un lugar." in answer.body_text
    assert news.subject == "Novedades sobre su solicitud · Test Clinic"
    assert "Con gusto le ofreceremos un lugar en el grupo" in news.body_html
    for row in (answer, news):
        assert "Dialectical" not in row.body_text + row.body_html
        for part in (row.subject, row.body_text, row.body_html):
            assert _english_left(part, []) == [], part


def test_a_transfer_is_told_in_spanish_money_and_all(client, auth, make_cohort):
    from scheduler.notifications.outbox import ensure_rendered

    desk = auth("front_desk")
    source, dearer = make_cohort(price_amount=36000), make_cohort(price_amount=40000)
    ana = enrolled(client, source, "ana@example.org", "Ana Pérez", locale="es", headers=desk)
    paid = {"method": "cash", "amount": 36000}
    assert client.post(f"/api/v1/enrolments/{ana['id']}/confirm", json=paid, headers=desk).status_code == 200
    moved = client.post(f"/api/v1/enrolments/{ana['id']}/transfer", json={"cohort_id": dearer.id}, headers=desk)
    assert moved.status_code == 200, moved.json
    # The desk reads the change in English; Ana reads it in Spanish.
    assert moved.json["transfer"]["detail"].endswith("$40.00 is left to pay.")
    db.session.rollback()
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "transferred")).one()
    ensure_rendered(told)
    assert "El nuevo grupo cuesta $400.00 en lugar de $360.00: le quedan $40.00 por pagar." in told.body_text
    assert told.subject.startswith("Su grupo cambió, primera sesión el jueves, 3 de octubre de 2030")
    topics = [s.title for s in dearer.sessions]
    for part in (told.subject, told.body_text, told.body_html):
        assert _english_left(part, topics) == [], part


def test_a_changed_session_is_told_in_each_persons_language(client, auth, make_cohort, make_enrolment):
    cohort = make_cohort(price_amount=0)
    make_enrolment(cohort, email="ana@example.org", name="Ana Pérez", locale="es")
    make_enrolment(cohort, email="ben@example.org", name="Ben Ortiz", locale="en")
    third = cohort.sessions[2]
    later = (third.starts_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    moved = client.patch(f"/api/v1/sessions/{third.id}", json={"starts_at": later}, headers=auth("front_desk"))
    assert moved.status_code == 200, moved.json
    db.session.rollback()
    told = {
        m.to_address: m
        for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "session_changed"))
    }
    spanish, english = told["ana@example.org"], told["ben@example.org"]
    assert spanish.subject.startswith("Cambio: la sesión del jue 17 oct · Sesión de grupo")
    assert "La sesión 3 de su grupo cambió." in spanish.body_text
    assert "Antes: jueves, 17 de octubre de 2030 a las 18:00 EDT" in spanish.body_text
    assert "Ahora: jueves, 17 de octubre de 2030 a las 19:00 EDT" in spanish.body_text
    topics = [s.title for s in cohort.sessions]
    for part in (spanish.subject, spanish.body_text, spanish.body_html):
        assert _english_left(part, topics) == [], part
    assert english.subject.startswith("Changed: the session on Thu Oct 17 · Group session")
    assert "Session 3 of your group has changed." in english.body_text
    assert "Was: Thursday, October 17, 2030 at 6:00 PM EDT" in english.body_text
