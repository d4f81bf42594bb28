"""Small helpers shared by tests (fixtures live in conftest.py and tests/stripe_double.py)."""

import html
import re

from scheduler.database import write_transaction
from scheduler.events import publish

URL = re.compile(r"""(?:https?|webcal)://[^\s"'<>)]+""")


def links(text: str) -> set[str]:
    """Every link in a text or HTML body, as a person would click it."""
    return {u.rstrip(".,;") for u in URL.findall(html.unescape(text))}


def announce(*events) -> None:
    """Publish domain events in a write transaction of their own, as a service would."""
    with write_transaction():
        for event in events:
            publish(event)
