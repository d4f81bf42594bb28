"""The missed-sessions rule and completion as pure functions: a table of attendance sequences -> flag or not."""

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.attendance import rule

T0 = datetime(2030, 10, 3, 22, 0, tzinfo=UTC)
CODES = {"P": "present", "L": "late", "A": "absent", "E": "excused", "-": None}


def marks(sequence: str) -> list[rule.Mark]:
    """One mark per session, a week apart: P L A E (records), - (no record), X (a cancelled session marked absent)."""
    return [
        rule.Mark(
            session_id=f"ses_{n}",
            number=n,
            starts_at=T0 + timedelta(weeks=n - 1),
            cancelled=code == "X",
            status="absent" if code == "X" else CODES[code],
        )
        for n, code in enumerate(sequence.split(), start=1)
    ]


@pytest.mark.parametrize(
    ("sequence", "excused_counts", "limit", "run", "flag"),
    [
        ("A A A A", False, 4, 4, True),
        ("A A A", False, 4, 3, False),
        ("P A A A A", False, 4, 4, True),
        ("A A P A A", False, 4, 2, False),  # one attended session resets the count
        ("A A L A A", False, 4, 2, False),  # late is attended
        ("A A E A A", False, 4, 4, True),  # an excused week off neither adds nor resets
        ("A A E A", False, 4, 3, False),
        ("A A E A", True, 4, 4, True),  # … unless the program counts excused as missed
        ("E E E E", False, 4, 0, False),
        ("E E E E", True, 4, 4, True),
        ("A A X A", False, 4, 3, False),  # a cancelled session does not count
        ("A A X A A", False, 4, 4, True),
        ("A A - A A", False, 4, 4, True),  # a session without a record is passed over
        ("A A A A P", False, 4, 0, False),
        ("A A A", False, 3, 3, True),
        ("A A A A A A", False, 0, 6, False),  # 0 turns the rule off
        ("", False, 4, 0, False),
    ],
)
def test_the_rule(sequence, excused_counts, limit, run, flag):
    current = rule.current_run(marks(sequence), excused_counts)
    assert len(current) == run
    assert rule.crosses_limit(current, limit, acknowledged_through=None, flag_open=False) is flag


def test_an_open_flag_is_not_raised_again_and_a_cleared_one_needs_the_limit_again():
    run = rule.current_run(marks("A A A A A A"), False)
    assert not rule.crosses_limit(run, 4, None, flag_open=True)
    # Cleared after the fourth miss: two more are not yet a new crossing, four more are.
    fourth = run[3].starts_at
    assert not rule.crosses_limit(run, 4, fourth, flag_open=False)
    longer = rule.current_run(marks("A A A A A A A A"), False)
    assert rule.crosses_limit(longer, 4, fourth, flag_open=False)


@pytest.mark.parametrize(
    ("setting", "sessions", "needed"),
    [(None, 12, 10), (None, 10, 8), (None, 8, 7), (None, 1, 1), (6, 12, 6), (10, 8, 8)],
)
def test_completion_threshold_is_80_percent_rounded_up_or_the_setting(setting, sessions, needed):
    assert rule.completion_threshold(setting, sessions) == needed


def test_completion_counts_attended_sessions_of_those_held():
    assert rule.completed(marks("P P P P L P P P A A"), None)  # 8 of 10
    assert not rule.completed(marks("P P P P L P P A A A"), None)  # 7 of 10
    assert rule.completed(marks("P P P P L P P X X A"), None)  # 7 of the 8 held (threshold 7)
    assert not rule.completed(marks("E E E E"), None)  # excused is not attended
    assert not rule.completed(marks(""), None)
