"""More booking rules that mutation testing showed no test would defend: whose hours a week counts,
the drop cut-off's setting and edge, each guard's own message, who counts as a team's coordinator,
stated absences, and the swap rules' refusals."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_login import AnonymousUserMixin

from models import (
    Assignment,
    AssignmentStatus,
    AuditLog,
    MembershipRole,
    PatrolTeam,
    Role,
    ShiftStatus,
    SwapRequest,
    SwapStatus,
    TeamMembership,
    Unavailability,
    db,
)
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
    li = make_user(Role.VOLUNTEER, name="李雷", name_en="Li Lei")
    team = make_team(coordinator=coordinator, members=[wang, li], code="TA", name_en="East patrol")
    db.session.commit()
    return coordinator, wang, li, team


def wednesday(weeks_ahead: int = 2) -> dt.date:
    day = dt.datetime.now(LOCAL_TZ).date() + dt.timedelta(weeks=weeks_ahead)
    return day + dt.timedelta(days=(2 - day.weekday()) % 7)


def local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


def refused(call) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        call()
    return caught.value


# --- the weekly count -------------------------------------------------------------------------


def test_a_week_counts_only_this_volunteers_active_shifts_from_monday_to_sunday(people):
    coordinator, wang, li, team = people
    monday = wednesday() - dt.timedelta(days=2)
    on_monday = make_shift(team, local(monday, 8), hours=2)
    on_sunday = make_shift(team, local(monday + dt.timedelta(days=6), 8), hours=3)
    next_monday = make_shift(team, local(monday + dt.timedelta(days=7), 8), hours=5)
    dropped = make_shift(team, local(monday + dt.timedelta(days=1), 8), hours=7)
    someone_else = make_shift(team, local(monday + dt.timedelta(days=2), 8), hours=11)
    db.session.commit()
    for shift in (on_monday, on_sunday, next_monday, dropped):
        service.assign(coordinator, shift.id, wang.id)
    service.assign(coordinator, someone_else.id, li.id)
    removed = db.session.scalar(sa.select(Assignment).where(Assignment.shift_id == dropped.id))
    service.unassign(coordinator, removed.id)
    assert service.hours_in_week(wang.id, monday) == 5.0  # Monday 2 + Sunday 3
    assert service.hours_in_week(wang.id, monday + dt.timedelta(days=7)) == 5.0  # next week: its Monday only
    assert service.hours_in_week(li.id, monday) == 11.0


def test_the_weekly_limit_names_the_week_by_its_monday(people):
    coordinator, wang, _li, team = people
    wang.weekly_hours_limit = 4
    day = wednesday()
    first = make_shift(team, local(day, 8), hours=3)
    second = make_shift(team, local(day, 19), hours=2)
    db.session.commit()
    service.assign(coordinator, first.id, wang.id)
    violation = refused(lambda: service.assign(coordinator, second.id, wang.id))
    monday = day - dt.timedelta(days=2)
    assert violation.code == "weekly_limit" and violation.status == 409
    assert violation.message == (
        f"Wang Fang would have 5 hours in the week of {service._date_label(monday)}, above the limit of 4 hours."
    )


# --- the drop cut-off -------------------------------------------------------------------------


def test_the_cut_off_is_the_setting_and_its_edge_is_too_late(people, app):
    coordinator, wang, _li, team = people
    shift = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assignment = service.assign(coordinator, shift.id, wang.id)
    app.config.pop("DROP_CUTOFF_HOURS", None)
    assert service.drop_cutoff() == dt.timedelta(hours=24)  # the default
    app.config["DROP_CUTOFF_HOURS"] = 30
    assert service.drop_cutoff() == dt.timedelta(hours=30)
    edge = assignment.starts_at - dt.timedelta(hours=30)
    assert service.can_still_drop(assignment, edge - dt.timedelta(seconds=1)) is True
    assert service.can_still_drop(assignment, edge) is False


def test_drop_refusals_say_which_rule(people, app):
    coordinator, wang, li, team = people
    app.config["DROP_CUTOFF_HOURS"] = 24
    soon = make_shift(team, dt.datetime.now(dt.UTC) + dt.timedelta(hours=5))
    db.session.commit()
    assignment = service.assign(coordinator, soon.id, wang.id)
    missing = refused(lambda: service.drop(wang, assignment.id + 1000))
    assert (missing.code, missing.status, missing.message) == ("not_found", 404, "This assignment does not exist.")
    other = refused(lambda: service.drop(li, assignment.id))
    assert (other.code, other.status, other.message) == ("forbidden", 403, "You can only drop your own shifts.")
    late = refused(lambda: service.drop(wang, assignment.id))
    assert late.code == "drop_cutoff" and late.message == (
        "Shifts can be dropped until 24 hours before they start. Ask a teammate to swap, or ask your coordinator."
    )
    service.unassign(coordinator, assignment.id)
    ended = refused(lambda: service.drop(wang, assignment.id))
    assert (ended.code, ended.message) == ("not_active", "This assignment has already ended.")


# --- permissions ------------------------------------------------------------------------------


def test_who_manages_a_team(people):
    coordinator, wang, _li, team = people
    other_team = make_team()
    admin = make_user(Role.ADMIN)
    retired_admin = make_user(Role.ADMIN, active=False)
    volunteer_coordinator = make_user()  # a volunteer recorded as coordinator: the role decides
    db.session.add(TeamMembership(team=team, user=volunteer_coordinator, role=MembershipRole.COORDINATOR))
    db.session.commit()
    assert service.can_manage_team(coordinator, team.id) is True
    assert service.can_manage_team(coordinator, other_team.id) is False
    assert service.can_manage_team(admin, other_team.id) is True
    assert service.can_manage_team(retired_admin, team.id) is False
    assert service.can_manage_team(None, team.id) is False
    assert service.can_manage_team(AnonymousUserMixin(), team.id) is False
    assert service.can_manage_team(wang, team.id) is False
    assert service.can_manage_team(volunteer_coordinator, team.id) is False
    coordinator.active = False
    assert service.can_manage_team(coordinator, team.id) is False
    coordinator.active = True
    ids = set(db.session.scalars(service.coordinated_teams(coordinator).with_only_columns(PatrolTeam.id)))
    assert ids == {team.id}
    assert set(db.session.scalars(service.coordinated_teams(admin).with_only_columns(PatrolTeam.id))) == {
        team.id,
        other_team.id,
    }
    assert set(db.session.scalars(service.coordinated_teams(wang).with_only_columns(PatrolTeam.id))) == set()
    assert [t.code for t in db.session.scalars(service.coordinated_teams(coordinator))] == ["TA"]
    assert service.is_member(wang.id, team.id) and service.is_member(coordinator.id, team.id)
    assert not service.is_member(wang.id, other_team.id)


def test_assign_refusals_say_which_rule(people):
    coordinator, wang, _li, team = people
    stranger = make_user(name_en="Zhao Min")
    other_team = make_team()
    theirs = make_shift(other_team, local(wednesday(), 19))
    shift = make_shift(team, local(wednesday(), 8))
    db.session.commit()
    missing = refused(lambda: service.assign(coordinator, shift.id + 1000, wang.id))
    assert (missing.code, missing.status, missing.message) == ("not_found", 404, "This shift does not exist.")
    forbidden = refused(lambda: service.assign(coordinator, theirs.id, wang.id))
    assert (forbidden.code, forbidden.status, forbidden.message) == (
        "forbidden",
        403,
        "You may not change this team's roster.",
    )
    outsider = refused(lambda: service.assign(coordinator, shift.id, stranger.id))
    assert (outsider.code, outsider.status) == ("not_member", 409)
    assert outsider.message == "Zhao Min is not a member of East patrol (TA)."
    own = refused(lambda: service.sign_up(stranger, shift.id))
    assert (own.code, own.status, own.message) == (
        "forbidden",
        403,
        "You can only sign up for shifts of your own teams.",
    )
    wang.active = False
    db.session.commit()
    inactive = refused(lambda: service.assign(coordinator, shift.id, wang.id))
    assert (inactive.code, inactive.message) == ("inactive", "Wang Fang's account is deactivated.")


def test_guards_in_order_for_a_cancelled_or_doubly_booked_shift(people):
    coordinator, wang, _li, team = people
    shift = make_shift(team, local(wednesday(), 8))
    cancelled = make_shift(team, local(wednesday(), 19), status=ShiftStatus.CANCELLED)
    db.session.commit()
    gone = refused(lambda: service.assign(coordinator, cancelled.id, wang.id))
    assert (gone.code, gone.message) == ("shift_cancelled", "This shift has been cancelled.")
    service.sign_up(wang, shift.id)
    twice = refused(lambda: service.sign_up(wang, shift.id))
    assert (twice.code, twice.message) == ("already_assigned", "Wang Fang is already on this shift.")
    entries = db.session.scalars(sa.select(AuditLog).where(AuditLog.action.like("assignment.%"))).all()
    assert [(e.action, e.detail["volunteer_id"], e.detail["team_id"]) for e in entries] == [
        ("assignment.signup", wang.id, team.id)
    ]


def test_a_full_shift_says_how_many_places(people):
    coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 8), max_volunteers=1, min_volunteers=1)
    db.session.commit()
    service.assign(coordinator, shift.id, wang.id)
    full = refused(lambda: service.assign(coordinator, shift.id, li.id))
    assert (full.code, full.message) == ("shift_full", "This shift is full: all 1 places are taken.")


# --- stated absences --------------------------------------------------------------------------


def test_absences_by_date_and_by_weekday_are_named(people):
    coordinator, wang, li, team = people
    day = wednesday()
    db.session.add(Unavailability(user_id=wang.id, day=day))
    db.session.add(Unavailability(user_id=li.id, weekday=day.weekday()))
    db.session.commit()
    assert service.unavailable_reason(wang, day) == f"Wang Fang said they cannot do {service._date_label(day)}."
    assert service.unavailable_reason(wang, day + dt.timedelta(days=1)) is None
    assert service.unavailable_reason(wang, day + dt.timedelta(days=7)) is None
    assert service.unavailable_reason(li, day + dt.timedelta(days=7)) == "Li Lei said they cannot do Wednesday."
    assert service.unavailable_reason(li, day + dt.timedelta(days=1)) is None
    # Named by the date asked about, not by today (whatever today's weekday is).
    other_day = dt.datetime.now(LOCAL_TZ).date() + dt.timedelta(days=10)
    db.session.add(Unavailability(user_id=coordinator.id, weekday=other_day.weekday()))
    db.session.commit()
    assert service.unavailable_reason(coordinator, other_day).endswith(f"cannot do {other_day:%A}.")
    shift = make_shift(team, local(day, 19))
    db.session.commit()
    absent = refused(lambda: service.assign(coordinator, shift.id, li.id))
    assert (absent.code, absent.message) == ("unavailable", "Li Lei said they cannot do Wednesday.")
    assert service.sign_up(li, shift.id).status is AssignmentStatus.ASSIGNED  # their own choice


# --- swaps ------------------------------------------------------------------------------------


def test_swap_request_refusals_say_which_rule(people):
    coordinator, wang, li, team = people
    outsider = make_user(name_en="Zhao Min")
    shift = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assignment = service.sign_up(wang, shift.id)
    missing = refused(lambda: service.request_swap(wang, assignment.id + 1000, li.id))
    assert (missing.code, missing.message) == ("not_found", "This assignment does not exist.")
    theirs = refused(lambda: service.request_swap(li, assignment.id, wang.id))
    assert (theirs.code, theirs.status, theirs.message) == ("forbidden", 403, "You can only offer your own shifts.")
    self_swap = refused(lambda: service.request_swap(wang, assignment.id, wang.id))
    assert (self_swap.code, self_swap.message) == ("same_person", "Choose a teammate other than yourself.")
    stranger = refused(lambda: service.request_swap(wang, assignment.id, outsider.id))
    assert (stranger.code, stranger.message) == ("not_member", "Zhao Min is not a member of East patrol (TA).")
    li.active = False
    db.session.commit()
    gone = refused(lambda: service.request_swap(wang, assignment.id, li.id))
    assert (gone.code, gone.message) == ("not_member", "Li Lei is not a member of East patrol (TA).")
    li.active = True
    db.session.commit()
    swap = service.request_swap(wang, assignment.id, li.id)
    assert (swap.from_user_id, swap.to_user_id, swap.status) == (wang.id, li.id, SwapStatus.PENDING)
    again = refused(lambda: service.request_swap(wang, assignment.id, coordinator.id))
    assert again.code == "swap_pending" and again.message == (
        "You have already asked Li Lei to take this shift; cancel that request first."
    )


def test_a_swap_is_refused_once_the_shift_started_or_the_assignment_ended(people):
    coordinator, wang, li, team = people
    started = make_shift(team, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    later = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    running = service.assign(coordinator, started.id, wang.id)
    too_late = refused(lambda: service.request_swap(wang, running.id, li.id))
    assert (too_late.code, too_late.message) == ("shift_started", "This shift has already started.")
    assignment = service.sign_up(wang, later.id)
    service.unassign(coordinator, assignment.id)
    ended = refused(lambda: service.request_swap(wang, assignment.id, li.id))
    assert (ended.code, ended.message) == ("not_active", "This assignment has already ended.")


def test_answering_a_swap_is_for_its_addressee_once(people):
    coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assignment = service.sign_up(wang, shift.id)
    swap = service.request_swap(wang, assignment.id, li.id)
    missing = refused(lambda: service.answer_swap(li, swap.id + 1000, True))
    assert (missing.code, missing.message) == ("not_found", "This swap request does not exist.")
    wrong = refused(lambda: service.answer_swap(coordinator, swap.id, True))
    assert (wrong.code, wrong.status, wrong.message) == (
        "forbidden",
        403,
        "This swap request was sent to someone else.",
    )
    accepted = service.answer_swap(li, swap.id, True)
    assert accepted.status is SwapStatus.ACCEPTED and accepted.decided_at is not None
    new = db.session.scalar(sa.select(Assignment).where(Assignment.status == AssignmentStatus.ASSIGNED))
    assert (new.volunteer_id, new.shift_id, new.assigned_by_id) == (li.id, shift.id, wang.id)
    assert (new.starts_at, new.ends_at) == (shift.starts_at, shift.ends_at)
    assert db.session.get(Assignment, assignment.id).status is AssignmentStatus.SWAPPED
    twice = refused(lambda: service.answer_swap(li, swap.id, False))
    assert (twice.code, twice.message) == ("swap_answered", "This swap request has already been answered.")
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "swap.accept")).all()
    assert entry.actor_id == li.id and entry.detail == {
        "assignment_id": assignment.id,
        "new_assignment_id": new.id,
        "shift_id": shift.id,
        "team_id": team.id,
        "from_user_id": wang.id,
        "to_user_id": li.id,
    }


def test_a_swap_of_a_shift_no_longer_the_askers_is_refused(people):
    coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assignment = service.sign_up(wang, shift.id)
    swap = service.request_swap(wang, assignment.id, li.id)
    # The coordinator takes Wang off (which cancels the request) and the request is forced back open.
    service.unassign(coordinator, assignment.id)
    db.session.execute(sa.update(SwapRequest).values(status=SwapStatus.PENDING))
    db.session.commit()
    gone = refused(lambda: service.answer_swap(li, swap.id, True))
    assert (gone.code, gone.message) == ("not_active", "This shift is no longer Wang Fang's to give.")
    declined = service.answer_swap(li, swap.id, False)
    assert declined.status is SwapStatus.DECLINED and declined.decided_at is not None


# --- locks and fresh reads (what keeps concurrent requests apart) -----------------------------


def test_each_change_locks_the_people_it_books(people, monkeypatch):
    coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 19))
    other = make_shift(team, local(wednesday(), 8))
    db.session.commit()
    locked: list[tuple[int, ...]] = []
    real = service.lock_users
    monkeypatch.setattr(service, "lock_users", lambda *ids: (locked.append(ids), real(*ids)))
    assignment = service.assign(coordinator, shift.id, wang.id)
    service.sign_up(li, other.id)
    swap = service.request_swap(wang, assignment.id, li.id)
    service.answer_swap(li, swap.id, False)
    assert locked == [(wang.id,), (li.id,), (wang.id,), (wang.id, li.id)]
    locked.clear()
    swap = service.request_swap(wang, assignment.id, li.id)
    service.answer_swap(li, swap.id, True)
    assert locked[-1] == (wang.id, li.id)
    locked.clear()
    mine = db.session.scalar(sa.select(Assignment).where(Assignment.shift_id == other.id))
    service.drop(li, mine.id)
    assert locked == [(li.id,)]


def test_the_answer_rereads_the_request_once_it_holds_the_lock(people):
    """Another request answered (here: cancelled) it while this one waited: the stale copy must not win."""
    coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assignment = service.sign_up(wang, shift.id)
    swap = service.request_swap(wang, assignment.id, li.id)
    assert swap.status is SwapStatus.PENDING  # loaded in this session
    table = SwapRequest.__table__  # Core: the session's copy is not told (as with another worker's change)
    db.session.execute(sa.update(table).where(table.c.id == swap.id).values(status=SwapStatus.CANCELLED.value))
    assert swap.status is SwapStatus.PENDING
    late = refused(lambda: service.answer_swap(li, swap.id, True))
    assert (late.code, late.message) == ("swap_answered", "This swap request has already been answered.")
    assert db.session.get(Assignment, assignment.id).status is AssignmentStatus.ASSIGNED


def test_a_drop_is_recorded_as_the_volunteers(people, app):
    coordinator, wang, _li, team = people
    app.config["DROP_CUTOFF_HOURS"] = 24
    shift = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assignment = service.sign_up(wang, shift.id)
    assert service.drop(wang, assignment.id).status is AssignmentStatus.DROPPED
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "assignment.drop")).all()
    assert (entry.actor_id, entry.entity, entry.entity_id) == (wang.id, "assignment", str(assignment.id))
    assert entry.detail["volunteer_id"] == wang.id


def test_a_declined_swap_is_recorded_and_moves_nothing(people):
    coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assignment = service.sign_up(wang, shift.id)
    swap = service.request_swap(wang, assignment.id, li.id)
    service.answer_swap(li, swap.id, False)
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "swap.decline")).all()
    assert (entry.actor_id, entry.entity, entry.entity_id) == (li.id, "swap_request", str(swap.id))
    assert entry.detail == {"assignment_id": assignment.id}
    assert db.session.get(Assignment, assignment.id).status is AssignmentStatus.ASSIGNED


def test_accepting_moves_only_that_assignment_and_is_recorded_as_the_request(people):
    coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 19))
    elsewhere = make_shift(team, local(wednesday() + dt.timedelta(days=1), 19))
    db.session.commit()
    assignment = service.sign_up(wang, shift.id)
    untouched = service.sign_up(wang, elsewhere.id)
    swap = service.request_swap(wang, assignment.id, li.id)
    service.answer_swap(li, swap.id, True)
    assert db.session.get(Assignment, untouched.id).status is AssignmentStatus.ASSIGNED
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "swap.accept")).all()
    assert (entry.actor_id, entry.entity, entry.entity_id) == (li.id, "swap_request", str(swap.id))


def test_accepting_after_the_shift_started_is_refused(people):
    """The teammate books themself: the self-service rules apply, the start among them."""
    coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assignment = service.sign_up(wang, shift.id)
    swap = service.request_swap(wang, assignment.id, li.id)
    shift.starts_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    db.session.commit()
    late = refused(lambda: service.answer_swap(li, swap.id, True))
    assert (late.code, late.message) == ("shift_started", "This shift has already started.")


def test_a_change_between_the_checks_and_the_move_still_stops_the_swap(people, monkeypatch):
    """Simulates a coordinator's removal landing after the checks: the guarded UPDATE refuses."""
    coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assignment = service.sign_up(wang, shift.id)
    swap = service.request_swap(wang, assignment.id, li.id)
    real = service._check_bookable

    def checks_then_removal(*args, **kwargs):
        real(*args, **kwargs)
        db.session.execute(
            sa.update(Assignment).where(Assignment.id == assignment.id).values(status=AssignmentStatus.REMOVED.value)
        )

    monkeypatch.setattr(service, "_check_bookable", checks_then_removal)
    raced = refused(lambda: service.answer_swap(li, swap.id, True))
    assert (raced.code, raced.message) == ("not_active", "This shift is no longer Wang Fang's to give.")
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 1


