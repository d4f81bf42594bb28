"""Enrolment: a person's place in a cohort, from enrolling to paying, waiting, moving and leaving.

The use cases live in these modules, each depending only on the ones below it:

    staff_actions   what staff do: search, roster, waitlist, move, offer, confirm, price, transfer, audit
    self_service    the participant's own enrolment: manage token, view, withdraw, accept, decline,
                    accept the program's agreements
    requested       public requests: queued in the inbox, carried out by the worker, opened by their link
    enrolling       enrol: idempotency, the participant, the price, a seat, a hold or the waitlist
    paying          paying for a held seat: card or desk, how to pay now, desk payments, receipts
    seat_keeping    seats changing hands: lapsed holds and offers, offers to the waitlist, payment
                    confirming a seat, a cancelled cohort
    refunding       money going back: the refund policy, refunding, refunds the desk owes
    views, audit    what they all share: the view they return, loading and locking, the audit log

Above them: api.py (HTTP), rosters.py (the roster rendered once per cohort revision),
checkout.py (Stripe's webhook and the card-payment jobs), jobs.py and handlers.py; below:
prices.py, seats.py, agreements.py (what the person accepted of the program's agreements: the gate
before confirmed), models.py, events.py. .importlinter holds the order.

Lock, recount, write: every change that can take or free a seat runs inside write_transaction(),
first takes the cohort row's lock (views.lock_enrolment, or foundation.database.lock), then
counts seats from the enrolment rows (seats.py), then writes. Stripe is called only after the commit
(payments.ledger.create_intent). People hear of every change through events (events.py) that the
notifications domain handles (scheduler/wiring.py); staff actions are written to the audit log.
"""
