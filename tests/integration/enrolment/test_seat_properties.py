"""Issue 23: any interleaving of enrolling, withdrawing, paying, holds and offers lapsing, the job
expiring them, and offers accepted or declined keeps a cohort's seats and waitlist right.

A Hypothesis state machine drives a small cohort through the public API (the 202 answer, then the
worker's inbox job, as a person and the worker do), the front desk's payment, the expiry job and
a clock that moves. After every step, on both databases:
  - the seats taken (confirmed, and holds and offers not yet past their expiry: Enrolment.holds_seat)
    are at most the capacity, and the cohort's public figure says as many are free;
  - the waitlist, as the desk sees it, is numbered 1, 2, … with no gap and is in arrival order
    (the order the people's requests were carried out in);
  - seats go in arrival order: nobody still waiting came before anyone who got a seat (on arrival,
    or offered from the waitlist), so no newcomer passes the waitlist and offers go to its head;
  - nobody both holds a seat and waits, and nobody has two active enrolments here;
  - every request the worker took was carried out (none left failing).
No sleeps: time moves only when a step moves it (time-machine).
"""

from datetime import UTC, date, datetime, timedelta

import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from scheduler.enrolment.jobs import expire_holds_and_offers
from scheduler.enrolment.models import ACTIVE, SEAT_STATUSES, Enrolment
from scheduler.foundation.extensions import db
from scheduler.inbox.models import PublicRequest
from tests.helpers import bearer, handle_inbox

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
PEOPLE = [f"person{n}@example.org" for n in range(5)]
# How far a step moves the clock: within a hold, past an unopened link's 30 minutes, past a
# manual hold of 1 or 3 hours, past an offer of 1 or 24 hours.
STEPS = [timedelta(minutes=10), timedelta(minutes=31), timedelta(hours=1, minutes=5), timedelta(hours=3, minutes=1)]
STEPS.append(timedelta(hours=24, minutes=1))
PICK = st.integers(0, len(PEOPLE) - 1)  # which of the people a step applies to
# Deterministic and short: the same examples every run, a few tens of seconds per database.
SETTINGS = settings(
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class SeatsAndWaitlist(RuleBasedStateMachine):
    """One cohort of 1–3 seats, free or paid, and five people coming and going."""

    def __init__(self, client, make_cohort, desk):
        super().__init__()
        self.client, self.make_cohort, self.desk = client, make_cohort, desk
        self.traveller = time_machine.travel(T0, tick=False)
        self.clock = self.traveller.start()
        self.cohort = None
        self.rows: list[Enrolment] = []
        self.arrival: dict[str, int] = {}  # enrolment id -> when its request was carried out (0, 1, …)
        self.asked: list[str] = []  # emails whose requests wait for the worker, in the order sent
        self.seated: set[str] = set()  # every enrolment seen holding a seat (or offered one)

    @initialize(
        capacity=st.integers(1, 3),
        price=st.sampled_from([0, 36000]),
        manual_hold_hours=st.sampled_from([1, 3]),
        offer_hours=st.sampled_from([1, 24]),
    )
    def open_cohort(self, capacity, price, manual_hold_hours, offer_hours):
        self.cohort = self.make_cohort(
            capacity=capacity,
            price_amount=price,
            manual_hold_hours=manual_hold_hours,
            offer_hours=offer_hours,
            confirm_email_minutes=30,
            start_date=date(2031, 1, 9),  # public enrolment stays open however far the clock moves
        )
        self.capacity = capacity

    # ---- steps (each picks among the people it applies to; none is a no-op) ----------------

    @rule(emails=st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4))
    def enrol(self, emails):
        """People enrol on the public page (answered 202); the worker then carries out every waiting request."""
        for email in emails:
            self.ask(email)
        self.worker_runs()

    @rule(email=st.sampled_from(PEOPLE))
    def ask(self, email):
        """A person enrols, and the worker has not come to it yet (a later step carries it out)."""
        response = self.client.post(
            f"/api/v1/cohorts/{self.cohort.id}/enrolments", json={"name": "Sam Rivera", "email": email}
        )
        assert response.status_code == 202, response.get_json()
        self.asked.append(email)

    @precondition(lambda self: self.asked)
    @rule()
    def worker_runs(self):
        """The worker carries out every waiting request, in the order they came."""
        handle_inbox()
        rows = self._rows()
        for email in self.asked:
            made = next((e for e in rows if e.email == email and e.status in ACTIVE), None)
            if made is not None and made.id not in self.arrival:
                self.arrival[made.id] = len(self.arrival)
        self.asked = []

    @precondition(lambda self: self._some("pending_payment", unopened=True))
    @rule(pick=PICK)
    def opens_link(self, pick):
        """The person opens the emailed link: a held seat is held anew for the normal length."""
        enrolment = self._pick(pick, "pending_payment", unopened=True)
        answer = self.client.get(f"/api/v1/enrolments/{enrolment.id}", headers=bearer(enrolment.manage_token))
        assert answer.status_code == 200, answer.get_json()

    @precondition(lambda self: self._some(*ACTIVE))
    @rule(pick=PICK)
    def withdraws(self, pick):
        self._as_person(self._pick(pick, *ACTIVE), "withdraw", {})

    @precondition(lambda self: self._some("offered"))
    @rule(pick=PICK)
    def accepts_offer(self, pick):
        self._as_person(self._pick(pick, "offered"), "accept", {})

    @precondition(lambda self: self._some("offered"))
    @rule(pick=PICK)
    def declines_offer(self, pick):
        self._as_person(self._pick(pick, "offered"), "decline", None)

    @precondition(lambda self: self._some("pending_payment"))
    @rule(pick=PICK)
    def pays_at_desk(self, pick):
        """The front desk takes the whole balance of a held seat."""
        enrolment = self._pick(pick, "pending_payment")
        lapsed = enrolment.lapsed(self._now())
        response = self.client.post(
            f"/api/v1/enrolments/{enrolment.id}/confirm",
            json={"method": "cash", "amount": enrolment.amount_due},
            headers=self.desk,
        )
        # A lapsed hold is confirmed only if a seat is free for it; otherwise 409 and no seat.
        assert response.status_code == 200 or (lapsed and response.status_code == 409), response.get_json()

    @rule(step=st.sampled_from(STEPS))
    def time_passes(self, step):
        self.clock.shift(step)

    @precondition(lambda self: self._some("pending_payment", "offered"))
    @rule()
    def expiry_job_runs(self):
        expire_holds_and_offers()
        db.session.rollback()

    # ---- what holds after every step -------------------------------------------------------

    @invariant()
    def after_every_step(self):
        """Read the cohort once (the next step picks among these rows), then check all that must hold."""
        if self.cohort is None:
            return
        self.rows = self._rows()
        now = self._now()
        self._seats_taken_are_at_most_the_capacity(now)
        self._waitlist_is_numbered_without_gaps_in_arrival_order()
        self._seats_go_in_arrival_order()
        self._nobody_is_seated_and_waiting(now)
        self._every_request_taken_was_carried_out()

    def _seats_taken_are_at_most_the_capacity(self, now):
        taken = sum(1 for e in self.rows if e.holds_seat(now))
        assert taken <= self.capacity, f"{taken} seats taken of {self.capacity}"
        shown = self.client.get(f"/api/v1/cohorts/{self.cohort.id}").get_json()
        assert shown["seats_available"] == self.capacity - taken, shown

    def _waitlist_is_numbered_without_gaps_in_arrival_order(self):
        line = self.client.get(f"/api/v1/cohorts/{self.cohort.id}/waitlist", headers=self.desk).get_json()
        waiting = [entry for entry in line if entry["status"] == "waitlisted"]
        assert [entry["waitlist_position"] for entry in waiting] == list(range(1, len(waiting) + 1)), waiting
        arrivals = [self.arrival[entry["id"]] for entry in waiting]
        assert arrivals == sorted(arrivals), f"the waitlist is out of arrival order: {arrivals}"
        ranks = [e.waitlist_rank for e in self.rows if e.status == "waitlisted"]
        assert len(set(ranks)) == len(ranks), f"two people share a waitlist rank: {sorted(ranks)}"

    def _seats_go_in_arrival_order(self):
        # Every seat is seen taken after the step that gave it (a step gives or ends a seat, not both).
        self.seated |= {e.id for e in self.rows if e.status in SEAT_STATUSES}
        waiting = [self.arrival[e.id] for e in self.rows if e.status == "waitlisted"]
        if waiting and self.seated:
            last_seated = max(self.arrival[e] for e in self.seated)
            assert last_seated < min(waiting), "someone got a seat before a person who came earlier and waits"

    def _nobody_is_seated_and_waiting(self, now):
        by_person: dict[str, list[Enrolment]] = {}
        for enrolment in self.rows:
            if enrolment.status in ACTIVE:
                by_person.setdefault(enrolment.participant_id, []).append(enrolment)
        for enrolments in by_person.values():
            assert len(enrolments) == 1, [(e.email, e.status) for e in enrolments]
            seated = any(e.holds_seat(now) for e in enrolments)
            assert not (seated and any(e.status == "waitlisted" for e in enrolments))

    def _every_request_taken_was_carried_out(self):
        failing = db.session.scalars(select(PublicRequest.last_error).where(PublicRequest.last_error.is_not(None)))
        assert failing.all() == []

    def teardown(self):
        # The rows stay (the app fixture empties the tables after the test): each example has a
        # cohort of its own, and emptying every table 30 times would cost more than the examples.
        self.traveller.stop()
        db.session.rollback()

    # ---- helpers -----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def _rows(self) -> list[Enrolment]:
        db.session.rollback()  # what is committed now
        return db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == self.cohort.id)).all()

    def _some(self, *statuses, unopened=False) -> bool:
        return any(self._of(statuses, unopened))

    def _pick(self, pick: int, *statuses, unopened=False) -> Enrolment:
        among = self._of(statuses, unopened)
        return among[pick % len(among)]

    def _of(self, statuses, unopened) -> list[Enrolment]:
        rows = sorted(self.rows, key=lambda e: e.email)  # as the last step left them
        return [e for e in rows if e.status in statuses and not (unopened and e.email_confirmed_at)]

    def _as_person(self, enrolment, action, body):
        """The person does `action` with their manage token; only a lapsed hold or offer may refuse it."""
        lapsed = enrolment.lapsed(self._now())
        response = self.client.post(
            f"/api/v1/enrolments/{enrolment.id}/{action}", json=body, headers=bearer(enrolment.manage_token)
        )
        expected = 409 if lapsed else 200
        assert response.status_code == expected, (action, enrolment.status, response.get_json())


def test_any_interleaving_keeps_seats_within_capacity_and_the_waitlist_in_order(client, make_cohort, auth):
    desk = auth("front_desk")
    run_state_machine_as_test(lambda: SeatsAndWaitlist(client, make_cohort, desk), settings=SETTINGS)
