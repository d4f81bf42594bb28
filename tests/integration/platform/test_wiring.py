"""What every write sets off is the table in scheduler/wiring.py: installed by create_app, and nothing else."""

import subprocess
import sys

import pytest
from sqlalchemy import select

from scheduler import wiring
from scheduler.cohorts import revisions
from scheduler.cohorts.models import Cohort
from scheduler.foundation import changes, events
from scheduler.foundation.extensions import db


def test_what_is_installed_is_the_table(app):
    assert events.installed() == {event: tuple(handlers) for event, handlers in wiring.HANDLERS.items()}
    for plug_in, value in wiring.PLUG_INS:
        assert plug_in.installed and plug_in.value is value
    assert revisions.watched() == wiring.WATCHED
    assert changes.installed() == wiring.DERIVERS
    assert [d.name for d in changes.installed()] == ["list revisions", "stored feeds"]  # lists, then feeds


def test_every_event_a_domain_defines_has_a_line_in_the_table():
    import dataclasses

    from scheduler.admission import events as admission_events
    from scheduler.appointments import events as appointment_events
    from scheduler.cohorts import events as cohort_events
    from scheduler.enrolment import events as enrolment_events
    from scheduler.staff import events as staff_events

    defined = {
        value
        for module in (admission_events, appointment_events, cohort_events, enrolment_events, staff_events)
        for value in vars(module).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__
    }
    assert defined == set(wiring.HANDLERS)


def test_importing_every_module_installs_nothing():
    """Import every module of the package in a fresh interpreter, without create_app: nothing is live."""
    script = """
import pkgutil, importlib, scheduler
for info in pkgutil.walk_packages(scheduler.__path__, "scheduler."):
    importlib.import_module(info.name)
from scheduler import wiring
from scheduler.cohorts import revisions
from scheduler.foundation import changes, events
assert events.installed() == {}, events.installed()
assert not any(plug_in.installed for plug_in, _ in wiring.PLUG_INS)
assert revisions.watched() == {} and changes.installed() == ()
print("nothing installed")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "nothing installed" in done.stdout


def test_a_commit_that_skips_the_derived_data_is_refused_and_nothing_is_written(app, make_cohort):
    """Derived data is settled by write_transaction before it commits, never in a commit hook:
    a bare commit of a changed cohort would leave its list revision and feeds stale, so it fails."""
    cohort = make_cohort(name="Before")
    revision = cohort.revision
    db.session.get(Cohort, cohort.id).name = "After"
    with pytest.raises(RuntimeError, match="outside write_transaction"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(Cohort.name).where(Cohort.id == cohort.id)) == "Before"
    assert db.session.scalar(select(Cohort.revision).where(Cohort.id == cohort.id)) == revision
