"""`flask --app wsgi staff create --email E --name N --role R` and `staff login-link --email E`."""

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from ..foundation.errors import DomainError
from . import services
from .schemas import StaffCreate

staff_cli = AppGroup("staff", help="Manage staff accounts.")


@staff_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "front_desk", "facilitator"]))
def create(email, name, role):
    """Create a staff account and print its token (shown only this once)."""
    try:
        data = StaffCreate().load({"email": email, "name": name, "role": role})
        member = services.create_staff(**data)
    except ValidationError as exc:
        raise click.UsageError(str(exc.messages)) from None
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"Created {member.role} {member.email} ({member.id}).")
    click.echo(f"Token (shown once, store it now): {member.token}")


@staff_cli.command("login-link")
@click.option("--email", required=True)
def login_link(email):
    """Print a one-time link to the staff console (valid 15 minutes, once) instead of emailing it."""
    try:
        url = services.issue_sign_in_link(email)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"Sign-in link for {email.strip().lower()} (works once, for {services.SIGN_IN_LINK_MINUTES} minutes):")
    click.echo(url)
