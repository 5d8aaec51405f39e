"""Usual partners: volunteers who often patrolled together are preferably planned on the same
shift, when it costs nothing (no minimum, no spread), and never against a hard rule."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from models import ALL_WEEKDAYS, Assignment, AssignmentStatus, Attendance, Role, ShiftTemplate, db, utcnow
from scheduler.shifts import generate_shifts
from services import planner

from .factories import make_assignment, make_shift, make_team, make_user
from .planner_checker import check_roster

FIRST, LAST = dt.date(2027, 1, 4), dt.date(2027, 1, 17)  # two weeks, Monday to Sunday


def _team_with_history(no_show: bool = False):
    """Four members; an evening shift (19:00-22:00) a day for exactly two; in December, A patrolled
    with C and B with D (three times each)."""
    coordinator = make_user(Role.ADMIN)  # plans the team without being one of its members
    a, b, c, d = (make_user(name_en=n) for n in ("Anna", "Bo", "Chen", "Dai"))
    team = make_team(members=[a, b, c, d])
    db.session.add(
        ShiftTemplate(
            team_id=team.id,
            name="evening",
            weekdays=ALL_WEEKDAYS,
            local_start=dt.time(19),
            local_end=dt.time(22),
            min_volunteers=2,
            max_volunteers=2,
            valid_from=FIRST,
            valid_until=LAST,
        )
    )
    db.session.flush()
    generate_shifts(FIRST, LAST)
    for n, (x, y) in enumerate([(a, c), (b, d)] * 3):
        # Morning patrols (08:00): not the same weekday and time, so no "usual volunteer" bonus in January.
        past = make_shift(team, dt.datetime(2026, 12, 1 + n, 0, tzinfo=dt.UTC), min_volunteers=2)
        make_assignment(past, x, attendance=Attendance.NO_SHOW if no_show else Attendance.PRESENT)
        make_assignment(past, y)
    db.session.commit()
    return team, coordinator, (a, b, c, d)


def _pairs(plan) -> list[frozenset[int]]:
    by_shift: dict[int, set[int]] = {}
    for entry in plan.entries:
        by_shift.setdefault(entry.shift_id, set()).add(entry.volunteer_id)
    return [frozenset(p) for p in by_shift.values()]


def _spread(plan) -> int:
    counts: dict[int, int] = {}
    for entry in plan.entries:
        counts[entry.volunteer_id] = counts.get(entry.volunteer_id, 0) + 1
    return max(counts.values()) - min(counts.values())


def test_partners_are_planned_together_when_it_costs_nothing(app, monkeypatch):
    team, coordinator, (a, b, c, d) = _team_with_history()
    assert planner.usual_partners([team.id], FIRST) == {tuple(sorted((a.id, c.id))), tuple(sorted((b.id, d.id)))}
    partners = {frozenset((a.id, c.id)), frozenset((b.id, d.id))}

    monkeypatch.setattr(planner, "W_PARTNER", 0)
    without = planner.make_plan(coordinator, team.id, FIRST, LAST)
    monkeypatch.undo()
    with_partners = planner.make_plan(coordinator, team.id, FIRST, LAST)

    assert with_partners.summary["unfilled"] == [] and len(with_partners.entries) == 28
    assert all(pair in partners for pair in _pairs(with_partners))  # every evening: A with C, or B with D
    assert with_partners.summary["partner_shifts"] == 14
    assert sum(pair in partners for pair in _pairs(without)) < 14  # the preference changed the plan
    assert _spread(with_partners) == _spread(without) == 0  # ... at no cost in spread

    since = utcnow()
    planner.discard(coordinator, without.id)
    assert planner.publish(coordinator, with_partners.id) == 28
    assert check_roster(FIRST, LAST, rest_since=since) == []


def test_partners_never_break_a_hard_rule_or_the_spread(app):
    team, coordinator, (a, b, c, d) = _team_with_history()
    # C cannot do weekends; A has a 9-hour weekly limit (three evenings).
    from models import Unavailability

    db.session.add_all([Unavailability(user_id=c.id, weekday=5), Unavailability(user_id=c.id, weekday=6)])
    a.weekly_hours_limit = 9
    db.session.commit()
    since = utcnow()
    plan = planner.make_plan(coordinator, team.id, FIRST, LAST)
    assert plan.summary["unfilled"] == []
    assert planner.publish(coordinator, plan.id) == 28
    assert check_roster(FIRST, LAST, rest_since=since) == []
    weekly_a = db.session.scalar(
        sa.select(sa.func.count(Assignment.id)).where(
            Assignment.volunteer_id == a.id, Assignment.status == AssignmentStatus.ASSIGNED
        )
    )
    assert weekly_a == 6 + 3  # three evenings a week in January, plus December's history


def test_no_shows_do_not_make_partners(app):
    team, _coordinator, (a, b, c, d) = _team_with_history(no_show=True)
    assert planner.usual_partners([team.id], FIRST) == set()
