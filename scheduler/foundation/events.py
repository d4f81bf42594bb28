"""Domain events: how a lower domain tells higher ones what happened, without importing them.

A service publishes an event (a small frozen dataclass defined beside the domain
that raises it, e.g. enrolment/events.py) inside its write transaction; the
handlers of that event type run at once, in the same transaction, so what they
write (an outbox row, a cascaded change) commits or rolls back with the change
itself. Handlers must not commit and must not call the network: work for after
the commit goes through database.after_commit().

Which handlers an event has, and in what order, is one table: scheduler/wiring.py
(HANDLERS), installed by create_app. Dependencies point down: cohorts publish,
enrolment handles cohorts' events; enrolment publishes, notifications handle.
"""

from collections.abc import Callable, Mapping, Sequence

from .database import require_write

_handlers: dict[type, tuple[Callable, ...]] = {}


def install(table: Mapping[type, Sequence[Callable]]) -> None:
    """Make `table` (event type -> handlers, in order) the handlers of every event."""
    _handlers.clear()
    _handlers.update({event_type: tuple(handlers) for event_type, handlers in table.items()})


def publish(event) -> None:
    """Run every handler of the event's type, in order, inside the caller's write transaction."""
    require_write()
    for handler in _handlers.get(type(event), ()):
        handler(event)


def installed() -> dict[type, tuple[Callable, ...]]:
    """What is installed (for the wiring check)."""
    return dict(_handlers)
