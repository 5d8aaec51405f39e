"""Command group: `flask --app app feeds list` prints every feed URL with its owner."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, current_app, url_for
from flask.cli import AppGroup

from models import Community, FeedKind, FeedToken, PatrolTeam, User, db

feeds_cli = AppGroup("feeds", help="iCalendar feeds.")

_PUBLIC = (
    ("feeds.contact_days", "public: contact days"),
    ("feeds.holiday_court", "public: holiday court"),
    ("feeds.legal_clinic", "public: legal clinic"),
)


@feeds_cli.command("list")
@click.option(
    "--base-url",
    default=None,
    help="Address the URLs start with (default: PUBLIC_BASE_URL, else http://127.0.0.1:5000).",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["public", "community", "team", "volunteer"]),
    help="Only these kinds of feed (repeatable; default all).",
)
def list_feeds(base_url: str | None, kinds: tuple[str, ...]) -> None:
    """Print every feed URL, public and private (live tokens only), with its owner, tab-separated.

    Private URLs are secrets: whoever holds one reads that calendar.
    """
    base = (base_url or current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    wanted = set(kinds) or {"public", "community", "team", "volunteer"}

    def feed_url(endpoint: str, **values) -> str:
        return base + url_for(endpoint, **values)

    with current_app.test_request_context("/"):
        if "public" in wanted:
            for endpoint, owner in _PUBLIC:
                click.echo(f"{feed_url(endpoint)}\t{owner}")
        if "community" in wanted:
            for slug, name_en in db.session.execute(
                sa.select(Community.slug, Community.name_en).order_by(Community.slug)
            ):
                click.echo(f"{feed_url('feeds.community', slug=slug)}\tcommunity: {name_en}")
        live = FeedToken.revoked_at.is_(None)
        if "team" in wanted:
            rows = db.session.execute(
                sa.select(FeedToken.token, PatrolTeam.code, PatrolTeam.name_en)
                .join(PatrolTeam, PatrolTeam.id == FeedToken.team_id)
                .where(FeedToken.kind == FeedKind.TEAM, live)
                .order_by(PatrolTeam.code)
            )
            for token, code, name_en in rows:
                click.echo(f"{feed_url('feeds.team', token=token)}\tteam {code}: {name_en} (private)")
        if "volunteer" in wanted:
            rows = db.session.execute(
                sa.select(FeedToken.token, User.email)
                .join(User, User.id == FeedToken.user_id)
                .where(FeedToken.kind == FeedKind.VOLUNTEER, live)
                .order_by(User.email)
            )
            for token, email in rows:
                click.echo(f"{feed_url('feeds.volunteer', token=token)}\tvolunteer {email} (private)")


def register_cli(app: Flask) -> None:
    app.cli.add_command(feeds_cli)
