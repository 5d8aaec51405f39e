"""Bulk roster actions over a range of dates: each shift is its own transaction through the
same rules as a single assignment, and every refusal comes back with its reason."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import orm

from models import Assignment, AssignmentStatus, Attendance, Shift, ShiftStatus, User, db, record, utcnow

from . import assignments as service
from .errors import RuleViolation
from .transactions import in_transaction

MAX_RANGE_DAYS = 62
LOOKBACK_WEEKS = 8


@dataclass
class BulkResult:
    done: list[tuple[Shift, User]] = field(default_factory=list)
    refused: list[tuple[Shift, User | None, str]] = field(default_factory=list)
    skipped: int = 0

    def refuse(self, shift: Shift, user: User | None, message: str) -> None:
        self.refused.append((shift, user, message))


def validate_range(first: dt.date, last: dt.date) -> None:
    if last < first:
        raise RuleViolation(_("The last date is before the first date."), "bad_range", 400)
    if (last - first).days >= MAX_RANGE_DAYS:
        raise RuleViolation(_("Choose at most %(days)s days at a time.", days=MAX_RANGE_DAYS), "bad_range", 400)


def _require_manager(actor: User, team_id: int) -> None:
    if not service.can_manage_team(actor, team_id):
        raise service.forbidden()


def matching_shifts(
    team_id: int, first: dt.date, last: dt.date, weekdays: set[int] | None = None, start_time: str | None = None
) -> list[Shift]:
    """The team's scheduled, not yet ended shifts in a date range, optionally on some weekdays / at one time."""
    shifts = db.session.scalars(
        sa.select(Shift)
        .where(
            Shift.team_id == team_id,
            Shift.local_date >= first,
            Shift.local_date <= last,
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.ends_at > utcnow(),
        )
        .options(orm.joinedload(Shift.team))
        .order_by(Shift.starts_at)
    )
    return [
        s
        for s in shifts
        if (not weekdays or s.local_date.weekday() in weekdays)
        and (not start_time or service.hhmm(s.starts_at) == start_time)
    ]


def bulk_assign(
    actor: User,
    team_id: int,
    volunteer_id: int,
    first: dt.date,
    last: dt.date,
    weekdays: set[int] | None = None,
    start_time: str | None = None,
) -> BulkResult:
    """Put one volunteer on every matching shift (a repeating pattern), as far as the rules allow."""
    _require_manager(actor, team_id)
    validate_range(first, last)
    volunteer = db.session.get(User, volunteer_id)
    if volunteer is None:
        raise service.not_found(_("This person does not exist."))
    result = BulkResult()
    shifts = matching_shifts(team_id, first, last, weekdays, start_time)
    for shift in shifts:
        try:
            service.assign(actor, shift.id, volunteer_id)
            result.done.append((shift, volunteer))
        except RuleViolation as exc:
            if exc.code == "already_assigned":
                result.skipped += 1
            else:
                result.refuse(shift, volunteer, exc.message)
    _summarise(actor, "roster.bulk_assign", team_id, first, last, result, volunteer_id=volunteer_id)
    return result


def bulk_unassign(
    actor: User,
    team_id: int,
    volunteer_id: int,
    first: dt.date,
    last: dt.date,
    weekdays: set[int] | None = None,
    start_time: str | None = None,
) -> BulkResult:
    """Take one volunteer off every matching shift."""
    _require_manager(actor, team_id)
    validate_range(first, last)
    result = BulkResult()
    shifts = {s.id: s for s in matching_shifts(team_id, first, last, weekdays, start_time)}
    if not shifts:
        return result
    rows = db.session.scalars(
        sa.select(Assignment).where(
            Assignment.shift_id.in_(list(shifts)),
            Assignment.volunteer_id == volunteer_id,
            Assignment.status == AssignmentStatus.ASSIGNED,
        )
    ).all()
    volunteer = db.session.get(User, volunteer_id)
    for assignment_id, shift_id in [(a.id, a.shift_id) for a in rows]:
        try:
            service.unassign(actor, assignment_id)
            result.done.append((shifts[shift_id], volunteer))
        except RuleViolation as exc:
            result.refuse(shifts[shift_id], volunteer, exc.message)
    _summarise(actor, "roster.bulk_unassign", team_id, first, last, result, volunteer_id=volunteer_id)
    return result


