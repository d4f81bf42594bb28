"""Time zones as a page names them: the Time zone field's options, grouped by area, and a zone's
place in the page's language (CLDR's city names through Babel: Ciudad de México on a Spanish page)."""

import unicodedata
from functools import lru_cache

from babel.dates import get_timezone_location
from flask_babel import lazy_pgettext
from markupsafe import Markup, escape

from ..foundation import i18n
from ..foundation.validation import _zones

# The zone list people choose from: canonical Area/Location names (no aliases such as US/Eastern).
ZONE_AREAS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
# The areas as the Time zone field's option groups name them (the zone's own word is not translated).
_AREA_NAMES = {
    "Africa": lazy_pgettext("time zone area", "Africa"),
    "America": lazy_pgettext("time zone area", "America"),
    "Antarctica": lazy_pgettext("time zone area", "Antarctica"),
    "Asia": lazy_pgettext("time zone area", "Asia"),
    "Atlantic": lazy_pgettext("time zone area", "Atlantic"),
    "Australia": lazy_pgettext("time zone area", "Australia"),
    "Europe": lazy_pgettext("time zone area", "Europe"),
    "Indian": lazy_pgettext("time zone area", "Indian"),
    "Pacific": lazy_pgettext("time zone area", "Pacific"),
}


def zone_label(name: str) -> str:
    """A zone as the page's language names its place: America/Mexico_City -> Mexico City, and on a
    Spanish page Ciudad de México (CLDR's city names, where Babel has one)."""
    return _zone_label(name, i18n.page_language())


@lru_cache(maxsize=2048)
def _zone_label(name: str, language: str) -> str:
    plain = _plain_zone_label(name)
    if language == i18n.DEFAULT or "/" not in name:
        return plain
    try:
        city = get_timezone_location(name, locale=language, return_city=True)
    except (LookupError, ValueError):
        return plain
    # A city Babel does not know comes back as the zone's own path (Argentina/Buenos Aires).
    return plain if "/" in city else city


def _plain_zone_label(name: str) -> str:
    """America/Argentina/Buenos_Aires -> Argentina – Buenos Aires (the area is the option group)."""
    return " – ".join(name.split("/")[1:]).replace("_", " ") or name


def zone_choices(language: str) -> list[dict]:
    """Time zones grouped by area, for the Time zone field, their places named in `language`
    (the page's: called where it is current) and in its alphabetical order."""
    groups: dict[str, list] = {}
    for name in _zones():
        area = name.split("/")[0]
        if area in ZONE_AREAS and "/" in name:
            groups.setdefault(area, []).append({"value": name, "label": _zone_label(name, language)})
    return [{"area": "UTC", "zones": [{"value": "UTC", "label": "UTC"}]}] + [
        {"area": str(_AREA_NAMES[area]), "zones": sorted(groups[area], key=lambda z: _sort_key(z["label"]))}
        for area in ZONE_AREAS
        if area in groups
    ]


def _sort_key(label: str) -> str:
    # Ámsterdam among the A's: accents do not move a place to the end of the list.
    return unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().casefold()


def zone_options(chosen: str | None) -> Markup:
    """The Time zone field's <optgroup>s and <option>s, `chosen` selected: some 420 options, built once
    per language (a loop over them in the template was a third of the cohort page's time)."""
    options = _zone_options(i18n.page_language())
    if chosen:
        mark = f'<option value="{escape(chosen)}">'
        options = options.replace(mark, mark[:-1] + " selected>", 1)
    return Markup(options)


@lru_cache(maxsize=len(i18n.LOCALES))
def _zone_options(language: str) -> str:
    return "".join(
        f'<optgroup label="{escape(group["area"])}">'
        + "".join(f'<option value="{escape(z["value"])}">{escape(z["label"])}</option>' for z in group["zones"])
        + "</optgroup>"
        for group in zone_choices(language)
    )
