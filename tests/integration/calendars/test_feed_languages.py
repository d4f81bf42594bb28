"""Languages in a person's calendar (issue 22): the feed and the .ics of someone who chose Spanish
speak Spanish (title, description, calendar name), read back by vobject, a reader independent of
the icalendar library that builds them; an English person's feed and the staff feed are unchanged.
No title names the program or what it treats, in either language."""

import vobject

from scheduler.calendars import services as calendars
from scheduler.foundation.links import cohort_feed_urls, enrolment_feed_urls, join_url
from tests.helpers import bearer


def _read(raw: bytes):
    zones = vars(vobject.icalendar)["__tzidMap"]  # vobject keeps zones per process: read each feed with its own
    for tzid in [tzid for tzid in zones if tzid != "UTC"]:
        del zones[tzid]
    return vobject.readOne(raw.decode())


def _feed(client, url: str):
    response = client.get(url.removeprefix("https://scheduler.test"))
    assert response.status_code == 200
    return _read(response.data)


def _group(make_program, make_cohort):
    program = make_program(name="Depression Recovery Group", calendar_title="Evening circle")
    return make_cohort(program=program, price_amount=0)


def test_a_spanish_persons_feed_is_in_spanish_and_an_english_persons_in_english(
    app, client, make_program, make_cohort, make_enrolment
):
    cohort = _group(make_program, make_cohort)
    ana = make_enrolment(cohort, name="Ana Pérez", locale="es")
    ben = make_enrolment(cohort, name="Ben Ortiz", locale="en")
    with app.test_request_context():
        spanish_url, english_url = enrolment_feed_urls(ana)["calendar_url"], enrolment_feed_urls(ben)["calendar_url"]
        ana_link, ben_link = join_url(ana), join_url(ben)

    spanish = _feed(client, spanish_url)
    assert spanish.contents["x-wr-calname"][0].value == "Sesiones de grupo"
    assert len(spanish.vevent_list) == len(cohort.sessions)
    for event in spanish.vevent_list:
        assert event.summary.value == "Sesión de grupo"
        assert event.description.value == f"Únase en línea: {ana_link}"
        assert event.location.value == ana_link

    english = _feed(client, english_url)
    assert english.contents["x-wr-calname"][0].value == "Group sessions"
    for event in english.vevent_list:
        assert (event.summary.value, event.description.value) == ("Evening circle", f"Join online: {ben_link}")

    staff = _feed(client, cohort_feed_urls(cohort)["calendar_url"])  # the facilitators' feed stays English
    assert {event.summary.value for event in staff.vevent_list} == {"Evening circle"}
    for calendar in (spanish, english, staff):
        text = calendar.serialize()
        assert "Depression" not in text and "depression" not in text and "Ana" not in text


def test_the_stored_feed_and_a_fresh_build_agree_in_each_language(
    app, client, make_program, make_cohort, make_enrolment
):
    """Feeds are stored when an input changes (one build per cohort and language, filled per person):
    what is served is what building it now gives."""
    cohort = _group(make_program, make_cohort)
    people = [make_enrolment(cohort, locale=locale) for locale in ("es", "en", "es", None)]
    for person in people:
        with app.test_request_context():
            url = enrolment_feed_urls(person)["calendar_url"]
            fresh = calendars.fresh_enrolment_feed(person)
        assert client.get(url.removeprefix("https://scheduler.test")).data == fresh
    # No language chosen: the clinic's (en_US).
    assert "SUMMARY:Evening circle" in fresh.decode()


def test_a_spanish_persons_feed_keeps_its_spanish_name_once_they_withdraw(
    app, client, make_program, make_cohort, make_enrolment
):
    cohort = _group(make_program, make_cohort)
    ana = make_enrolment(cohort, name="Ana Pérez", locale="es")
    with app.test_request_context():
        url = enrolment_feed_urls(ana)["calendar_url"]
    assert len(_feed(client, url).vevent_list) == len(cohort.sessions)
    withdrawn = client.post(f"/api/v1/enrolments/{ana.id}/withdraw", headers=bearer(ana.manage_token), json={})
    assert withdrawn.status_code == 200, withdrawn.get_json()
    emptied = _feed(client, url)
    assert emptied.contents["x-wr-calname"][0].value == "Sesiones de grupo"  # the calendar keeps its name
    assert not getattr(emptied, "vevent_list", [])


def test_the_ics_attached_to_a_spanish_confirmation_is_in_spanish(app, make_program, make_cohort, make_enrolment):
    cohort = _group(make_program, make_cohort)
    ana = make_enrolment(cohort, name="Ana Pérez", locale="es")
    with app.test_request_context():
        attached = _read(calendars.enrolment_ics(ana))
    assert {event.summary.value for event in attached.vevent_list} == {"Sesión de grupo"}
    assert all(event.description.value.startswith("Únase en línea: ") for event in attached.vevent_list)


def test_a_clinic_that_writes_in_spanish_keeps_its_own_title_for_spanish_readers(
    app, client, make_program, make_cohort, make_enrolment
):
    app.config["CLINIC_LOCALE"] = "es_MX"
    program = make_program(name="Grupo de habilidades", calendar_title="Sesión del jueves")
    cohort = make_cohort(program=program, price_amount=0)
    eva = make_enrolment(cohort, locale="es")
    eli = make_enrolment(cohort, locale="en")
    with app.test_request_context():
        spanish = _feed(client, enrolment_feed_urls(eva)["calendar_url"])
        english = _feed(client, enrolment_feed_urls(eli)["calendar_url"])
    assert {event.summary.value for event in spanish.vevent_list} == {"Sesión del jueves"}
    # The clinic's title is in Spanish: an English reader gets the generic title in English.
    assert {event.summary.value for event in english.vevent_list} == {"Group session"}
