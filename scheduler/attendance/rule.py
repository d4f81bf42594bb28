"""The missed-sessions rule and completion, as pure functions over one person's sessions (no database).

DBT programs commonly end a person's place after four consecutive missed sessions;
here reaching the program's limit only flags the enrolment for the front desk to
follow up (a person decides, never the software).

- A session counts once it holds a record for the person: present and late are
  attended; absent is missed; excused is missed only when the program says so,
  otherwise it is passed over like a session with no record (a week off neither
  adds to a run nor ends it). Cancelled sessions never count.
- The run is the misses since the last attended session.
- A flag is raised when the misses of the run that come after the last cleared
  flag's acknowledged miss reach the limit, and no flag is open: so one crossing
  raises one flag, and after staff clear it, the limit must be reached again (by
  misses after the clearing) before the next.
"""

from dataclasses import dataclass
from datetime import datetime

ATTENDED = frozenset({"present", "late"})


@dataclass(frozen=True)
class Mark:
    """One session of the person's cohort and their record of it (status None: no record)."""

    session_id: str
    number: int
    starts_at: datetime
    cancelled: bool
    status: str | None


def is_miss(status: str | None, excused_counts_as_missed: bool) -> bool | None:
    """True: a miss; False: attended; None: neither (no record, or an excused absence that does not count)."""
    if status in ATTENDED:
        return False
    if status == "absent" or (status == "excused" and excused_counts_as_missed):
        return True
    return None


def current_run(marks: list[Mark], excused_counts_as_missed: bool) -> list[Mark]:
    """The misses since the last attended session, oldest first."""
    run = []
    for mark in sorted(marks, key=lambda m: (m.starts_at, m.number), reverse=True):
        if mark.cancelled:
            continue
        missed = is_miss(mark.status, excused_counts_as_missed)
        if missed is False:
            break
        if missed:
            run.append(mark)
    return run[::-1]


def crosses_limit(run: list[Mark], limit: int, acknowledged_through: datetime | None, flag_open: bool) -> bool:
    """Whether this run raises a flag now (limit 0: the rule is off)."""
    if limit <= 0 or flag_open:
        return False
    fresh = [m for m in run if acknowledged_through is None or m.starts_at > acknowledged_through]
    return len(fresh) >= limit


def attended(marks: list[Mark]) -> list[Mark]:
    """The sessions attended (present or late), cancelled ones left out."""
    return [m for m in marks if not m.cancelled and m.status in ATTENDED]


def completion_threshold(setting: int | None, countable_sessions: int) -> int:
    """Sessions to attend to complete: the program's setting (at most the sessions held), else 80 % rounded up."""
    if setting is None:
        return -(-countable_sessions * 4 // 5)
    return min(setting, countable_sessions)


def completed(marks: list[Mark], setting: int | None) -> bool:
    """Attended at least the completion threshold of the sessions that were held."""
    countable = sum(1 for m in marks if not m.cancelled)
    return countable > 0 and len(attended(marks)) >= completion_threshold(setting, countable)
