"""What every write sets off, in one place: read this file to know what runs when.

Domains depend downwards (privacy > pages > attendance > notifications > calendars >
admission > enrolment > payments > cohorts > staff > inbox, checked by .importlinter). News travels up three ways,
each a table below, installed by create_app (install) and by nothing else: no module
registers anything when it is imported.

- HANDLERS: a domain event (a frozen dataclass in <domain>/events.py, published inside the
  write transaction) and the functions that run for it, in this order, in that transaction.
- PLUG_INS: what a lower domain must ask a higher one (how many seats a cohort's enrolments
  take, whose a manage token is) and the function that answers.
- DERIVERS and WATCHED: data kept from other rows, brought up to date before every commit
  (foundation/changes.py), in this order: the cohorts' list revisions, then the stored feeds.
  WATCHED lists the rows whose change moves a cohort's revision and how to find the cohort;
  the stored feeds read their inputs themselves (calendars/watching.py).
"""

from sqlalchemy import select

from .admission import events as admission_events
from .admission import queue as admission_queue
from .admission import services as admission
from .appointments import events as appointment_events
from .appointments import individual
from .attendance import handlers as attendance
from .attendance import records as attendance_records
from .attendance.models import AttendanceFlag, AttendanceRecord
from .calendars import watching as stored_feeds
from .cohorts import handlers as cohorts
from .cohorts import revisions
from .cohorts import services as cohort_services
from .cohorts.agreements import ProgramAgreement
from .cohorts.events import CohortCancelled, CohortChanged, SeatsAdded, SessionChanged
from .cohorts.models import Cohort, Program, Session, cohort_facilitators
from .enrolment import agreements as enrolment_agreements
from .enrolment import events as enrolment_events
from .enrolment import handlers as enrolment
from .enrolment import paying, prices, requested, seat_keeping, seats
from .enrolment import views as enrolment_views
from .enrolment.models import AgreementAcceptance, Enrolment
from .foundation import auth, changes, events
from .inbox import services as inbox
from .inbox.models import RequestKind
from .notifications import handlers as mail
from .notifications import individual_mail, intake_mail
from .payments import discounts
from .payments.models import Payment, Refund
from .staff import services as staff_services
from .staff.events import SignInLinkIssued, StaffRevoked
from .staff.models import Staff

E = enrolment_events

HANDLERS = {
    # cohorts' events (staff change a cohort or a session)
    SessionChanged: (attendance.apply_the_rule_again, mail.session_changed),
    CohortCancelled: (enrolment.cancel_everyone,),
    SeatsAdded: (enrolment.offer_new_seats,),
    CohortChanged: (enrolment.audit_cohort_change,),
    # enrolment's events: one email each, written in the same transaction (notifications/handlers.py)
    E.SeatHeld: (mail.seat_held,),
    E.Confirmed: (mail.confirmed, admission_queue.seat_taken),
    E.Waitlisted: (mail.waitlisted,),
    E.SeatOffered: (mail.seat_offered,),
    # A seat offered from an intake program's queue, not taken: the person keeps their place in the queue.
    E.HoldExpired: (mail.hold_expired, admission_queue.offer_passed),
    E.OfferExpired: (mail.offer_expired, admission_queue.offer_passed),
    E.Withdrawn: (mail.withdrawn, admission_queue.offer_passed, individual.cancel_with_the_place),
    E.Transferred: (attendance.end_the_join_link_left_behind, mail.transferred),
    E.CancelledWithCohort: (mail.cohort_cancelled, admission_queue.offer_passed, individual.cancel_with_the_place),
    E.EnrolAgainAttempted: (mail.enrol_again_attempted,),
    E.RequestRefused: (mail.request_refused,),
    E.LinkAskedAgain: (mail.link_asked_again,),
    E.RefundPaidOut: (mail.refund_paid,),
    # admission's events: the person's link, a refusal, the assessment's outcome
    admission_events.IntakeAnswered: (intake_mail.intake_answered,),
    admission_events.IntakeRefused: (intake_mail.intake_refused,),
    admission_events.OutcomeRecorded: (intake_mail.outcome_recorded,),
    admission_events.AssessmentBooked: (intake_mail.assessment_booked,),
    admission_events.AssessmentCancelled: (intake_mail.assessment_cancelled,),
    # individual sessions (the full programme)
    appointment_events.SeriesScheduled: (individual_mail.series_scheduled,),
    appointment_events.AppointmentChanged: (individual_mail.appointment_changed,),
    appointment_events.IndividualAttendanceRecorded: (attendance.count_the_individual_session,),
    # staff accounts' events
    StaffRevoked: (cohorts.replace_feeds_a_revoked_facilitator_knew,),
    SignInLinkIssued: (mail.sign_in_link,),
}

