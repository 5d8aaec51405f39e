"""The roster planner: hard rules checked by an independent checker, goals, drafts, publishing, access."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from models import (
    ALL_WEEKDAYS,
    Assignment,
    AssignmentStatus,
    MembershipRole,
    Plan,
    PlanStatus,
    Qualification,
    Role,
    Shift,
    ShiftTemplate,
    TeamMembership,
    TemplateRequirement,
    Unavailability,
    VolunteerQualification,
    db,
    utcnow,
)
from scheduler.shifts import generate_shifts
from services import planner
from services.errors import RuleViolation

from .factories import make_assignment, make_team, make_user
from .planner_checker import check_roster, unmet_requirements

JAN_1, JAN_31 = dt.date(2027, 1, 1), dt.date(2027, 1, 31)  # a Friday .. a Sunday


def _team(members: int, min_volunteers: int = 2, max_volunteers: int = 6):
    """A team with an evening (19:00–22:00) and a night (22:00–02:00) shift every day of January 2027."""
    coordinator = make_user(Role.COORDINATOR)
    people = [make_user() for _ in range(members)]
    team = make_team(coordinator=coordinator, members=people)
    templates = []
    for name, start, end in (("evening", dt.time(19), dt.time(22)), ("night", dt.time(22), dt.time(2))):
        template = ShiftTemplate(
            team_id=team.id,
            name=name,
            weekdays=ALL_WEEKDAYS,
            local_start=start,
            local_end=end,
            min_volunteers=min_volunteers,
            max_volunteers=max_volunteers,
            valid_from=JAN_1,
        )
        db.session.add(template)
        templates.append(template)
    db.session.flush()
    generate_shifts(JAN_1, JAN_31)
    db.session.commit()
    return team, coordinator, people, templates


def _hours(people) -> dict[int, float]:
    out = {p.id: 0.0 for p in people}
    for vid, start, end in db.session.execute(
        sa.select(Assignment.volunteer_id, Assignment.starts_at, Assignment.ends_at).where(
            Assignment.status == AssignmentStatus.ASSIGNED
        )
    ):
        if vid in out:
            out[vid] += (end - start).total_seconds() / 3600
    return out


def test_enough_people_every_minimum_reached_and_hours_spread_within_one_shift(app):
    team, coordinator, people, _ = _team(25)
    since = utcnow()
    plan = planner.make_plan(coordinator, team.id, JAN_1, JAN_31)
    assert plan.status is PlanStatus.DRAFT
    assert plan.summary["unfilled"] == []
    assert plan.summary["places_planned"] == plan.summary["places_needed"] == 62 * 2
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 0  # a draft assigns nobody

    assert planner.publish(coordinator, plan.id) == 124
    assert check_roster(JAN_1, JAN_31, rest_since=since) == []
    shifts = db.session.scalars(sa.select(Shift).where(Shift.team_id == team.id)).all()
    assert all(s.assigned_count >= s.min_volunteers for s in shifts)
    hours = _hours(people).values()
    assert max(hours) - min(hours) <= 4  # one (night) shift


def test_hard_rules_hold_with_unavailability_limits_and_existing_assignments(app):
    team, coordinator, people, _ = _team(8)
    db.session.add(Unavailability(user_id=people[0].id, weekday=4))  # never on Fridays
    db.session.add(Unavailability(user_id=people[1].id, day=dt.date(2027, 1, 9)))
    people[2].weekly_hours_limit = 6
    first_night = db.session.scalar(
        sa.select(Shift).where(Shift.team_id == team.id, Shift.local_date == JAN_1).order_by(Shift.starts_at.desc())
    )
    kept = make_assignment(first_night, people[3])
    db.session.commit()
    since = utcnow()
    plan = planner.make_plan(coordinator, team.id, JAN_1, JAN_31)
    planner.publish(coordinator, plan.id)
    assert check_roster(JAN_1, JAN_31, rest_since=since) == []
    assert db.session.get(Assignment, kept.id).status is AssignmentStatus.ASSIGNED  # what was assigned stays


def test_infeasible_month_reports_which_shifts_and_why(app):
    team, coordinator, people, _ = _team(2, min_volunteers=2)
    db.session.add(Unavailability(user_id=people[0].id, weekday=5))  # Saturdays
    db.session.commit()
    plan = planner.make_plan(coordinator, team.id, JAN_1, JAN_31)
    unfilled = plan.summary["unfilled"]
    # 3 people (the coordinator is a member too), 2 per shift, 2 shifts a day back to back (rest 10 h):
    # at most 3 of the 4 places a day.
    assert len(unfilled) >= 31
    saturday = [u for u in unfilled if u["date"] == "2027-01-02"]
    assert saturday and all(u["short"] >= 1 for u in saturday)
    assert any(u["reasons"].get("unavailable") == 1 for u in saturday)
    assert all("rest" in u["reasons"] or "unavailable" in u["reasons"] for u in unfilled)
    text = "\n".join(planner.summary_lines(plan))
    assert "2027-01-02" in text and "距最少人数还差" in text  # default language: Chinese
    planner.publish(coordinator, plan.id)
    assert check_roster(JAN_1, JAN_31) == []


def test_qualification_requirement_is_met_by_the_plan(app):
    team, coordinator, people, templates = _team(12)
    leader = Qualification(code="leader", name_zh="队长", name_en="Team leader")
    db.session.add(leader)
    db.session.flush()
    for template in templates:
        db.session.add(TemplateRequirement(template_id=template.id, qualification_id=leader.id, count=1))
    for p in people[:4]:
        db.session.add(VolunteerQualification(user_id=p.id, qualification_id=leader.id))
    db.session.add(
        VolunteerQualification(user_id=people[4].id, qualification_id=leader.id, expires_on=dt.date(2026, 12, 31))
    )
    db.session.commit()
    plan = planner.make_plan(coordinator, team.id, JAN_1, JAN_31)
    assert plan.summary["unfilled"] == []
    planner.publish(coordinator, plan.id)
    assert unmet_requirements(JAN_1, JAN_31) == []
    assert check_roster(JAN_1, JAN_31) == []


def test_coordinator_of_another_team_is_refused(app):
    team, coordinator, people, _ = _team(4)
    other, other_coordinator, _p, _t = _team(2)
    with pytest.raises(RuleViolation) as refused:
        planner.make_plan(other_coordinator, team.id, JAN_1, JAN_31)
    assert refused.value.code == "forbidden" and refused.value.status == 403
    plan = planner.make_plan(coordinator, team.id, JAN_1, JAN_31)
    with pytest.raises(RuleViolation) as refused:
        planner.publish(other_coordinator, plan.id)
    assert refused.value.code == "forbidden"
    with pytest.raises(RuleViolation) as refused:
        planner.make_plan(coordinator, None, JAN_1, JAN_31)
    assert refused.value.code == "forbidden"


def test_publish_is_all_or_nothing(app):
    team, coordinator, people, _ = _team(6)
    plan = planner.make_plan(coordinator, team.id, JAN_1, JAN_31)
    entries = plan.entries
    assert len(entries) == 124
    # After planning, someone books a clashing shift in another team: the last entry now overlaps.
    last = max(entries, key=lambda e: db.session.get(Shift, e.shift_id).starts_at)
    shift = db.session.get(Shift, last.shift_id)
    elsewhere = make_team(members=[db.session.get(type(people[0]), last.volunteer_id)])
    from .factories import make_shift

    clash = make_shift(elsewhere, shift.starts_at, hours=1)
    make_assignment(clash, db.session.get(type(people[0]), last.volunteer_id))
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        planner.publish(coordinator, plan.id)
    assert refused.value.code == "overlap"
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id)).where(Assignment.shift_id != clash.id)) == 0
    assert db.session.get(Plan, plan.id).status is PlanStatus.DRAFT


def test_draft_edits_check_the_rules(app):
    team, coordinator, people, _ = _team(6)
    plan = planner.make_plan(coordinator, team.id, JAN_1, JAN_31)
    entry = plan.entries[0]
    shift_id, vid = entry.shift_id, entry.volunteer_id
    planner.remove_entry(coordinator, plan.id, entry.id)
    with pytest.raises(RuleViolation) as refused:
        # the same person on the shift right after (0 h rest) is refused
        shift = db.session.get(Shift, shift_id)
        nxt = db.session.scalar(
            sa.select(Shift).where(Shift.team_id == team.id, Shift.starts_at == shift.ends_at)
        ) or db.session.scalar(sa.select(Shift).where(Shift.team_id == team.id, Shift.ends_at == shift.starts_at))
        others = [e for e in db.session.get(Plan, plan.id).entries if e.shift_id == nxt.id]
        planner.add_entry(coordinator, plan.id, shift_id, others[0].volunteer_id)
    assert refused.value.code == "rest"
    planner.add_entry(coordinator, plan.id, shift_id, vid)
    db.session.add(TeamMembership(team_id=team.id, user_id=make_user().id, role=MembershipRole.MEMBER))
    db.session.commit()


def test_cli_plans_and_publishes(app, runner):
    team, coordinator, people, _ = _team(10)
    make_user(Role.ADMIN)
    db.session.commit()
    result = runner.invoke(
        args=["roster", "plan", "--team", team.code, "--from", "2027-01-01", "--to", "2027-01-31", "--publish"]
    )
    assert result.exit_code == 0, result.output
    assert "124 个名额中已安排 124 个" in result.output and "published plan" in result.output
    assert check_roster(JAN_1, JAN_31) == []
    result = runner.invoke(args=["roster", "plan", "--team", "NOPE", "--from", "2027-01-01", "--to", "2027-01-31"])
    assert result.exit_code != 0 and "no team" in result.output
