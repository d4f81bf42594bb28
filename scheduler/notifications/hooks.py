"""What other domains tell the notifications domain, inside their own transaction."""


def session_changed(session) -> None:
    """A session was rescheduled, retitled or cancelled: confirmed participants hear of it."""
