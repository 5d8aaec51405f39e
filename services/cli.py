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


def register_cli(app: Flask) -> None:
    app.cli.add_command(import_cli)
    app.cli.add_command(export_cli)
