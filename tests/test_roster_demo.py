"""The demo's sample assignments: within the rules, with gaps, and added only once."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

import demo
from demo import LoadSummary, rosters
from models import Assignment, AssignmentStatus, Attendance, Shift, SwapRequest, db
from timeutil import local_today


def test_demo_rosters_without_shifts_add_nothing(app):
    demo.load()
    db.session.execute(sa.delete(SwapRequest))
    db.session.execute(sa.delete(Assignment))
    db.session.execute(sa.delete(Shift))
    db.session.commit()
    summary = LoadSummary()
    rosters.load(summary)
    db.session.commit()
    assert not any(summary.added.values())
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 0


def test_demo_rosters_follow_the_rules_and_load_once(app):
    summary = demo.load()  # generates the shifts, then staffs them
    assert summary.added["sample assignments"] > 0
    assert summary.added["attendance records"] > 0

    rows = db.session.execute(
        sa.select(Assignment.volunteer_id, Assignment.starts_at, Assignment.ends_at)
        .where(Assignment.status == AssignmentStatus.ASSIGNED)
        .order_by(Assignment.volunteer_id, Assignment.starts_at)
    ).all()
    for before, after in zip(rows, rows[1:]):
        if before.volunteer_id == after.volunteer_id:
            assert after.starts_at >= before.ends_at, "a sample volunteer is double-booked"

    counted = dict(
        db.session.execute(
            sa.select(Assignment.shift_id, sa.func.count())
            .where(Assignment.status == AssignmentStatus.ASSIGNED)
            .group_by(Assignment.shift_id)
        ).all()
    )
    shifts = db.session.scalars(sa.select(Shift)).all()
    for shift in shifts:
        assert shift.assigned_count == counted.get(shift.id, 0) <= shift.max_volunteers
    now = dt.datetime.now(dt.UTC)
    staffed_until = local_today() + dt.timedelta(days=rosters.DAYS_AHEAD - 1)
    upcoming = [s for s in shifts if s.starts_at > now and s.local_date <= staffed_until]
    below = [s for s in upcoming if s.assigned_count < s.min_volunteers]
    assert 0 < len(below) < len(upcoming) / 3  # gaps for the dashboard, but mostly staffed
    past = db.session.scalars(sa.select(Assignment).where(Assignment.ends_at < now)).all()
    assert past and all(a.attendance is not Attendance.UNKNOWN for a in past)
    assert all(float(a.hours_credited) > 0 for a in past if a.attendance is Attendance.PRESENT)

    total = db.session.scalar(sa.select(sa.func.count(Assignment.id)))
    again = LoadSummary()
    rosters.load(again)
    db.session.commit()
    assert not any(again.added.values())
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == total
