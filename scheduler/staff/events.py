"""What happens to staff accounts that other domains react to."""

from dataclasses import dataclass


@dataclass(frozen=True)
class StaffRevoked:
    """An account's access ended: whatever it could reach by a secret link must stop working."""

    member: object