def test_an_actor_without_a_login_flag_is_judged_by_role_and_account(people):
    """Scripts and the CLI pass plain objects: no Flask-Login flag means no anonymous visitor."""
    from types import SimpleNamespace

    coordinator, _wang, _li, team = people
    system = SimpleNamespace(id=coordinator.id, role=Role.ADMIN, active=True)
    assert service.can_manage_team(system, team.id) is True
    assert service.can_manage_team(SimpleNamespace(id=coordinator.id, role=Role.ADMIN, active=False), team.id) is False


def test_the_overlap_message_names_the_earliest_clash_and_its_date(people):
    coordinator, wang, _li, team = people
    day = wednesday()
    later = make_shift(team, local(day, 20), hours=2)  # created first: 20-22
    earlier = make_shift(team, local(day, 18), hours=2)  # 18-20
    across = make_shift(make_team(coordinator=coordinator, members=[wang]), local(day, 19), hours=2)  # 19-21
    db.session.commit()
    service.assign(coordinator, later.id, wang.id)
    service.assign(coordinator, earlier.id, wang.id)
    clash = refused(lambda: service.assign(coordinator, across.id, wang.id))
    assert clash.code == "overlap" and clash.message == (
        f"Wang Fang is already on the 18:00–20:00 shift of East patrol (TA) on {service._date_label(day)}."
    )


