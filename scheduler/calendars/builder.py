"""iCalendar feeds as a pure function: plain values in, bytes out; no database, no clock.

The same input gives the same bytes, so a feed's validators can be computed from
its inputs alone and calendar apps that poll for months see nothing change until
something did.
"""

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vDuration

PRODID = "-//Group programs//Scheduler//EN"
# Bump when the bytes built from the same input change (feed validators include it).
BUILDER_VERSION = "2"  # 2: a person's feed in their language
DEFAULT_REFRESH = timedelta(hours=1)


@dataclass(frozen=True)
class FeedEvent:
    """One session (or appointment) as a calendar shows it. Instants are aware; `tz` is an IANA name.

    `description` replaces the default text about the meeting link (None: that default, in the
    words of `join_text` and `no_link_text`: a person's feed gives them in their language).
    """

    uid: str
    starts_at: datetime
    ends_at: datetime
    tz: str
    summary: str
    meeting_url: str | None
    sequence: int
    last_modified: datetime
    created: datetime
    cancelled: bool
    description: str | None = None
    join_text: str = "Join online: %(link)s"
    no_link_text: str = "The meeting link will be sent by email."


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: calendar feeds carry no floating times")
    return value.astimezone(UTC).replace(microsecond=0)


def _event(item: FeedEvent) -> Event:
    zone = ZoneInfo(item.tz)
    event = Event()
    event.add("uid", item.uid)
    # DTSTAMP is the last change, not "now": identical input must give identical bytes.
    event.add("dtstamp", _utc(item.last_modified))
    event.add("created", _utc(item.created))
    event.add("last-modified", _utc(item.last_modified))
    event.add("sequence", item.sequence)
    event.add("dtstart", _utc(item.starts_at).astimezone(zone))
    event.add("dtend", _utc(item.ends_at).astimezone(zone))
    event.add("summary", one_line(item.summary))
    event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("class", "PRIVATE")
    if item.meeting_url:
        # Most clients ignore CONFERENCE; LOCATION, URL and DESCRIPTION are what they show.
        event.add("location", item.meeting_url)
        event.add("url", item.meeting_url)
    if item.description is not None:
        event.add("description", item.description)
    elif item.meeting_url:
        event.add("description", item.join_text % {"link": item.meeting_url})
    else:
        event.add("description", item.no_link_text)
    return event


def _zone_spans(events: list[FeedEvent]) -> dict[str, tuple[date, date]]:
    spans: dict[str, tuple[date, date]] = {}
    for item in events:
        first, last = item.starts_at.date(), item.ends_at.date()
        if item.tz in spans:
            first, last = min(first, spans[item.tz][0]), max(last, spans[item.tz][1])
        spans[item.tz] = (first, last)
    return spans


def one_line(text: str) -> str:
    """Text for a one-line property: rows written before titles refused line breaks may hold them."""
    return " ".join(text.split())


def build_feed(events: list[FeedEvent], *, name: str, refresh: timedelta | None = DEFAULT_REFRESH) -> bytes:
    """A VCALENDAR with one VEVENT per item, a VTIMEZONE per zone used, CRLF and folded lines.

    `refresh` adds REFRESH-INTERVAL and X-PUBLISHED-TTL (for subscribed feeds);
    None leaves them out (for a one-off .ics attachment).
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", one_line(name))
    cal.add("name", one_line(name))
    if refresh is not None:
        # icalendar leaves out VALUE=DURATION, which RFC 7986 requires on REFRESH-INTERVAL.
        cal.add("refresh-interval", vDuration(refresh), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(refresh))
    ordered = sorted(events, key=lambda e: (_utc(e.starts_at), e.uid))
    for item in ordered:
        cal.add_component(_event(item))
    # One VTIMEZONE per zone, covering only the feed's span (a day either side for the
    # local dates), instead of every transition since 1970. This is what
    # Calendar.add_missing_timezones(first_date, last_date) does, but it walks a set of
    # TZIDs: with two zones their order (and so the bytes) would vary between processes.
    for tz, (first, last) in sorted(_zone_spans(ordered).items()):
        _add_timezone(cal, tz, first - timedelta(days=1), last + timedelta(days=1))
    return cal.to_ical()


def _add_timezone(cal: Calendar, tz: str, first: date, last: date) -> None:
    position = len(cal.timezones)
    cal.subcomponents.insert(position, Timezone.from_tzid(tz, first_date=first, last_date=last))


# ---- many feeds that differ only in the link -------------------------------------------------

# A participant's feed is the cohort's events with their own join link in every event. Built
# once with a placeholder link of the same length, the bytes of each person's feed are the
# template's with the placeholder replaced: same length and plain ASCII, so the lines fold
# at the same places. What the template cannot prove equal is built the ordinary way.
_PLACEHOLDER = "~"
_RUN = re.compile(rb"~(?:(?:\r\n )?~)*")  # a placeholder, perhaps folded
# ASCII that icalendar writes as is in TEXT and URI values and never keeps from a fold (\ ^).
_VERBATIM = re.compile(r"[A-Za-z0-9:/._?=&%#@+-]+")


@dataclass(frozen=True)
class _Template:
    literals: tuple[bytes, ...]  # the bytes between placeholders (one more than layouts)
    layouts: tuple[tuple[int, ...], ...]  # each placeholder's piece lengths between folds


@lru_cache(maxsize=128)
def _template(events: tuple[FeedEvent, ...], length: int, name: str, refresh: timedelta | None) -> _Template | None:
    """The feed with a placeholder link of `length` characters, cut at the placeholders (None: not provable)."""
    raw = build_feed([replace(e, meeting_url=_PLACEHOLDER * length) for e in events], name=name, refresh=refresh)
    literals, layouts, start = [], [], 0
    for match in _RUN.finditer(raw):
        pieces = tuple(len(piece) for piece in match.group().split(b"\r\n "))
        if sum(pieces) != length:
            return None  # a "~" of the title's, or a placeholder folded in a way not understood
        literals.append(raw[start : match.start()])
        layouts.append(pieces)
        start = match.end()
    literals.append(raw[start:])
    if len(layouts) != 3 * len(events):  # LOCATION, URL and DESCRIPTION of each event
        return None
    return _Template(tuple(literals), tuple(layouts))


def _fill(template: _Template, link: bytes) -> bytes:
    out = [template.literals[0]]
    for layout, literal in zip(template.layouts, template.literals[1:], strict=True):
        at = 0
        for n, size in enumerate(layout):
            if n:
                out.append(b"\r\n ")
            out.append(link[at : at + size])
            at += size
        out.append(literal)
    return b"".join(out)


def build_feeds_with_links(
    events: list[FeedEvent], links: dict, *, name: str, refresh: timedelta | None = DEFAULT_REFRESH
) -> dict:
    """{key: build_feed(events, each with links[key] as its meeting link)}, byte for byte the same,
    with one build per link length instead of one per link."""
    feeds = {}
    for key, link in links.items():
        template = None
        if events and _VERBATIM.fullmatch(link):
            template = _template(tuple(events), len(link), name, refresh)
        if template is None:
            feeds[key] = build_feed([replace(e, meeting_url=link) for e in events], name=name, refresh=refresh)
        else:
            feeds[key] = _fill(template, link.encode())
    return feeds
