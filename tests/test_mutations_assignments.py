"""Booking rules that mutation testing showed no test would defend: the overlap check's strict
edges (back-to-back shifts are fine), the weekly limit's edge and week, who may book a started shift."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from models import Assignment, AssignmentStatus, Role, db
from services import assignments as service
from services.errors import RuleViolation
from tests.factories import make_shift, make_team, make_user
from timeutil import LOCAL_TZ


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


@pytest.fixture
def people(app):
    coordinator = make_user(Role.COORDINATOR)
    wang = make_user(Role.VOLUNTEER, name="王芳", name_en="Wang Fang")
    team = make_team(coordinator=coordinator, members=[wang])
    other = make_team(coordinator=coordinator, members=[wang])
    db.session.commit()
    return coordinator, wang, team, other


def at(days_ahead: int, hour: int) -> dt.datetime:
    """A local time on a Wednesday at least `days_ahead` days from today."""
    day = dt.datetime.now(LOCAL_TZ).date() + dt.timedelta(days=days_ahead)
    day += dt.timedelta(days=(2 - day.weekday()) % 7)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


def _refused(call) -> RuleViolation:
    with pytest.raises(RuleViolation) as refused:
        call()
    return refused.value


@pytest.mark.parametrize("first_hour, second_hour", [(19, 22), (22, 19)])
def test_back_to_back_shifts_do_not_overlap(people, first_hour, second_hour):
    coordinator, wang, team, other = people
    first = make_shift(team, at(7, first_hour), hours=3)
    second = make_shift(other, at(7, second_hour), hours=3)  # 19-22 and 22-01 touch at 22:00
    db.session.commit()
    service.assign(coordinator, first.id, wang.id)
    assert service.assign(coordinator, second.id, wang.id).status is AssignmentStatus.ASSIGNED


@pytest.mark.parametrize("second_hour", [21, 17, 20])  # overlaps the end, the start, lies inside
def test_an_hour_of_overlap_is_refused_with_the_other_shift_named(people, second_hour):
    coordinator, wang, team, other = people
    first = make_shift(team, at(7, 18), hours=4)  # 18-22
    second = make_shift(other, at(7, second_hour), hours=2)
    db.session.commit()
    service.assign(coordinator, first.id, wang.id)
    refused = _refused(lambda: service.assign(coordinator, second.id, wang.id))
    assert refused.code == "overlap" and refused.status == 409
    assert "18:00–22:00" in refused.message  # the shift already booked


def test_a_dropped_assignment_does_not_block_the_same_hours(people):
    coordinator, wang, team, other = people
    first = make_shift(team, at(7, 19))
    second = make_shift(other, at(7, 19))
    db.session.commit()
    assignment = service.assign(coordinator, first.id, wang.id)
    service.unassign(coordinator, assignment.id)
    assert service.assign(coordinator, second.id, wang.id).status is AssignmentStatus.ASSIGNED
    assert service.overlapping_assignment(wang.id, first.starts_at, first.ends_at).shift_id == second.id


def test_overlap_lookup_excludes_the_given_assignment_only(people):
    coordinator, wang, team, _other = people
    shift = make_shift(team, at(7, 19))
    db.session.commit()
    assignment = service.assign(coordinator, shift.id, wang.id)
    assert service.overlapping_assignment(wang.id, shift.starts_at, shift.ends_at).id == assignment.id
    assert service.overlapping_assignment(wang.id, shift.starts_at, shift.ends_at, assignment.id) is None
    assert service.overlapping_assignment(wang.id, shift.starts_at, shift.ends_at, assignment.id + 1) is not None


def test_the_weekly_limit_allows_exactly_the_limit_and_counts_only_that_week(people):
    coordinator, wang, team, other = people
    wang.weekly_hours_limit = 6
    monday_before = at(7, 19) - dt.timedelta(days=3)  # the Sunday before the Wednesday: the previous week
    earlier_week = make_shift(team, monday_before, hours=3)
    first = make_shift(team, at(7, 8), hours=3)
    second = make_shift(other, at(7, 19), hours=3)
    third = make_shift(other, at(7, 19) + dt.timedelta(days=1), hours=1)
    db.session.commit()
    service.assign(coordinator, earlier_week.id, wang.id)  # another week: does not count
    service.assign(coordinator, first.id, wang.id)
    service.assign(coordinator, second.id, wang.id)  # 6 of 6 hours: allowed
    refused = _refused(lambda: service.assign(coordinator, third.id, wang.id))
    assert refused.code == "weekly_limit" and "7 hours" in refused.message and "limit of 6" in refused.message
    assert service.hours_in_week(wang.id, first.local_date) == 6.0


def test_week_bounds_run_monday_to_monday():
    wednesday = dt.date(2026, 3, 11)
    assert service.week_bounds(wednesday) == (dt.date(2026, 3, 9), dt.date(2026, 3, 16))
    assert service.week_bounds(dt.date(2026, 3, 9)) == (dt.date(2026, 3, 9), dt.date(2026, 3, 16))
    assert service.week_bounds(dt.date(2026, 3, 15)) == (dt.date(2026, 3, 9), dt.date(2026, 3, 16))


def test_a_coordinator_may_fill_a_started_shift_a_volunteer_may_not(people):
    coordinator, wang, team, _other = people
    started = make_shift(team, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), hours=3)
    db.session.commit()
    refused = _refused(lambda: service.sign_up(wang, started.id))
    assert (refused.code, refused.message) == ("shift_started", "This shift has already started.")
    assert service.assign(coordinator, started.id, wang.id).status is AssignmentStatus.ASSIGNED


def test_nobody_books_a_shift_that_is_over(people):
    coordinator, wang, team, _other = people
    over = make_shift(team, dt.datetime.now(dt.UTC) - dt.timedelta(hours=4), hours=3)
    db.session.commit()
    refused = _refused(lambda: service.assign(coordinator, over.id, wang.id))
    assert (refused.code, refused.message) == ("shift_over", "This shift is over.")
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 0