def usual_volunteers(team_id: int, before: dt.date, weeks: int = LOOKBACK_WEEKS) -> dict[tuple[int, str], list[int]]:
    """Who usually does each (weekday, start time) of a team: most shifts in the weeks before `before`.

    No-shows do not count; a volunteer who swapped a shift away is not "usual" for it.
    """
    since = before - dt.timedelta(weeks=weeks)
    rows = db.session.execute(
        sa.select(Shift.local_date, Shift.starts_at, Assignment.volunteer_id)
        .join(Assignment, Assignment.shift_id == Shift.id)
        .where(
            Shift.team_id == team_id,
            Shift.local_date >= since,
            Shift.local_date < before,
            Assignment.status == AssignmentStatus.ASSIGNED,
            Assignment.attendance != Attendance.NO_SHOW,
        )
    )
    counts: dict[tuple[int, str], Counter] = defaultdict(Counter)
    for local_date, starts_at, volunteer_id in rows:
        counts[(local_date.weekday(), service.hhmm(starts_at))][volunteer_id] += 1
    return {key: [vid for vid, _n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))] for key, c in counts.items()}


def fill_from_usual(
    actor: User,
    team_id: int,
    first: dt.date,
    last: dt.date,
    weekdays: set[int] | None = None,
    start_time: str | None = None,
    up_to: str = "min",
) -> BulkResult:
    """Fill every matching shift from the volunteers who usually do that weekday and time.

    Each shift is filled up to its minimum (or its maximum), trying the usual volunteers in
    order of how often they came; anyone the rules refuse is reported and the next one tried.
    """
    _require_manager(actor, team_id)
    validate_range(first, last)
    usual = usual_volunteers(team_id, first)
    people = (
        {
            u.id: u
            for u in db.session.scalars(
                sa.select(User).where(User.id.in_({vid for ids in usual.values() for vid in ids}))
            )
        }
        if usual
        else {}
    )
    result = BulkResult()
    for shift in matching_shifts(team_id, first, last, weekdays, start_time):
        target = shift.min_volunteers if up_to == "min" else shift.max_volunteers
        have = shift.assigned_count
        candidates = usual.get((shift.local_date.weekday(), service.hhmm(shift.starts_at)), [])
        if have >= target:
            result.skipped += 1
            continue
        for volunteer_id in candidates:
            if have >= target:
                break
            try:
                service.assign(actor, shift.id, volunteer_id)
                result.done.append((shift, people[volunteer_id]))
                have += 1
            except RuleViolation as exc:
                if exc.code == "already_assigned":
                    continue
                result.refuse(shift, people[volunteer_id], exc.message)
                if exc.code in {"shift_full", "shift_over", "shift_cancelled"}:
                    break
        if have < target:
            result.refuse(
                shift,
                None,
                _(
                    "still %(missing)s short of %(target)s after trying the usual volunteers",
                    missing=target - have,
                    target=target,
                ),
            )
    _summarise(actor, "roster.fill_from_usual", team_id, first, last, result, up_to=up_to)
    return result


def _summarise(actor, action, team_id, first, last, result: BulkResult, **detail) -> None:
    """One audit line for the whole bulk action (each change was its own unit of work, with its own line)."""
    in_transaction(
        lambda: record(
            actor,
            action,
            "patrol_team",
            team_id,
            first=first.isoformat(),
            last=last.isoformat(),
            done=len(result.done),
            refused=len(result.refused),
            **detail,
        )
    )
