"""Command-line groups: `flask --app app demo|users|...`. Each domain adds its own group here."""

from __future__ import annotations

import getpass

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from models import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, Role, User, db, normalise_email, password_acceptable

demo_cli = AppGroup("demo", help="Demo (sample) data.")
users_cli = AppGroup("users", help="User accounts.")


@demo_cli.command("load")
def demo_load() -> None:
    """Load the deterministic demo data set; running it again adds nothing."""
    import demo

    if current_app.config.get("APP_ENV") == "production":
        # Demo accounts share a published password: never in a production database.
        raise click.ClickException("demo data is refused when APP_ENV=production")
    click.echo(demo.load())
    click.echo(demo.describe_logins())


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator", help="Display name.")
@click.option("--password", envvar="ADMIN_PASSWORD", default=None, help="Read from ADMIN_PASSWORD or asked.")
def create_admin(email: str, name: str, password: str | None) -> None:
    """Create an admin account (or make an existing account admin)."""
    email = normalise_email(email)
    if "@" not in email:
        raise click.BadParameter("not an email address", param_hint="EMAIL")
    if password is None:
        password = getpass.getpass("Password: ")
    if not password_acceptable(password):
        raise click.ClickException(f"the password must have {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters")
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, role=Role.ADMIN)
        db.session.add(user)
    user.role = Role.ADMIN
    user.active = True
    user.set_password(password)
    db.session.commit()
    click.echo(f"admin {email} ready")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    from api.tokens import register_cli as register_api_token_cli

    register_api_token_cli(users_cli)
    # Each domain owns its command group (schedule/scheduler, feeds, import/export).
    from feeds.cli import register_cli as register_feeds_cli
    from scheduler.cli import register_cli as register_scheduler_cli
    from scheduler.holiday_cli import register_cli as register_holidays_cli
    from services.cli import register_cli as register_services_cli

    register_scheduler_cli(app)
    register_feeds_cli(app)
    register_services_cli(app)
    from services.search import register_cli as register_search_cli

    register_search_cli(app)
    register_holidays_cli(app)
