"""What happens to staff accounts that other domains react to."""

from dataclasses import dataclass


@dataclass(frozen=True)
class StaffRevoked:
    """An account's access ended: whatever it could reach by a secret link must stop working."""

    member: object


@dataclass(frozen=True)
class SignInLinkIssued:
    """A one-time sign-in link was made for a staff member: it goes to them by email."""

    member: object
    url: str
    minutes: int
