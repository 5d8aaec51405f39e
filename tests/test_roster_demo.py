"""The demo's sample assignments: within the rules, with gaps, and added only once."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

import demo
from demo import LoadSummary, rosters
from models import Assignment, AssignmentStatus, Attendance, PatrolTeam, Shift, ShiftTemplate, db
from timeutil import local_today, span_utc


def _generate_shifts(team_limit: int) -> None:
    """What the schedule generator does, in short: every template, every day, four weeks around today."""
    templates = db.session.scalars(
        sa.select(ShiftTemplate).join(PatrolTeam).order_by(PatrolTeam.code).limit(team_limit * 2)).all()
    rows = []
    for template in templates:
        for offset in range(-14, 14):
            day = local_today() + dt.timedelta(days=offset)
            starts_at, ends_at = span_utc(day, template.local_start, template.local_end)
            rows.append(dict(team_id=template.team_id, template_id=template.id, local_date=day, starts_at=starts_at,
                             ends_at=ends_at, min_volunteers=template.min_volunteers,
                             max_volunteers=template.max_volunteers, area_zh=template.area_zh,
                             area_en=template.area_en))
    db.session.execute(sa.insert(Shift), rows)
    db.session.commit()


def test_demo_rosters_without_shifts_add_nothing(app):
    demo.load()
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 0


def test_demo_rosters_follow_the_rules_and_load_once(app):
    demo.load()
    _generate_shifts(team_limit=12)
    summary = LoadSummary()
    rosters.load(summary)
    db.session.commit()
    assert summary.added["sample assignments"] > 0
    assert summary.added["attendance records"] > 0

    rows = db.session.execute(
        sa.select(Assignment.volunteer_id, Assignment.starts_at, Assignment.ends_at)
        .where(Assignment.status == AssignmentStatus.ASSIGNED).order_by(Assignment.volunteer_id, Assignment.starts_at)
    ).all()
    for before, after in zip(rows, rows[1:]):
        if before.volunteer_id == after.volunteer_id:
            assert after.starts_at >= before.ends_at, "a sample volunteer is double-booked"

    counted = dict(db.session.execute(sa.select(Assignment.shift_id, sa.func.count()).where(
        Assignment.status == AssignmentStatus.ASSIGNED).group_by(Assignment.shift_id)).all())
    shifts = db.session.scalars(sa.select(Shift)).all()
    for shift in shifts:
        assert shift.assigned_count == counted.get(shift.id, 0) <= shift.max_volunteers
    now = dt.datetime.now(dt.timezone.utc)
    upcoming = [s for s in shifts if s.starts_at > now]
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
