"""Copy a period's pattern (who is on which shift template and weekday) onto the next period.

- A week is copied onto the next week: the people on Tuesday's 19:00 patrol are put on next
  Tuesday's 19:00 patrol. A month onto the next month by template, weekday and its place in the
  month (the 2nd Tuesday onto the 2nd Tuesday); a 5th weekday the source lacks takes the source's
  last one of that weekday.
- Shifts are matched by template; a shift without one by its start time.
- Every place goes through `services.assignments.assign` (every rule checked, in a savepoint so
  a refusal undoes only itself). The preview runs exactly that and rolls it all back; applying
  runs it and commits everything that passed in one transaction. What could not be copied comes
  back with the reason.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import orm
from sqlalchemy.exc import IntegrityError

from models import Assignment, AssignmentStatus, PatrolTeam, Shift, ShiftStatus, User, db, record

from . import assignments as service
from .errors import RuleViolation
from .roster_bulk import matching_shifts
from .transactions import in_transaction

KINDS = ("week", "month")


@dataclass
class CopyResult:
    kind: str
    source: tuple[dt.date, dt.date]
    target: tuple[dt.date, dt.date]
    applied: bool
    done: list[tuple[Shift, User]] = field(default_factory=list)
    refused: list[tuple[Shift | None, User, str, str]] = field(default_factory=list)  # + message, rule code
    skipped: int = 0  # already on the target shift


class _Preview(Exception):
    def __init__(self, result: CopyResult):
        self.result = result


def periods(kind: str, day: dt.date) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """The source period holding `day` (its week from Monday, or its month) and the one after it."""
    if kind == "week":
        first = day - dt.timedelta(days=day.weekday())
        return (first, first + dt.timedelta(days=6)), (first + dt.timedelta(days=7), first + dt.timedelta(days=13))
    if kind == "month":
        first = day.replace(day=1)
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        nxt = last + dt.timedelta(days=1)
        return (first, last), (nxt, nxt.replace(day=calendar.monthrange(nxt.year, nxt.month)[1]))
    raise RuleViolation(_("Copy a week or a month."), "bad_kind", 400)


def _key(shift: Shift) -> tuple:
    slot = shift.template_id if shift.template_id is not None else service.hhmm(shift.starts_at)
    return slot, shift.local_date.weekday()


def _nth(shift: Shift) -> int:
    return (shift.local_date.day - 1) // 7


def _source_pattern(team_id: int, kind: str, first: dt.date, last: dt.date):
    """key -> place in the month (0 for a week) -> volunteer ids as assigned; and those people."""
    rows = db.session.execute(
        sa.select(Shift, Assignment.volunteer_id)
        .join(Assignment, Assignment.shift_id == Shift.id)
        .where(
            Shift.team_id == team_id,
            Shift.local_date >= first,
            Shift.local_date <= last,
            Shift.status == ShiftStatus.SCHEDULED,
            Assignment.status == AssignmentStatus.ASSIGNED,
        )
        .order_by(Shift.starts_at, Assignment.id)
    ).all()
    pattern: dict[tuple, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for shift, volunteer_id in rows:
        pattern[_key(shift)][_nth(shift) if kind == "month" else 0].append(volunteer_id)
    ids = {v for _s, v in rows}
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))} if ids else {}
    return pattern, people


def _copy_one(actor: User, target: Shift, volunteer: User, result: CopyResult) -> None:
    """One place through the assignment service; a refusal undoes only its own savepoint."""
    try:
        with db.session.begin_nested():
            service.assign(actor, target.id, volunteer.id)
        result.done.append((target, volunteer))
    except RuleViolation as exc:
        if exc.code == "already_assigned":
            result.skipped += 1
        else:
            result.refused.append((target, volunteer, exc.message, exc.code))
    except IntegrityError:
        message = _("The change conflicts with other data; please try again.")
        result.refused.append((target, volunteer, message, "conflict"))


def copy_period(actor: User, team_id: int, kind: str, day: dt.date, apply: bool = False) -> CopyResult:
    """Preview (`apply=False`, nothing kept) or apply the copy of `day`'s period onto the next."""
    if not service.can_manage_team(actor, team_id):
        raise service.forbidden()
    (s_first, s_last), (t_first, t_last) = periods(kind, day)
    pattern, people = _source_pattern(team_id, kind, s_first, s_last)
    targets = matching_shifts(team_id, t_first, t_last)

    def work() -> CopyResult:
        # A write first: it opens the real transaction (SQLite's driver would otherwise let the first
        # SAVEPOINT start one, which its RELEASE commits, preview or not) and serialises copies of a team.
        db.session.execute(
            sa.update(PatrolTeam).where(PatrolTeam.id == team_id).values(updated_at=PatrolTeam.updated_at)
        )
        result = CopyResult(kind, (s_first, s_last), (t_first, t_last), applied=apply)
        matched: set[tuple] = set()
        for target in targets:
            by_nth = pattern.get(_key(target))
            if not by_nth:
                continue
            matched.add(_key(target))
            nth = _nth(target) if kind == "month" else 0
            # A 5th weekday the source month lacks takes its last one; an earlier gap stays empty.
            volunteers = by_nth.get(nth) or (by_nth[max(by_nth)] if nth > max(by_nth) else [])
            for volunteer_id in volunteers:
                _copy_one(actor, target, people[volunteer_id], result)
        for key in pattern.keys() - matched:
            for volunteer_id in dict.fromkeys(v for ids in pattern[key].values() for v in ids):
                result.refused.append(
                    (
                        None,
                        people[volunteer_id],
                        _("There is no such shift in the next period to copy onto."),
                        "no_target_shift",
                    )
                )
        if not apply:
            raise _Preview(result)  # roll back: the preview keeps nothing
        record(
            actor,
            "roster.copy_period",
            "patrol_team",
            team_id,
            kind=kind,
            source=s_first.isoformat(),
            target=t_first.isoformat(),
            done=len(result.done),
            refused=len(result.refused),
        )
        return result

    try:
        return in_transaction(work)
    except _Preview as preview:
        return preview.result


def _id(obj) -> int:
    # The identity, without loading an expired object's row (reading `.id` would, one query each).
    return sa.inspect(obj).identity[0]


def load_for_display(result: CopyResult) -> CopyResult:
    """After the preview's rollback the shifts and people are expired: load them again at once."""
    shift_ids = {_id(s) for s, _u in result.done} | {_id(s) for s, _u, _m, _c in result.refused if s is not None}
    if shift_ids:
        list(db.session.scalars(sa.select(Shift).where(Shift.id.in_(shift_ids)).options(orm.joinedload(Shift.team))))
    user_ids = {_id(u) for _s, u in result.done} | {_id(u) for _s, u, _m, _c in result.refused}
    if user_ids:
        list(db.session.scalars(sa.select(User).where(User.id.in_(user_ids))))
    return result