def test_a_teammate_who_left_cannot_accept(people):
    coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assignment = service.sign_up(wang, shift.id)
    swap = service.request_swap(wang, assignment.id, li.id)
    db.session.delete(db.session.scalar(sa.select(TeamMembership).where(TeamMembership.user_id == li.id)))
    db.session.commit()
    left = refused(lambda: service.answer_swap(li, swap.id, True))
    assert (left.code, left.status, left.message) == (
        "forbidden",
        403,
        "You can only sign up for shifts of your own teams.",
    )


# --- what a booking and a swap request record (mutants of _book and request_swap) ------------


def test_a_booking_records_who_made_it_and_its_audit_entry(people):
    coordinator, wang, li, team = people
    first = make_shift(team, local(wednesday(), 8))
    second = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    assigned = service.assign(coordinator, first.id, wang.id)
    signed_up = service.sign_up(li, second.id)
    assert (assigned.assigned_by_id, signed_up.assigned_by_id) == (coordinator.id, li.id)
    entries = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action.like("assignment.%")).order_by(AuditLog.id)
    ).all()
    assert [(e.actor_id, e.action, e.entity, e.entity_id, e.detail) for e in entries] == [
        (
            coordinator.id,
            "assignment.assign",
            "assignment",
            str(assigned.id),
            {"shift_id": first.id, "team_id": team.id, "volunteer_id": wang.id},
        ),
        (
            li.id,
            "assignment.signup",
            "assignment",
            str(signed_up.id),
            {"shift_id": second.id, "team_id": team.id, "volunteer_id": li.id},
        ),
    ]


