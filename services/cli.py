"""Command group: flask import teams|volunteers FILE.csv, flask export roster --team CODE --month YYYY-MM."""

from __future__ import annotations

import datetime as dt

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from models import PatrolTeam, db
from timeutil import local_today

import_cli = AppGroup("import", help="Import patrol teams or volunteers from CSV (all rows or none).")
export_cli = AppGroup("export", help="Export rosters.")


def _import(kind: str, path: str) -> None:
    from .imports import ImportFailed, format_error, import_file

    with open(path, "rb") as fh:
        data = fh.read()
    try:
        result = import_file(kind, data)
    except ImportFailed as failed:
        for line, message in failed.errors:
            click.echo(f"{path}: {format_error(line, message)}", err=True)
        raise click.ClickException(f"{len(failed.errors)} bad rows: nothing imported") from None
    click.echo(result.summary())


@import_cli.command("teams")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_teams(path: str) -> None:
    """Create or update patrol teams from a CSV file (see services/imports.py for the columns)."""
    _import("teams", path)


@import_cli.command("volunteers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_volunteers(path: str) -> None:
    """Create or update volunteers and coordinators and their team memberships from a CSV file."""
    _import("volunteers", path)


def _month(ctx, param, value: str | None) -> tuple[int, int]:
    if value is None:
        today = local_today()  # the service's month, not the machine's time zone
        return today.year, today.month
    try:
        year, month = (int(part) for part in value.split("-"))
        dt.date(year, month, 1)
    except ValueError:
        raise click.BadParameter("write the month as YYYY-MM") from None
    return year, month


@export_cli.command("roster")
@click.option("--team", "code", required=True, help="Team code, e.g. T017.")
@click.option("--month", callback=_month, help="YYYY-MM (default: this month).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
def export_roster(code: str, month: tuple[int, int], output: str | None) -> None:
    """A team's shifts of one month as CSV (UTF-8 with BOM, one line per volunteer per shift)."""
    from .exports import roster_csv

    team = db.session.scalar(sa.select(PatrolTeam).where(PatrolTeam.code == code))
    if team is None:
        raise click.ClickException(f"no team with code {code}")
    body = roster_csv(team, *month)
    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(body)
        click.echo(f"wrote {output}")
    else:
        click.echo(body, nl=False)


roster_cli = AppGroup("roster", help="Roster planning.")


def _day(ctx, param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("write the date as YYYY-MM-DD") from None


@roster_cli.command("plan")
@click.option("--team", "code", help="Team code, e.g. T017.")
@click.option("--all-teams", is_flag=True, help="Plan every active team at once.")
@click.option("--from", "first", required=True, callback=_day, help="First date, YYYY-MM-DD.")
@click.option("--to", "last", required=True, callback=_day, help="Last date, YYYY-MM-DD.")
@click.option("--fill-to-max", is_flag=True, help="After the minimums, fill towards each shift's maximum.")
@click.option("--rest-hours", type=click.FloatRange(0, 48), default=None, help="Minimum rest (default 10).")
@click.option("--publish", is_flag=True, help="Publish the draft at once (all assignments or none).")
def roster_plan(code, all_teams, first, last, fill_to_max, rest_hours, publish) -> None:
    """Plan a team's (or every team's) shifts with the solver and print the draft's summary."""
    from models import Role, User

    from .errors import RuleViolation
    from .planner import make_plan, summary_lines
    from .planner import publish as publish_plan

    if bool(code) == bool(all_teams):
        raise click.UsageError("give either --team CODE or --all-teams")
    team_id = None
    if code:
        team = db.session.scalar(sa.select(PatrolTeam).where(PatrolTeam.code == code))
        if team is None:
            raise click.ClickException(f"no team with code {code}")
        team_id = team.id
    # The CLI acts as the system administrator (audit lines name the first active admin).
    actor = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id))
    if actor is None:
        raise click.ClickException("create an admin first: flask users create-admin EMAIL")

    def progress(done, total):
        if total > 1 and (done == total or done % 10 == 0):
            click.echo(f"solved {done}/{total} groups of teams", err=True)

    try:
        plan = make_plan(actor, team_id, first, last, fill_to_max=fill_to_max, rest_hours=rest_hours, progress=progress)
        for line in summary_lines(plan):
            click.echo(line)
        if publish:
            count = publish_plan(actor, plan.id)
            click.echo(f"published plan {plan.id}: {count} assignments")
    except RuleViolation as exc:
        raise click.ClickException(exc.message) from None


def register_cli(app: Flask) -> None:
    app.cli.add_command(import_cli)
    app.cli.add_command(export_cli)
    app.cli.add_command(roster_cli)
