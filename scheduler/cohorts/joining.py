"""Late joiners: whether a cohort takes people now, from which session, and what joining costs.

The one place that decides it; enrolment, the lists, the pages and the console ask here.

- Only an `open` cohort takes people (draft, closed and cancelled ones take nobody).
- The public may enrol until session number `enrol_until_session` has started (default 1: until
  the group begins). A running cohort with a later limit takes people; DBT groups admit at
  module boundaries.
- Staff may enrol anyone until the last session (not cancelled) has started.
- A session has started once the clock reaches its `starts_at`.

Pro-rating (`prorate_late_joiners`), in `prorated`: a person joining once a session has started
pays for the sessions left, `amount × left ÷ held`, where `held` counts the sessions not
cancelled and `left` those of them not yet started, rounded down to the currency's minor unit
(in the person's favour). Before the first session, or with pro-rating off, the price is whole.
Amounts are integers in the minor unit already, so rounding down is integer division.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, select

from ..foundation import i18n
from ..foundation.errors import Conflict, NotFound
from .models import Cohort, CohortStatus, Session, SessionStatus, cohort_status_word


@dataclass(frozen=True)
class Joining:
    """Whether and how a person may join a cohort at one instant."""

    public: bool  # the public may enrol now
    staff: bool  # staff may enrol now
    late: bool  # a session has started: whoever joins now joins late
    from_session: int | None  # the number of the first session not yet started (not cancelled)
    closes_at: datetime | None  # when public enrolment closes: the start of session enrol_until_session
    sessions_left: int  # sessions not cancelled and not yet started
    sessions_held: int  # sessions not cancelled


def _held(cohort: Cohort) -> list[Session]:
    return [s for s in cohort.sessions if s.status != SessionStatus.CANCELLED]


def _not_started(cohort: Cohort, at: datetime) -> bool:
    """True when no session can have started: read from the stored bounds, without loading the sessions."""
    return cohort.first_starts_at is not None and at < cohort.first_starts_at


def _limit_session(cohort: Cohort) -> Session | None:
    return next((s for s in cohort.sessions if s.number == cohort.enrol_until_session), None)


def _last_start(cohort: Cohort) -> datetime | None:
    held = _held(cohort) or cohort.sessions
    return max((s.starts_at for s in held), default=None)


def public_window_open(cohort: Cohort, at: datetime) -> bool:
    """Whether session enrol_until_session has yet to start (and a session is still ahead), whatever the
    status: until then the public may enrol in an open cohort and the waitlist is offered freed seats."""
    limit = _limit_session(cohort)
    return limit is not None and at < limit.starts_at and any(s.starts_at > at for s in _held(cohort))


def joining(cohort: Cohort, at: datetime) -> Joining:
    """Whether the public and staff may enrol now, from which session, and until when (loads the sessions)."""
    held = _held(cohort)
    left = [s for s in held if s.starts_at > at]
    limit = _limit_session(cohort)
    staff = cohort.status == CohortStatus.OPEN and bool(left)  # until the last session has started
    return Joining(
        public=staff and public_window_open(cohort, at),
        staff=staff,
        late=len(left) < len(held),
        from_session=left[0].number if left else None,
        closes_at=limit.starts_at if limit is not None else None,
        sessions_left=len(left),
        sessions_held=len(held),
    )


def check_can_enrol(cohort: Cohort, at: datetime, *, by_staff: bool) -> None:
    """Refuse an enrolment the cohort does not take now: 404 for a draft, 409 saying why otherwise."""
    if cohort.status == CohortStatus.DRAFT:
        raise NotFound(_l("No such cohort."))  # a draft is not public: do not reveal it exists
    if cohort.status == CohortStatus.OPEN and _not_started(cohort, at):
        return  # the usual case, decided without loading the sessions
    status = cohort.display_status(at)
    if cohort.status != CohortStatus.OPEN or status == CohortStatus.COMPLETED:
        raise Conflict(
            _l(
                "This cohort is %(status)s, not open for enrolment.",
                status=cohort_status_word(status),
            )
        )
    now = joining(cohort, at)
    if not now.staff:
        raise Conflict(
            _l(
                "The last session of this cohort began on %(day)s; "
                "it is no longer open for enrolment, not even by the front desk.",
                day=_day(cohort, _last_start(cohort)),
            )
        )
    if not by_staff and not now.public:
        raise Conflict(
            _l(
                "This cohort took new people until session %(number)s began on %(day)s; it is running "
                "and no longer open for enrolment. The front desk may still add you.",
                number=cohort.enrol_until_session,
                day=_day(cohort, now.closes_at),
            )
        )


def prorated(cohort: Cohort, amount: int, at: datetime) -> int:
    """What `amount` (a price for the whole cohort) comes to for a person joining at `at`.

    With prorate_late_joiners, once a session has started: amount × left ÷ held, where held
    counts the sessions not cancelled and left those not yet started, rounded down to the
    currency's minor unit (the person's favour). Otherwise, and before the first session: amount.
    """
    if not cohort.prorate_late_joiners or amount <= 0 or _not_started(cohort, at):
        return amount
    held = _held(cohort)
    left = sum(1 for s in held if s.starts_at > at)
    if not held or left == len(held):
        return amount
    return amount * left // len(held)


def takes_public_clause(at):
    """SQL: the cohort takes public enrolments at `at` (a value or a bound parameter), as joining() says."""
    limit_ahead = exists(
        select(Session.id).where(
            Session.cohort_id == Cohort.id, Session.number == Cohort.enrol_until_session, Session.starts_at > at
        )
    )
    held_ahead = exists(
        select(Session.id).where(
            Session.cohort_id == Cohort.id, Session.status != SessionStatus.CANCELLED, Session.starts_at > at
        )
    )
    return and_(Cohort.status == CohortStatus.OPEN, limit_ahead, held_ahead)


def _day(cohort: Cohort, instant: datetime | None) -> LazyString:
    """An instant as the cohort's local date, for a refusal's words, in the language it is read in:
    the API's English keeps its wording (Thursday 24 October 2030), a translated page says its own."""
    if instant is None:
        return _l("an earlier date")
    local = instant.astimezone(ZoneInfo(cohort.timezone))
    english = f"{local:%A} {local.day} {local:%B %Y}"
    return LazyString(lambda: english if i18n.page_language() == i18n.DEFAULT else i18n.day_text(local))
