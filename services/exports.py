"""A team's month roster as CSV: one line per person per shift, attendance and hours included."""

from __future__ import annotations

import csv
import datetime as dt
import io

import sqlalchemy as sa
from sqlalchemy import orm

from i18n import localized
from models import Assignment, AssignmentStatus, PatrolTeam, Shift, db

from .assignments import hhmm
from .memberships import member_labels
from .roster import month_bounds

# Machine-readable column names, stable across languages (spreadsheets and scripts rely on them).
COLUMNS = [
    "date",
    "start",
    "end",
    "team",
    "area",
    "min",
    "max",
    "filled",
    "member_number",
    "volunteer",
    "volunteer_en",
    "attendance",
    "hours",
]


def roster_csv(team: PatrolTeam, year: int, month: int) -> str:
    """The month's shifts of a team (see roster_csv_between)."""
    return roster_csv_between(team, *month_bounds(year, month))


def roster_csv_between(team: PatrolTeam, first: dt.date, last: dt.date) -> str:
    """A team's shifts from `first` to `last` (local dates, inclusive): a month, or the week a
    coordinator is looking at. A shift nobody is on still gets a line (with an empty name).

    Starts with a UTF-8 byte-order mark so that spreadsheet programs read the Chinese names.
    """
    shifts = db.session.scalars(
        sa.select(Shift)
        .where(Shift.team_id == team.id, Shift.local_date >= first, Shift.local_date <= last)
        .order_by(Shift.starts_at, Shift.id)
    ).all()
    people: dict[int, list[Assignment]] = {s.id: [] for s in shifts}
    if shifts:
        for assignment in db.session.scalars(
            sa.select(Assignment)
            .where(Assignment.shift_id.in_(list(people)), Assignment.status == AssignmentStatus.ASSIGNED)
            .options(orm.joinedload(Assignment.volunteer))
            .order_by(Assignment.id)
        ):
            people[assignment.shift_id].append(assignment)
    numbers = member_labels(team.id)  # tells apart two members of one name
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for shift in shifts:
        base = [
            shift.local_date.isoformat(),
            hhmm(shift.starts_at),
            hhmm(shift.ends_at),
            team.code,
            _safe(localized(shift, "area", "zh_CN")),
            shift.min_volunteers,
            shift.max_volunteers,
            len(people[shift.id]),
        ]
        if shift.status.value == "cancelled":
            writer.writerow(base + ["", "", "", "cancelled", "0"])
            continue
        if not people[shift.id]:
            writer.writerow(base + ["", "", "", "", "0"])
        for assignment in people[shift.id]:
            writer.writerow(
                base
                + [
                    numbers.get(assignment.volunteer_id, ""),
                    _safe(assignment.volunteer.name),
                    _safe(assignment.volunteer.name_en),
                    assignment.attendance.value,
                    f"{assignment.hours_credited:.2f}",
                ]
            )
    return out.getvalue()


def _safe(value: str) -> str:
    """Keep a spreadsheet from running a name as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