PLUG_INS = (
    (cohort_services.seat_counter, seats.seat_counts),
    (discounts.use_counter, prices.count_discount_uses),
    # The API's participant credential; its first use opens the link a public request was emailed.
    (auth.manage_token_check, requested.use_manage_link),
    # The inbox's kinds of public request: how each is carried out, and how a refusal is told.
    (
        inbox.handlers,
        {
            RequestKind.ENROL: (requested.handle, requested.refuse),
            RequestKind.LINK_AGAIN: (requested.handle_link_again, requested.refuse),
            RequestKind.SIGN_IN: (staff_services.handle_sign_in_request, None),
            RequestKind.INTAKE: (admission.handle, admission.refuse),
        },
    ),
    (auth.intake_token_check, admission.intake_token_matches),  # the credential of a person's intake
    # Seats no one on a cohort's waitlist takes go to its program's queue of approved people.
    (seat_keeping.queue_offers, admission_queue.offer_to_queue),
    (
        auth.enrolment_owners,
        {"payment_id": paying.payment_owner, "appointment_id": individual.owner},
    ),  # a receipt opens with its manage token
    # Attendance and the program's agreements in every view that describes enrolments.
    (enrolment_views.describers, (attendance_records.describe_enrolments, enrolment_agreements.describe)),
)


def _cohorts_of_programs(ids):
    return select(Cohort.id).where(Cohort.program_id.in_(ids))


def _cohorts_of_staff(ids):
    return select(cohort_facilitators.c.cohort_id).where(cohort_facilitators.c.staff_id.in_(ids))


# model -> (the keys of a changed row, how those keys become cohort ids: None when they are)
WATCHED = {
    Cohort: (lambda cohort: [cohort.id], None),
    Session: (lambda session: revisions.was_and_is(session, "cohort_id"), None),
    Program: (lambda program: [program.id], _cohorts_of_programs),
    Staff: (lambda member: [member.id], _cohorts_of_staff),  # facilitators' names on the list
    Enrolment: (lambda row: revisions.was_and_is(row, "cohort_id"), None),  # seats, the roster
    Payment: (lambda payment: [payment.enrolment_id], enrolment.cohorts_of_enrolments),  # money on the roster
    Refund: (lambda refund: [refund.enrolment_id], enrolment.cohorts_of_enrolments),
    AttendanceRecord: (lambda record: [record.enrolment_id], enrolment.cohorts_of_enrolments),
    AttendanceFlag: (lambda flag: [flag.cohort_id], None),
    # agreements_due on the roster: a new version, or an acceptance of one.
    ProgramAgreement: (lambda agreement: [agreement.program_id], _cohorts_of_programs),
    AgreementAcceptance: (lambda acceptance: [acceptance.enrolment_id], enrolment.cohorts_of_enrolments),
}

DERIVERS = (revisions.DERIVER, stored_feeds.DERIVER)


def install() -> None:
    """Install every table above (create_app calls this once per app; the tables are the same for all)."""
    events.install(HANDLERS)
    for plug_in, value in PLUG_INS:
        plug_in.install(value)
    revisions.install_watched(WATCHED)
    changes.install(DERIVERS)
