"""The console's words for times and codes: English as it always read, Spanish dates as Spanish writes them."""

from datetime import UTC, datetime, timedelta

import time_machine
from flask_babel import force_locale

from scheduler.desk import presenters

SIX_PM_EDT = datetime(2030, 10, 3, 22, 0, tzinfo=UTC)  # Thursday, 6:00 PM in New York


def test_console_times_read_as_before_in_english_and_as_spanish_writes_them(app):
    with app.app_context():
        with force_locale("en"):
            assert presenters.when(SIX_PM_EDT, "America/New_York") == "Thu, Oct 3, 6:00 PM EDT"
            assert presenters.day(SIX_PM_EDT, "America/New_York") == "Thu, Oct 3, 2030"
        with force_locale("es"):
            assert presenters.when(SIX_PM_EDT, "America/New_York") == "jue 3 oct, 18:00 EDT"
            assert presenters.day(SIX_PM_EDT, "America/New_York") == "jue 3 oct 2030"
        assert presenters.when(None, "America/New_York") == ""


def test_relative_times_keep_their_english_wording(app):
    with app.app_context(), force_locale("en"), time_machine.travel(SIX_PM_EDT, tick=False):
        assert presenters.relative(SIX_PM_EDT + timedelta(seconds=30)) == "in less than a minute"
        assert presenters.relative(SIX_PM_EDT + timedelta(minutes=25)) == "in 25 min"
        assert presenters.relative(SIX_PM_EDT - timedelta(minutes=5)) == "5 min ago"
        assert presenters.relative(SIX_PM_EDT + timedelta(hours=3)) == "in 3 h"
        assert presenters.relative(SIX_PM_EDT - timedelta(days=3)) == "3 days ago"


def test_a_code_reads_as_its_label_and_a_code_without_one_as_its_own_words(app):
    with app.app_context(), force_locale("en"):
        assert presenters.label(presenters.ENROLMENT_STATUS, "pending_payment") == "Pending payment"
        assert presenters.label(presenters.ACTIONS, "link_opened") == "Link opened"
        assert presenters.label(presenters.ACTIONS, "something_new") == "Something new"
        assert presenters.label(presenters.METHODS, None) == ""
        assert presenters.intake_action("assessment_booked") == "assessment booked"
        assert ", ".join(presenters.label(presenters.METHODS, m) for m in ("cash", "check")) == "Cash, Check"
