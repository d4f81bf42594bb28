"""marshmallow fields shared by every domain's input schemas."""

import re
from datetime import UTC, date, time
from functools import lru_cache
from zoneinfo import available_timezones

from marshmallow import ValidationError, fields, validate

# Two-decimal currencies we take payments in; amounts are in their minor unit (cents).
CURRENCIES = ("usd", "cad", "eur", "gbp", "aud", "nzd", "chf", "sek", "nok", "dkk")


@lru_cache(maxsize=1)
def _zones() -> frozenset:
    return frozenset(available_timezones())


class Timezone(fields.String):
    """An IANA zone name such as America/New_York."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value not in _zones():
            raise ValidationError("Not a known IANA timezone (for example America/New_York).")
        return value


class WallTime(fields.String):
    """A local wall-clock time, HH:MM on a 24-hour clock."""

    _pattern = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        match = self._pattern.fullmatch(value)
        if not match:
            raise ValidationError("Use HH:MM on a 24-hour clock, for example 18:00.")
        return time(int(match[1]), int(match[2]))

    def _serialize(self, value, attr, obj, **kwargs):
        return value.strftime("%H:%M") if isinstance(value, time) else value


class StrictDate(fields.Date):
    """YYYY-MM-DD only, and a real calendar date."""

    default_error_messages = {"invalid": "Use a real date as YYYY-MM-DD, for example 2026-10-22."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise self.make_error("invalid")
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        return _in_supported_years(parsed)


class LocalDateTime(fields.String):
    """A wall-clock date and time, YYYY-MM-DDTHH:MM[:SS], with or without a UTC offset.

    Loads as (naive datetime, offset or None): which instant it means depends on a
    timezone the field does not know (the cohort's), so the service resolves it.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        from datetime import datetime

        value = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?", value):
            raise ValidationError(
                "Use the local time as YYYY-MM-DDTHH:MM, optionally with the "
                "offset, for example 2026-10-22T18:00 or 2026-10-22T18:00:00-04:00."
            )
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Not a real date and time.") from None
        _in_supported_years(parsed)
        return parsed.replace(tzinfo=None), parsed.utcoffset()


# Dates and instants outside these years are typos; refusing them also keeps date
# arithmetic (a schedule, a UTC conversion) far from datetime's year-1/9999 edges.
FIRST_YEAR, LAST_YEAR = 2000, 2099


def _in_supported_years(value):
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(f"Must be between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31.")
    return value


class Instant(fields.AwareDateTime):
    """An ISO 8601 instant with an offset; dumped in UTC with a Z."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):

        parsed = super()._deserialize(value, attr, data, **kwargs)
        _in_supported_years(parsed)
        return parsed.astimezone(UTC)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None

        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Trimmed(fields.String):
    """A string with surrounding white space removed before it is validated."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def Name(max_length: int = 200, **kwargs):
    """A human-readable name: 1 to max_length characters after trimming."""
    return Trimmed(validate=validate.Length(min=1, max=max_length), **kwargs)


def HttpsUrl(**kwargs):
    return fields.Url(
        schemes={"https"},
        require_tld=False,
        validate=validate.Length(max=2000),
        error_messages={"invalid": "Must be an https:// URL."},
        **kwargs,
    )


def Currency(**kwargs):
    return fields.String(
        validate=validate.OneOf(CURRENCIES, error="Use one of: " + ", ".join(CURRENCIES) + "."), **kwargs
    )


def Amount(**kwargs):
    return fields.Integer(
        strict=True,
        validate=validate.Range(
            min=0, max=10_000_000, error="Must be a whole number of minor units (cents) from 0 to 10000000."
        ),
        **kwargs,
    )


def Count(low: int, high: int, **kwargs):
    return fields.Integer(
        strict=True, validate=validate.Range(min=low, max=high, error=f"Must be between {low} and {high}."), **kwargs
    )
