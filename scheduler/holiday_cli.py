"""`flask --app app holidays ...`: which years are confirmed, importing a year's arrangement."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import force_locale

from timeutil import local_today

holidays_cli = AppGroup("holidays", help="China's holiday calendar: confirmed years and imports.")


def describe(report) -> str:
    """The report as plain lines (the CLI's output; the admin page shows the same in a table)."""
    verb = "applied" if report.applied else "preview (nothing changed; add --apply)"
    lines = [f"{report.year}: {verb}"]
    for item in report.days_off:
        lines.append(f"  day off      {item.day:%Y-%m-%d %a}  {item.name}")
    for item in report.workdays:
        lines.append(f"  working day  {item.day:%Y-%m-%d %a}  {item.name}")
    for title, changes in (("added", report.added), ("cancelled", report.cancelled), ("moved", report.moved)):
        for change in changes:
            moved = f" (from {change.before:%Y-%m-%d %H:%M})" if change.before else ""
            lines.append(
                f"  session {title:<9} {change.when:%Y-%m-%d %a %H:%M}  {change.programme} · {change.place}{moved}"
            )
    lines.append(
        f"  {len(report.added)} added, {len(report.cancelled)} cancelled, {len(report.moved)} moved; "
        f"{report.confirmed} provisional sessions confirmed"
    )
    return "\n".join(lines)


@holidays_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--apply", "apply_", is_flag=True, help="Apply the changes (default: only show them).")
def import_command(file: Path, apply_: bool) -> None:
    """Import a year's arrangement: holiday-cn JSON or an .ics of holidays. Shows the changes first."""
    from scheduler import holiday_import

    with force_locale("en"):
        try:
            arrangement = holiday_import.parse(file.read_bytes()[: holiday_import.MAX_FILE_BYTES + 1], file.name)
        except holiday_import.ArrangementError as exc:
            raise click.ClickException(str(exc)) from None
        report = holiday_import.run(arrangement, actor=None, apply=apply_)
        click.echo(describe(report))


@holidays_cli.command("confirm")
@click.argument("year", type=click.IntRange(2000, 2100))
def confirm_command(year: int) -> None:
    """Confirm a year as the package and the overrides have it (no file)."""
    from scheduler import holiday_import

    count = holiday_import.confirm_by_hand(year, actor=None)
    click.echo(f"{year}: confirmed; {count} provisional sessions confirmed")


@holidays_cli.command("status")
@click.option("--years", default=3, show_default=True, help="How many years from this one.")
def status_command(years: int) -> None:
    """Which years are confirmed (package or admin) and which are provisional."""
    from scheduler import holiday_years

    admin = holiday_years.admin_confirmed_years()
    first = local_today().year
    for year in range(first, first + max(1, min(years, 20))):
        if year in admin:
            state = "confirmed (imported or confirmed by an admin)"
        elif holiday_years.package_knows(year):
            state = "confirmed (holidays package)"
        else:
            state = "PROVISIONAL: import the State Council arrangement when it is published"
        click.echo(f"{year}\t{state}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(holidays_cli)
