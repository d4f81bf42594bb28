"""marshmallow fields shared by every domain's input schemas."""

import re
import unicodedata
from datetime import UTC, date, time
from functools import lru_cache
from zoneinfo import available_timezones

from marshmallow import ValidationError, fields, validate

from .i18n import LOCALES

# Two-decimal currencies we take payments in; amounts are in their minor unit (cents).
CURRENCIES = ("usd", "cad", "eur", "gbp", "aud", "nzd", "chf", "sek", "nok", "dkk")


# ---- the rules as OpenAPI states them (ECMA-262 regular expressions) ---------------------------
# Each field type below says in `openapi_properties()` what it accepts, so that /openapi.json
# states the rules the server enforces and a client (or schemathesis) can follow them.

_CONTROLS = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
ONE_LINE_PATTERN = rf"^[^{_CONTROLS}]*$"
ONE_LINE_NOT_BLANK_PATTERN = rf"^[^{_CONTROLS}]*[^\s{_CONTROLS}][^{_CONTROLS}]*$"
MULTI_LINE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]*$"
_MULTI_LINE_CHAR = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]"
_MULTI_LINE_VISIBLE = r"[^\s\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]"
MULTI_LINE_NOT_BLANK_PATTERN = rf"^{_MULTI_LINE_CHAR}*{_MULTI_LINE_VISIBLE}{_MULTI_LINE_CHAR}*$"
# A real calendar date in 2000-2099 (leap days included).
_DAY = (
    r"20[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|20[0-9]{2}-(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|20[0-9]{2}-(?:0[13578]|1[02])-31"
    r"|20(?:00|0[48]|[2468][048]|[13579][26])-02-29"
)
_HH_MM = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_OFFSET = rf"(?:Z|[+-]{_HH_MM})"
DATE_PATTERN = rf"^(?:{_DAY})$"
WALL_TIME_PATTERN = rf"^{_HH_MM}$"
INSTANT_PATTERN = rf"^(?:{_DAY})T{_HH_MM}:[0-5][0-9](?:\.[0-9]{{1,6}})?{_OFFSET}$"
LOCAL_DATE_TIME_PATTERN = rf"^(?:{_DAY})T{_HH_MM}(?::[0-5][0-9])?{_OFFSET}?$"
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$"
HTTPS_URL_PATTERN = r"^https://[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,6}(?:/[A-Za-z0-9._~-]*)*$"


def _min_length(field) -> int:
    return max((v.min or 0 for v in field.validators if isinstance(v, validate.Length)), default=0)


@lru_cache(maxsize=1)
def _zones() -> frozenset:
    return frozenset(available_timezones())


class Timezone(fields.String):
    """An IANA zone name such as America/New_York."""

    def openapi_properties(self) -> dict:
        zones = sorted(_zones())
        return {
            "enum": [*zones, None] if self.allow_none else zones,
            "example": "America/New_York",
            "description": "An IANA timezone name.",
        }

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value not in _zones():
            raise ValidationError("Not a known IANA timezone (for example America/New_York).")
        return value


class Language(fields.String):
    """The language a person chose for their pages: one of the shipped languages (en, es)."""

    def openapi_properties(self) -> dict:
        return {
            "enum": [*LOCALES, None] if self.allow_none else list(LOCALES),
            "example": "es",
            "description": "The language of the person's pages: en (English) or es (Spanish).",
        }

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value not in LOCALES:
            raise ValidationError("Use one of: " + ", ".join(LOCALES) + ".")
        return value


class WallTime(fields.String):
    """A local wall-clock time, HH:MM on a 24-hour clock."""

    _pattern = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")

    def openapi_properties(self) -> dict:
        return {"pattern": WALL_TIME_PATTERN, "example": "18:00", "description": "HH:MM on a 24-hour clock."}

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

    def openapi_properties(self) -> dict:
        return {
            "format": None,
            "pattern": DATE_PATTERN,
            "example": "2026-10-22",
            "description": f"A real date as YYYY-MM-DD, {FIRST_YEAR} to {LAST_YEAR}.",
        }

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

    def openapi_properties(self) -> dict:
        return {
            "pattern": LOCAL_DATE_TIME_PATTERN,
            "example": "2026-10-22T18:00",
            "description": "Wall-clock time in the cohort's zone, YYYY-MM-DDTHH:MM[:SS], optionally with the offset.",
        }

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

    def openapi_properties(self) -> dict:
        return {
            "format": None,
            "pattern": INSTANT_PATTERN,
            "example": "2026-10-22T22:00:00Z",
            "description": f"An instant, ISO 8601 with its offset (Z for UTC), {FIRST_YEAR} to {LAST_YEAR}.",
        }

    def _deserialize(self, value, attr, data, **kwargs):

        parsed = super()._deserialize(value, attr, data, **kwargs)
        _in_supported_years(parsed)
        return parsed.astimezone(UTC)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None

        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Characters that end a line somewhere: in an email header, a plain-text body, an