def test_a_swap_request_is_audited_with_what_it_concerns(people):
    _coordinator, wang, li, team = people
    shift = make_shift(team, local(wednesday(), 8))
    db.session.commit()
    mine = service.sign_up(wang, shift.id)
    swap = service.request_swap(wang, mine.id, li.id)
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "swap.request"))
    assert (entry.actor_id, entry.entity, entry.entity_id) == (wang.id, "swap_request", str(swap.id))
    assert entry.detail == {"assignment_id": mine.id, "shift_id": shift.id, "team_id": team.id, "to_user_id": li.id}


def test_a_pending_request_blocks_only_its_own_shift(people):
    _coordinator, wang, li, team = people
    morning = make_shift(team, local(wednesday(), 8))
    evening = make_shift(team, local(wednesday(), 19))
    db.session.commit()
    first = service.sign_up(wang, morning.id)
    second = service.sign_up(wang, evening.id)
    service.request_swap(wang, first.id, li.id)
    again = refused(lambda: service.request_swap(wang, first.id, li.id))
    assert again.code == "swap_pending"
    other = service.request_swap(wang, second.id, li.id)  # another shift: its own request
    assert other.status is SwapStatus.PENDING and other.assignment_id == second.id


def test_a_teammate_with_a_stated_absence_may_still_be_asked(people):
    """Whether to take a shift on a day they said they cannot do is the teammate's own call (they
    accept or decline), as when signing up themselves; a coordinator's assignment would be refused."""
    coordinator, wang, li, team = people
    day = wednesday()
    shift = make_shift(team, local(day, 8))
    db.session.add(Unavailability(user_id=li.id, day=day))
    db.session.commit()
    mine = service.sign_up(wang, shift.id)
    swap = service.request_swap(wang, mine.id, li.id)
    assert swap.status is SwapStatus.PENDING and swap.to_user_id == li.id
    assert refused(lambda: service.assign(coordinator, shift.id, li.id)).code == "unavailable"
