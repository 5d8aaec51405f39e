"""Moving or cancelling one patrol shift by hand; its volunteers are told (iMIP REQUEST / CANCEL)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from models import Assignment, AssignmentStatus, Shift, ShiftStatus, User, db, record, utcnow
from timeutil import to_local

from . import notify_events
from .assignments import _check_no_overlap, can_manage_team, forbidden, not_found
from .errors import RuleViolation
from .transactions import in_transaction


def _volunteers(shift_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Assignment, Assignment.volunteer_id == User.id)
            .where(Assignment.shift_id == shift_id, Assignment.status == AssignmentStatus.ASSIGNED)
        )
    )


def volunteers_told(shift_id: int) -> int:
    """How many volunteers a move or cancel of the shift tells (those assigned to it now). Reads only."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Assignment)
            .where(Assignment.shift_id == shift_id, Assignment.status == AssignmentStatus.ASSIGNED)
        )
        or 0
    )


def _shift(actor: User, shift_id: int) -> Shift:
    shift = db.session.get(Shift, shift_id, with_for_update=True, populate_existing=True)
    if shift is None:
        raise not_found(_("This shift does not exist."))
    if not can_manage_team(actor, shift.team_id):
        raise forbidden()
    if shift.status is not ShiftStatus.SCHEDULED:
        raise RuleViolation(_("This shift is cancelled."), "shift_cancelled", 409)
    return shift


def move_shift(actor: User, shift_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> Shift:
    """New times for a shift (SEQUENCE up, same UID); its volunteers' assignments follow."""

    def work():
        shift = _shift(actor, shift_id)
        if ends_at <= starts_at:
            raise RuleViolation(_("The end time must be after the start time."), "bad_times", 400)
        if starts_at <= utcnow():
            raise RuleViolation(_("A shift cannot be moved into the past."), "in_past", 400)
        before = to_local(shift.starts_at).isoformat()
        on_it = db.session.execute(
            sa.select(Assignment.id, Assignment.volunteer_id).where(
                Assignment.shift_id == shift.id, Assignment.status == AssignmentStatus.ASSIGNED
            )
        ).all()
        # The booking lock (services/assignments.py): nobody books these volunteers meanwhile.
        people = {
            u.id: u
            for u in db.session.scalars(
                sa.select(User).where(User.id.in_([v for _a, v in on_it])).order_by(User.id).with_for_update()
            )
        }
        shift.starts_at, shift.ends_at = starts_at, ends_at
        for assignment_id, volunteer_id in on_it:  # nobody ends up in two overlapping shifts
            _check_no_overlap(shift, people[volunteer_id], assignment_id)
        shift.local_date = to_local(starts_at).date()
        shift.sequence = (shift.sequence or 0) + 1
        shift.last_modified = utcnow()
        db.session.execute(
            sa.update(Assignment)
            .where(Assignment.shift_id == shift.id, Assignment.status == AssignmentStatus.ASSIGNED)
            .values(starts_at=starts_at, ends_at=ends_at, updated_at=utcnow())
        )
        db.session.flush()
        record(
            actor,
            "shift.move",
            "shift",
            shift.id,
            team_id=shift.team_id,
            before=before,
            after=to_local(starts_at).isoformat(),
        )
        notify_events.shift_changed(shift, _volunteers(shift.id), cancelled=False)
        return shift

    return in_transaction(work)


def cancel_shift(actor: User, shift_id: int) -> Shift:
    """Cancel a shift; it stays (feeds publish STATUS:CANCELLED), its volunteers get a CANCEL."""

    def work():
        shift = _shift(actor, shift_id)
        shift.status = ShiftStatus.CANCELLED
        shift.sequence = (shift.sequence or 0) + 1
        shift.last_modified = utcnow()
        db.session.flush()
        record(actor, "shift.cancel", "shift", shift.id, team_id=shift.team_id)
        notify_events.shift_changed(shift, _volunteers(shift.id), cancelled=True)
        return shift

    return in_transaction(work)