# iCalendar line, a spreadsheet or a terminal. One-line text (names, titles) never holds them.
LINE_BREAKS = {
    "\n": "line feed",
    "\r": "carriage return",
    "\x0b": "vertical tab",
    "\x0c": "form feed",
    "\x1c": "file separator",
    "\x1d": "group separator",
    "\x1e": "record separator",
    "\x85": "next line (U+0085)",
    "\u2028": "line separator (U+2028)",
    "\u2029": "paragraph separator (U+2029)",
}
ONE_LINE_MESSAGE = "Must be a single line: remove the {what}."
CONTROL_MESSAGE = "Must not contain control characters (found U+{code:04X})."


def refuse_controls(value: str, multiline: bool = False) -> str:
    """Raise a ValidationError if `value` holds a line break (unless multiline) or another control character.

    Control characters are Unicode's Cc (C0, DEL, C1), Zl and Zp categories, and lone
    surrogates (Cs), which no database or mail header can carry. A multi-line field
    keeps \n and \t; its \r\n and lone \r become \n (what a browser's textarea sends).
    """
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    for ch in value:
        if multiline and ch in "\n\t":
            continue
        if ch in LINE_BREAKS:
            if multiline:
                raise ValidationError(f"Use an ordinary line break instead of the {LINE_BREAKS[ch]}.")
            raise ValidationError(ONE_LINE_MESSAGE.format(what=LINE_BREAKS[ch]))
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            raise ValidationError(CONTROL_MESSAGE.format(code=ord(ch)))
    return value


class Text(fields.String):
    """One line of text: no line break and no control character anywhere in it."""

    multiline = False

    def _deserialize(self, value, attr, data, **kwargs):
        return refuse_controls(super()._deserialize(value, attr, data, **kwargs), self.multiline)

    def openapi_properties(self) -> dict:
        if self.multiline:
            return {"pattern": MULTI_LINE_PATTERN, "description": "Text; line feeds and tabs, no other control."}
        return {"pattern": ONE_LINE_PATTERN, "description": "One line: no line break or control character."}


class Trimmed(Text):
    """One line of text with surrounding white space removed before it is validated."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()

    def openapi_properties(self) -> dict:
        if _min_length(self) >= 1:
            # White space alone is empty once trimmed.
            if self.multiline:
                return {
                    "pattern": MULTI_LINE_NOT_BLANK_PATTERN,
                    "description": "Text, not blank; line feeds and tabs, no other control.",
                }
            return {"pattern": ONE_LINE_NOT_BLANK_PATTERN, "description": "One line, not blank, no control character."}
        return super().openapi_properties()


class MultiLineText(Trimmed):
    """Free text over several lines (a description): line feeds and tabs allowed, other controls not."""

    multiline = True


class Code(Trimmed):
    """A short code people type (a discount code, a price level): letters, digits, - and _, 1 to 40."""

    def __init__(self, *, lowercase: bool = False, **kwargs):
        letters = "a-z" if lowercase else "A-Za-z"
        self.code_pattern = f"[{letters}0-9][{letters}0-9_-]{{0,39}}"
        self.code_message = f"Use 1 to 40 {'lowercase ' if lowercase else ''}letters, digits, - and _ (no spaces)."
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(self.code_pattern, value):
            raise ValidationError(self.code_message)
        return value

    def openapi_properties(self) -> dict:
        return {"pattern": f"^{self.code_pattern}$", "description": self.code_message}


def Identifier(**kwargs):
    """An opaque id sent by a client (prg_…, coh_…): one line, at most 40 characters."""
    kwargs.setdefault("validate", validate.Length(min=1, max=40))
    return Text(**kwargs)


# One address, no display name, no spaces: what a person types into an email box.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


class PlainEmail(Text):
    """An address such as sam@example.org; "Sam <sam@example.org>" and spaces are refused."""

    def openapi_properties(self) -> dict:
        return {
            "pattern": EMAIL_PATTERN,
            "maxLength": 254,
            "example": "sam@example.org",
            "description": "One email address, without a name or <>.",
        }

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip()
        if "<" in value or ">" in value:
            raise ValidationError("Give the address alone (sam@example.org), without a name or <>.")
        if any(ch.isspace() for ch in value):
            raise ValidationError("An email address cannot contain spaces.")
        if len(value) > 254 or not _EMAIL.fullmatch(value) or ".." in value:
            raise ValidationError("Not a valid email address (for example sam@example.org).")
        return value


def Name(max_length: int = 200, **kwargs):
    """A human-readable name: 1 to max_length characters after trimming."""
    return Trimmed(validate=validate.Length(min=1, max=max_length), **kwargs)


class _OneLineUrl(fields.Url):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(refuse_controls(value) if isinstance(value, str) else value, attr, data, **kwargs)

    def openapi_properties(self) -> dict:
        # A plain subset of what the server takes: any URL of this shape is accepted.
        return {
            "format": None,
            "pattern": HTTPS_URL_PATTERN,
            "example": "https://video.example/j/123",
            "description": "An https:// URL.",
        }


def HttpsUrl(**kwargs):
    return _OneLineUrl(
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
