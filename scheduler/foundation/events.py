"""Domain events: how a lower domain tells higher ones what happened, without importing them.

A service publishes an event (a small frozen dataclass defined beside the domain
that raises it, e.g. enrolment/events.py) inside its write transaction; the
handlers subscribed to that event type run at once, in the same transaction, so
what they write (an outbox row, a cascaded change) commits or rolls back with the
change itself. Handlers must not commit and must not call the network: work for
after the commit goes through database.after_commit().

    @subscribe(SeatOffered)
    def _email_the_offer(event): ...

Dependencies point down: cohorts publish, enrolment subscribes to cohorts' events;
enrolment publishes, notifications subscribe. create_app imports every handler
module, so an event is never published to nobody by accident.
"""

from collections import defaultdict
from collections.abc import Callable

from .database import require_write

_handlers: dict[type, list[Callable]] = defaultdict(list)


def subscribe(event_type: type):
    """Register the decorated function as a handler of `event_type` (once per function)."""

    def register(handler: Callable) -> Callable:
        if handler not in _handlers[event_type]:
            _handlers[event_type].append(handler)
        return handler

    return register


def publish(event) -> None:
    """Run every handler of the event's type, in order, inside the caller's write transaction."""
    require_write()
    for handler in _handlers.get(type(event), ()):
        handler(event)


def handlers_of(event_type: type) -> list[Callable]:
    """The handlers subscribed to an event type (for tests and the wiring check)."""
    return list(_handlers.get(event_type, ()))
