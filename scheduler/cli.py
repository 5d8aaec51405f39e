"""Command groups: `flask schedule generate --until YYYY-MM-DD` and `flask scheduler run`."""

from __future__ import annotations

import datetime as dt
import logging

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from models import PatrolTeam, db
from timeutil import local_today

schedule_cli = AppGroup("schedule", help="Generate occurrences and patrol shifts.")
scheduler_cli = AppGroup("scheduler", help="The background job process.")


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use the form YYYY-MM-DD") from None


@schedule_cli.command("generate")
@click.option("--until", "until", required=True, callback=_date, help="Last date to generate (YYYY-MM-DD).")
@click.option("--from", "start", callback=_date, help="First date (YYYY-MM-DD); default: today.")
@click.option("--team", "teams", multiple=True, help="Only these teams' shifts (team code; repeatable).")
def generate(until: dt.date, start: dt.date | None, teams: tuple[str, ...]) -> None:
    """Create the missing contact-day, court and clinic occurrences and patrol shifts up to --until.

    Running it again creates nothing new; shifts with volunteers are never touched.
    """
    from .occurrences import generate_occurrences
    from .shifts import count_templates, generate_shifts

    start = start or local_today()
    if until < start:
        raise click.BadParameter("--until is before the first date", param_hint="--until")
    team_ids = None
    if teams:
        found = dict(
            db.session.execute(sa.select(PatrolTeam.code, PatrolTeam.id).where(PatrolTeam.code.in_(teams))).all()
        )
        unknown = sorted(set(teams) - set(found))
        if unknown:
            raise click.BadParameter("unknown team code(s): " + ", ".join(unknown), param_hint="--team")
        team_ids = list(found.values())
    if team_ids is None:
        occurrences = generate_occurrences(start, until)
        click.echo(f"Occurrences {start}..{until}: {occurrences.created} created, {occurrences.skipped} already there.")
        for day, name in occurrences.flagged:
            click.echo(f"  on a public holiday (check the series' policy): {day} {name}")
    total = count_templates(start, until, team_ids)
    with click.progressbar(length=total, label="Patrol shifts", show_pos=True) as bar:
        shifts = generate_shifts(start, until, team_ids=team_ids, progress=bar.update)
    db.session.commit()
    click.echo(f"Patrol shifts {start}..{until}: {shifts.created} created, {shifts.skipped} already there.")


@scheduler_cli.command("run")
def run() -> None:
    """Run the background jobs (horizon, reminders, understaffing alerts) until stopped.

    Run exactly one per deployment; a second one waits for the first to end.
    """
    from .jobs import run_forever

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("scheduler").setLevel(logging.INFO)
    run_forever(current_app._get_current_object(), echo=lambda text: click.echo(text, err=True))


def register_cli(app: Flask) -> None:
    app.cli.add_command(schedule_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(waitlist_cli)


notifications_cli = AppGroup("notifications", help="The notification outbox.")


@notifications_cli.command("send")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=None, help="At most this many messages.")
@click.option(
    "--recover", is_flag=True, help="First make messages left in flight by a stopped sender due (only if none runs)."
)
def send_notifications(limit: int | None, recover: bool) -> None:
    """Deliver every notification due now (email, SMS, team chat); retries wait with backoff."""
    from .notify_sender import recover_orphaned, send_due

    if recover:
        recover_orphaned()
    result = send_due(limit=limit)
    click.echo(f"sent {result.sent}, retrying later {result.retrying}, failed {result.failed}")


waitlist_cli = AppGroup("waitlist", help="Waiting lists of full shifts.")


@waitlist_cli.command("expire")
def expire_offers_now() -> None:
    """Run the offer-expiry job now: offers past their time pass to the next in line."""
    from .jobs import expire_waitlist_offers

    outcome = expire_waitlist_offers()
    click.echo(f"expired {outcome['expired']}, offered {outcome['offered']}, queues closed {outcome['closed']}")
