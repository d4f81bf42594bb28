"""Privacy jobs: erase what RETENTION_DAYS says is no longer kept."""

from . import erasure


def erase_after_retention() -> int:
    """Erase the personal data and messages of enrolments whose cohort ended over RETENTION_DAYS ago."""
    return erasure.erase_after_retention()
