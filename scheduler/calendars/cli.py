"""`flask calendar-feeds rebuild`: store every feed afresh (after PUBLIC_BASE_URL or the ICS builder changed)."""

import click
from flask.cli import AppGroup

from .services import rebuild_all_feeds

feeds_cli = AppGroup("calendar-feeds", help="Stored calendar feeds.")


@feeds_cli.command("rebuild")
def rebuild_command() -> None:
    """Rebuild every stored feed; until then a feed built for another address is built on each request."""
    click.echo(f"rebuilt the feeds of {rebuild_all_feeds()} cohorts and their confirmed enrolments")
