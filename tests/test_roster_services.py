"""The assignment rules, called as the pages and the API call them (no HTTP)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from models import (
    Assignment,
    AssignmentStatus,
    Attendance,
    AuditLog,
    Role,
    Shift,
    ShiftStatus,
    SwapRequest,
    SwapStatus,
    db,
)
from services import assignments as service
from services.errors import RuleViolation
from tests.factories import make_assignment, make_shift, make_team, make_user
from timeutil import LOCAL_TZ


@pytest.fixture(autouse=True)
def english(app):
    """Messages in English whatever the default locale (the Chinese catalogue is merged later)."""
    with force_locale("en"):
        yield


def evening(days_ahead: int, hour: int = 19, minute: int = 0) -> dt.datetime:
    """A local time `days_ahead` days from today, as an aware datetime."""
    day = dt.datetime.now(LOCAL_TZ).date() + dt.timedelta(days=days_ahead)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.fixture
def world(app):
    coordinator = make_user(Role.COORDINATOR, name="李协调")
    other_coordinator = make_user(Role.COORDINATOR)
    wang = make_user(Role.VOLUNTEER, name="王芳", name_en="Wang Fang")
    zhao = make_user(Role.VOLUNTEER, name="赵磊")
    outsider = make_user(Role.VOLUNTEER)
    team_a = make_team(coordinator=coordinator, members=[wang, zhao], code="T017", name_zh="第17队", name_en="Team 17")
    team_b = make_team(coordinator=other_coordinator, members=[wang, zhao], code="T018")
    db.session.commit()
    return type(
        "World",
        (),
        dict(
            coordinator=coordinator,
            other_coordinator=other_coordinator,
            wang=wang,
            zhao=zhao,
            outsider=outsider,
            team_a=team_a,
            team_b=team_b,
        ),
    )


def test_assign_counts_audits_and_bumps_the_shift(world):
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    before = (shift.sequence, shift.last_modified)

    assignment = service.assign(world.coordinator, shift.id, world.wang.id)

    db.session.refresh(shift)
    assert assignment.status is AssignmentStatus.ASSIGNED
    assert (assignment.starts_at, assignment.ends_at) == (shift.starts_at, shift.ends_at)
    assert shift.assigned_count == 1
    assert shift.sequence == before[0] + 1 and shift.last_modified > before[1]
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "assignment.assign"))
    assert entry.actor_id == world.coordinator.id and entry.detail["volunteer_id"] == world.wang.id


def test_overlap_across_two_teams_is_refused_with_the_reason(world):
    first = make_shift(world.team_a, evening(5, 19), hours=3)
    second = make_shift(world.team_b, evening(5, 21), hours=3)  # 21:00-24:00 overlaps 19:00-22:00
    db.session.commit()
    service.assign(world.coordinator, first.id, world.wang.id)

    with pytest.raises(RuleViolation) as refused:
        service.assign(world.other_coordinator, second.id, world.wang.id)

    assert refused.value.code == "overlap"
    # force_locale("en") applies to names too (i18n.current_language honours it outside a request).
    assert refused.value.message.startswith("Wang Fang is already on the 19:00–22:00 shift of Team 17 (T017)")
    assert db.session.get(Shift, second.id).assigned_count == 0
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id)).where(Assignment.shift_id == second.id)) == 0


def test_back_to_back_shifts_do_not_overlap(world):
    evening_shift = make_shift(world.team_a, evening(5, 19), hours=3)
    night_shift = make_shift(world.team_b, evening(5, 22), hours=4)  # 22:00-02:00, across midnight
    db.session.commit()
    service.assign(world.coordinator, evening_shift.id, world.wang.id)
    service.assign(world.other_coordinator, night_shift.id, world.wang.id)
    assert db.session.get(Shift, night_shift.id).assigned_count == 1


def test_a_dropped_shift_no_longer_blocks_the_volunteer(world):
    first = make_shift(world.team_a, evening(5))
    second = make_shift(world.team_b, evening(5))
    db.session.commit()
    assignment = service.sign_up(world.wang, first.id)
    service.drop(world.wang, assignment.id)
    service.sign_up(world.wang, second.id)
    assert db.session.get(Shift, first.id).assigned_count == 0


def test_the_maximum_holds(world):
    shift = make_shift(world.team_a, evening(5), min_volunteers=1, max_volunteers=1)
    db.session.commit()
    service.assign(world.coordinator, shift.id, world.wang.id)
    with pytest.raises(RuleViolation) as refused:
        service.sign_up(world.zhao, shift.id)
    assert refused.value.code == "shift_full"
    assert "full" in refused.value.message


def test_the_same_volunteer_twice_on_one_shift_is_refused(world):
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    service.assign(world.coordinator, shift.id, world.wang.id)
    with pytest.raises(RuleViolation) as refused:
        service.assign(world.coordinator, shift.id, world.wang.id)
    assert refused.value.code == "already_assigned"
    assert db.session.get(Shift, shift.id).assigned_count == 1


def test_coordinator_only_on_own_teams(world):
    shift_b = make_shift(world.team_b, evening(5))
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        service.assign(world.coordinator, shift_b.id, world.wang.id)
    assert refused.value.status == 403
    assert not service.can_manage_team(world.coordinator, world.team_b.id)
    assert service.can_manage_team(world.coordinator, world.team_a.id)
    admin = make_user(Role.ADMIN)
    assert service.can_manage_team(admin, world.team_b.id)
    assert not service.can_manage_team(world.wang, world.team_a.id)  # a member, not a coordinator


def test_coordinator_cannot_unassign_or_mark_on_another_team(world):
    shift_b = make_shift(world.team_b, evening(-1), hours=3)
    assignment = make_assignment(shift_b, world.wang)
    db.session.commit()
    for call in (
        lambda: service.unassign(world.coordinator, assignment.id),
        lambda: service.mark_attendance(world.coordinator, assignment.id, True),
    ):
        with pytest.raises(RuleViolation) as refused:
            call()
        assert refused.value.status == 403


def test_volunteer_only_on_own_teams(world):
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        service.sign_up(world.outsider, shift.id)
    assert refused.value.status == 403
    with pytest.raises(RuleViolation) as refused:
        service.assign(world.coordinator, shift.id, world.outsider.id)
    assert refused.value.code == "not_member"


def test_cancelled_and_started_shifts_are_refused(world):
    cancelled = make_shift(world.team_a, evening(5), status=ShiftStatus.CANCELLED)
    started = make_shift(world.team_a, dt.datetime.now(LOCAL_TZ) - dt.timedelta(hours=1), hours=3)
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        service.sign_up(world.wang, cancelled.id)
    assert refused.value.code == "shift_cancelled"
    with pytest.raises(RuleViolation) as refused:
        service.sign_up(world.wang, started.id)
    assert refused.value.code == "shift_started"
    # A coordinator may still add someone who turned up to a running shift.
    service.assign(world.coordinator, started.id, world.zhao.id)


def test_drop_cut_off(world, app):
    app.config["DROP_CUTOFF_HOURS"] = 24
    tomorrow_soon = make_shift(world.team_a, dt.datetime.now(LOCAL_TZ) + dt.timedelta(hours=23), hours=3)
    later = make_shift(world.team_a, dt.datetime.now(LOCAL_TZ) + dt.timedelta(hours=27), hours=3)
    db.session.commit()
    near = service.sign_up(world.wang, tomorrow_soon.id)
    far = service.sign_up(world.wang, later.id)

    with pytest.raises(RuleViolation) as refused:
        service.drop(world.wang, near.id)
    assert refused.value.code == "drop_cutoff"
    assert "24 hours before" in refused.value.message
    assert db.session.get(Assignment, near.id).status is AssignmentStatus.ASSIGNED
    assert db.session.get(Shift, tomorrow_soon.id).assigned_count == 1

    service.drop(world.wang, far.id)
    assert db.session.get(Assignment, far.id).status is AssignmentStatus.DROPPED
    assert db.session.get(Shift, later.id).assigned_count == 0

    # Inside the cut-off only the coordinator can take someone off.
    service.unassign(world.coordinator, near.id)
    assert db.session.get(Assignment, near.id).status is AssignmentStatus.REMOVED


def test_only_the_volunteer_drops_their_shift(world):
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    assignment = service.sign_up(world.wang, shift.id)
    with pytest.raises(RuleViolation) as refused:
        service.drop(world.zhao, assignment.id)
    assert refused.value.status == 403


def test_weekly_hours_limit(world):
    world.wang.weekly_hours_limit = 5
    monday = dt.datetime.now(LOCAL_TZ).date() + dt.timedelta(days=7 - dt.datetime.now(LOCAL_TZ).weekday())
    tuesday_shift = make_shift(
        world.team_a, dt.datetime.combine(monday + dt.timedelta(days=1), dt.time(19), tzinfo=LOCAL_TZ), hours=3
    )
    thursday_shift = make_shift(
        world.team_b, dt.datetime.combine(monday + dt.timedelta(days=3), dt.time(19), tzinfo=LOCAL_TZ), hours=3
    )
    next_week = make_shift(
        world.team_b, dt.datetime.combine(monday + dt.timedelta(days=8), dt.time(19), tzinfo=LOCAL_TZ), hours=3
    )
    db.session.commit()
    service.sign_up(world.wang, tuesday_shift.id)
    with pytest.raises(RuleViolation) as refused:
        service.sign_up(world.wang, thursday_shift.id)
    assert refused.value.code == "weekly_limit"
    assert "6 hours" in refused.value.message and "limit of 5 hours" in refused.value.message
    service.sign_up(world.wang, next_week.id)


def test_coordinator_assign_respects_stated_unavailability(world):
    from services.availability import add_unavailability

    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    add_unavailability(world.wang, weekday=shift.local_date.weekday())
    with pytest.raises(RuleViolation) as refused:
        service.assign(world.coordinator, shift.id, world.wang.id)
    assert refused.value.code == "unavailable"
    assert "Wang Fang said they cannot do" in refused.value.message
    # Volunteers may still sign themselves up: it is their own choice.
    service.sign_up(world.wang, shift.id)


def test_swap_moves_both_volunteers(world):
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    original = service.sign_up(world.wang, shift.id)
    sequence = db.session.get(Shift, shift.id).sequence
    swap = service.request_swap(world.wang, original.id, world.zhao.id)
    assert swap.status is SwapStatus.PENDING

    with pytest.raises(RuleViolation) as refused:
        service.answer_swap(world.wang, swap.id, True)  # only the named teammate answers
    assert refused.value.status == 403

    service.answer_swap(world.zhao, swap.id, True)

    active = db.session.scalars(
        sa.select(Assignment).where(Assignment.shift_id == shift.id, Assignment.status == AssignmentStatus.ASSIGNED)
    ).all()
    assert [a.volunteer_id for a in active] == [world.zhao.id]
    assert db.session.get(Assignment, original.id).status is AssignmentStatus.SWAPPED
    refreshed = db.session.get(Shift, shift.id)
    assert refreshed.assigned_count == 1 and refreshed.sequence > sequence
    assert db.session.get(SwapRequest, swap.id).status is SwapStatus.ACCEPTED


def test_swap_moves_neither_when_the_teammate_is_busy(world):
    shift = make_shift(world.team_a, evening(5, 19))
    clash = make_shift(world.team_b, evening(5, 20))
    db.session.commit()
    original = service.sign_up(world.wang, shift.id)
    swap = service.request_swap(world.wang, original.id, world.zhao.id)
    service.sign_up(world.zhao, clash.id)  # Zhao books an overlapping shift before answering

    with pytest.raises(RuleViolation) as refused:
        service.answer_swap(world.zhao, swap.id, True)

    assert refused.value.code == "overlap"
    assert db.session.get(Assignment, original.id).status is AssignmentStatus.ASSIGNED
    on_shift = db.session.scalars(
        sa.select(Assignment.volunteer_id).where(
            Assignment.shift_id == shift.id, Assignment.status == AssignmentStatus.ASSIGNED
        )
    ).all()
    assert on_shift == [world.wang.id]
    assert db.session.get(SwapRequest, swap.id).status is SwapStatus.PENDING


def test_swap_moves_neither_when_the_transaction_fails_halfway(world, monkeypatch):
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    original = service.sign_up(world.wang, shift.id)
    swap = service.request_swap(world.wang, original.id, world.zhao.id)

    def broken_audit(*args, **kwargs):
        raise RuntimeError("disk full")

    # The failure comes after the old assignment was marked swapped and the new one added.
    monkeypatch.setattr(service, "record", broken_audit)
    with pytest.raises(RuntimeError):
        service.answer_swap(world.zhao, swap.id, True)

    rows = db.session.execute(
        sa.select(Assignment.volunteer_id, Assignment.status).where(Assignment.shift_id == shift.id)
    ).all()
    assert rows == [(world.wang.id, AssignmentStatus.ASSIGNED)]
    assert db.session.get(SwapRequest, swap.id).status is SwapStatus.PENDING


def test_swap_decline_and_cancel(world):
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    original = service.sign_up(world.wang, shift.id)
    swap = service.request_swap(world.wang, original.id, world.zhao.id)
    with pytest.raises(RuleViolation) as refused:
        service.request_swap(world.wang, original.id, world.zhao.id)
    assert refused.value.code == "swap_pending"
    service.answer_swap(world.zhao, swap.id, False)
    assert db.session.get(SwapRequest, swap.id).status is SwapStatus.DECLINED
    with pytest.raises(RuleViolation) as refused:
        service.answer_swap(world.zhao, swap.id, True)
    assert refused.value.code == "swap_answered"
    again = service.request_swap(world.wang, original.id, world.zhao.id)
    service.cancel_swap(world.wang, again.id)
    assert db.session.get(SwapRequest, again.id).status is SwapStatus.CANCELLED
    assert db.session.get(Assignment, original.id).status is AssignmentStatus.ASSIGNED


def test_swap_target_must_be_a_teammate(world):
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    original = service.sign_up(world.wang, shift.id)
    with pytest.raises(RuleViolation) as refused:
        service.request_swap(world.wang, original.id, world.outsider.id)
    assert refused.value.code == "not_member"


def test_dropping_cancels_a_pending_swap(world):
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    original = service.sign_up(world.wang, shift.id)
    swap = service.request_swap(world.wang, original.id, world.zhao.id)
    service.drop(world.wang, original.id)
    assert db.session.get(SwapRequest, swap.id).status is SwapStatus.CANCELLED


def test_attendance_credits_hours(world):
    past = make_shift(world.team_a, evening(-2, 19), hours=3)
    future = make_shift(world.team_a, evening(3, 19), hours=3)
    came = make_assignment(past, world.wang)
    missed = make_assignment(past, world.zhao)
    upcoming = make_assignment(future, world.wang)
    db.session.commit()

    service.mark_attendance(world.coordinator, came.id, True)
    service.mark_attendance(world.coordinator, missed.id, False)
    with pytest.raises(RuleViolation) as refused:
        service.mark_attendance(world.coordinator, upcoming.id, True)
    assert refused.value.code == "not_started"

    came = db.session.get(Assignment, came.id)
    assert came.attendance is Attendance.PRESENT and came.hours_credited == Decimal("3.00")
    missed = db.session.get(Assignment, missed.id)
    assert missed.attendance is Attendance.NO_SHOW and missed.hours_credited == 0
    # Correcting a mark replaces it.
    service.mark_attendance(world.coordinator, came.id, False)
    assert db.session.get(Assignment, came.id).hours_credited == 0

    from services.roster import volunteer_hours

    service.mark_attendance(world.coordinator, came.id, True)
    year = past.local_date.year
    assert volunteer_hours(world.wang.id, year) == 3.0
    assert volunteer_hours(world.zhao.id, year) == 0.0


def test_missing_things_are_404(world):
    with pytest.raises(RuleViolation) as refused:
        service.assign(world.coordinator, 999999, world.wang.id)
    assert refused.value.status == 404
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        service.assign(world.coordinator, shift.id, 999999)
    assert refused.value.status == 404


def test_a_booking_leaves_its_loaded_shift_as_the_database_has_it(world):
    """The counting UPDATE is not followed by a reload: the shift the unit of work holds must carry
    the new count, SEQUENCE and stamps itself (a drop's understaffing notice reads that count)."""
    shift = make_shift(world.team_a, evening(5))
    db.session.commit()

    def book_and_look():
        loaded = service.sign_up(world.wang, shift.id).shift
        seen = (loaded.assigned_count, loaded.sequence, loaded.last_modified, loaded.updated_at)
        stored = tuple(
            db.session.execute(
                sa.select(Shift.assigned_count, Shift.sequence, Shift.last_modified, Shift.updated_at).where(
                    Shift.id == shift.id
                )
            ).one()
        )
        return seen, stored

    seen, stored = service.in_transaction(book_and_look)
    assert seen == stored and seen[0] == 1
