"""Rendered JSON kept in memory, per process, keyed by what it was made from.

A list row (one cohort in the cohort list) or a roster is described, dumped and serialised
once per *revision* of the cohort it shows, and again only when that revision moves
(scheduler/cohorts/revisions.py moves it in every transaction that changes something a
list shows) or when the clock reaches the instant the rendering stops being true (a hold
lapses, a session starts): the builder says when that is. Each worker process keeps its
own entries; nothing is shared between processes, so an entry is served only while the
database's revision and the clock both say it is still true.

Bounded by the characters it holds (least recently used first out), so a clinic with
thousands of cohorts cannot grow a worker without limit.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

MAX_CHARS = 16_000_000  # per worker process


@dataclass(frozen=True)
class Rendering:
    """What a builder returns for one key: the text, and the instant it stops being true (None: never)."""

    text: str
    valid_until: datetime | None = None


@dataclass(frozen=True)
class _Entry:
    revision: int
    since: datetime  # the instant it was rendered for: no earlier instant may use it (a clock set back)
    valid_until: datetime | None
    text: str

    def holds(self, revision: int, at: datetime) -> bool:
        return revision == self.revision and self.since <= at and (self.valid_until is None or at < self.valid_until)


class RenderedCache:
    def __init__(self, max_chars: int = MAX_CHARS):
        self.max_chars = max_chars
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()  # held only for dictionary work, never around a build
        self.hits = self.misses = 0

    def texts(
        self,
        wanted: Sequence[tuple[Hashable, int]],
        at: datetime,
        build: Callable[[list[int]], list[Rendering]],
    ) -> list[str]:
        """The text of each (key, revision), in order; `build(indexes)` renders those not held (or
        no longer true at `at`) in one batch and returns one Rendering per index, in order."""
        found: list[str | None] = []
        with self._lock:
            for key, revision in wanted:
                entry = self._entries.get(key)
                if entry is not None and entry.holds(revision, at):
                    self._entries.move_to_end(key)
                    found.append(entry.text)
                else:
                    found.append(None)
        missing = [i for i, text in enumerate(found) if text is None]
        self.hits += len(wanted) - len(missing)
        self.misses += len(missing)
        if missing:
            built = build(missing)
            with self._lock:
                for i, rendering in zip(missing, built, strict=True):
                    key, revision = wanted[i]
                    found[i] = rendering.text
                    self._put(key, _Entry(revision, at, rendering.valid_until, rendering.text))
        return found

    def text(self, key: Hashable, revision: int, at: datetime, build: Callable[[], Rendering]) -> str:
        """The text for one key at this revision, built by `build()` when not held."""
        return self.texts([(key, revision)], at, lambda _missing: [build()])[0]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._chars = 0

    def _put(self, key: Hashable, entry: _Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._chars -= len(old.text)
        if len(entry.text) > self.max_chars:
            return
        self._entries[key] = entry
        self._chars += len(entry.text)
        while self._chars > self.max_chars:
            _, evicted = self._entries.popitem(last=False)
            self._chars -= len(evicted.text)


def rendered() -> RenderedCache:
    """This app's cache (one per app, so tests never share one)."""
    cache = current_app.extensions.get("rendered")
    if cache is None:
        cache = current_app.extensions.setdefault("rendered", RenderedCache())
    return cache


def earliest_after(at: datetime, instants) -> datetime | None:
    """The first of these instants after `at` (None among them ignored), or None."""
    later = [instant for instant in instants if instant is not None and instant > at]
    return min(later) if later else None
