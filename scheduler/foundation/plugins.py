"""Plug-ins: what a lower domain asks and only a higher one can answer.

The cohorts domain must count seats, but enrolments sit above it; the HTTP edge checks a
manage token, but the enrolment table is the enrolment domain's. The lower module declares
a `PlugIn` (what it needs, in words); scheduler/wiring.py says what fills it, and create_app
installs that once. Nothing is filled at import, so the table in wiring.py is all there is.
"""

from typing import Any


class PlugIn:
    """One value (usually a function) a lower domain uses and a higher domain supplies."""

    def __init__(self, purpose: str):
        self.purpose = purpose
        self._value: Any = None
        self._installed = False

    def install(self, value: Any) -> None:
        self._value, self._installed = value, True

    @property
    def value(self) -> Any:
        if not self._installed:
            raise RuntimeError(f"nothing is installed for {self.purpose!r} (scheduler/wiring.py, create_app)")
        return self._value

    @property
    def installed(self) -> bool:
        return self._installed

    def __call__(self, *args, **kwargs):
        return self.value(*args, **kwargs)

    def __repr__(self) -> str:
        return f"PlugIn({self.purpose!r})"
