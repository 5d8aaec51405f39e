"""Waiting lists and the open trade board, called as the pages call them (no HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from models import (
    Assignment,
    AssignmentStatus,
    OutboxMessage,
    Role,
    Shift,
    TradeStatus,
    User,
    WaitlistEntry,
    WaitlistStatus,
    db,
)
from services import assignments as service
from services import trades, waitlist
from services.errors import RuleViolation
from tests.factories import make_assignment, make_shift, make_team, make_user
from timeutil import LOCAL_TZ


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


def evening(days_ahead: int, hour: int = 19) -> dt.datetime:
    day = dt.datetime.now(LOCAL_TZ).date() + dt.timedelta(days=days_ahead)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


@pytest.fixture
def full_team():
    """A team whose shift in five days is full (2 of 2), three more members and a coordinator."""
    coordinator = make_user(Role.COORDINATOR)
    on = [make_user(Role.VOLUNTEER) for _ in range(2)]
    waiting = [make_user(Role.VOLUNTEER) for _ in range(3)]
    team = make_team(coordinator=coordinator, members=on + waiting)
    shift = make_shift(team, evening(5), min_volunteers=1, max_volunteers=2)
    held = [make_assignment(shift, v) for v in on]
    db.session.commit()
    return team, shift, coordinator, on, held, waiting


def kinds_for(user: User) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage.kind)
            .where(OutboxMessage.recipient_key == f"user:{user.id}")
            .order_by(OutboxMessage.id)
        )
    )


def test_queue_order_and_positions(full_team):
    _, shift, _, _, _, waiting = full_team
    entries = [trades.join_waitlist(v, shift.id) for v in waiting]
    assert [waitlist.position(e) for e in entries] == [1, 2, 3]
    trades.leave_waitlist(waiting[0], entries[0].id)
    assert [pos for _, pos in trades.my_waitlists(waiting[2].id)] == [2]
    with pytest.raises(RuleViolation) as refused:
        trades.join_waitlist(waiting[1], shift.id)
    assert refused.value.code == "already_waiting"


def test_cannot_queue_for_a_shift_with_a_free_place(full_team):
    team, _, _, _, _, waiting = full_team
    other = make_shift(team, evening(6), max_volunteers=3)
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        trades.join_waitlist(waiting[0], other.id)
    assert refused.value.code == "not_full"


def test_drop_offers_the_place_to_the_first_in_line_who_accepts(full_team):
    _, shift, _, on, held, waiting = full_team
    first, second = (trades.join_waitlist(v, shift.id) for v in waiting[:2])
    service.drop(on[0], held[0].id)
    db.session.expire_all()
    first = db.session.get(WaitlistEntry, first.id)
    assert first.status is WaitlistStatus.OFFERED
    assert db.session.get(Shift, shift.id).held_count == 1
    assert "waitlist_offer" in kinds_for(waiting[0])
    # The held place is nobody else's: not a direct sign-up, not a coordinator's assign.
    with pytest.raises(RuleViolation) as refused:
        service.sign_up(waiting[2], shift.id)
    assert refused.value.code == "place_held"
    coordinator = full_team[2]
    with pytest.raises(RuleViolation) as refused:
        service.assign(coordinator, shift.id, waiting[1].id)
    assert refused.value.code == "place_held"

    trades.answer_offer(waiting[0], first.id, accept=True)
    db.session.expire_all()
    shift = db.session.get(Shift, shift.id)
    assert (shift.assigned_count, shift.held_count) == (2, 0)
    assert db.session.get(WaitlistEntry, first.id).status is WaitlistStatus.ACCEPTED
    assert db.session.get(WaitlistEntry, second.id).status is WaitlistStatus.WAITING
    assert db.session.scalar(
        sa.select(Assignment.id).where(
            Assignment.shift_id == shift.id,
            Assignment.volunteer_id == waiting[0].id,
            Assignment.status == AssignmentStatus.ASSIGNED,
        )
    )


def test_removal_by_the_coordinator_also_offers_the_place(full_team):
    _, shift, coordinator, _, held, waiting = full_team
    entry = trades.join_waitlist(waiting[0], shift.id)
    service.unassign(coordinator, held[1].id)
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, entry.id).status is WaitlistStatus.OFFERED


def test_offer_expires_and_passes_to_the_next(full_team, runner):
    _, shift, _, on, held, waiting = full_team
    first, second = (trades.join_waitlist(v, shift.id) for v in waiting[:2])
    service.drop(on[0], held[0].id)
    db.session.expire_all()
    expires = db.session.get(WaitlistEntry, first.id).offer_expires_at
    # Five days ahead: the longest window (12 h by default).
    assert dt.timedelta(hours=11, minutes=59) < expires - db.session.get(WaitlistEntry, first.id).offered_at
    outcome = trades.expire_offers(expires + dt.timedelta(seconds=1))
    assert outcome["expired"] == 1 and outcome["offered"] == 1
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, first.id).status is WaitlistStatus.EXPIRED
    assert db.session.get(WaitlistEntry, second.id).status is WaitlistStatus.OFFERED
    assert db.session.get(Shift, shift.id).held_count == 1
    assert "waitlist_offer_expired" in kinds_for(waiting[0])
    # Too late to accept the expired one.
    with pytest.raises(RuleViolation) as refused:
        trades.answer_offer(waiting[0], first.id, accept=True)
    assert refused.value.code == "no_offer"
    # The CLI runs the same job (nothing due now).
    result = runner.invoke(args=["waitlist", "expire"])
    assert result.exit_code == 0 and "expired 0" in result.output


def test_offer_window_is_shorter_when_the_shift_is_soon(app):
    team = make_team()
    now = dt.datetime.now(dt.UTC)
    soon = make_shift(team, now + dt.timedelta(hours=4))
    far = make_shift(team, now + dt.timedelta(days=3))
    assert waitlist.offer_window(soon, now) == dt.timedelta(hours=1)
    assert waitlist.offer_window(far, now) == dt.timedelta(hours=12)
    assert waitlist.offer_window(make_shift(team, now + dt.timedelta(minutes=20)), now) == dt.timedelta(minutes=20)


def test_declining_passes_the_offer_on_and_leaving_an_offer_too(full_team):
    _, shift, _, on, held, waiting = full_team
    entries = [trades.join_waitlist(v, shift.id) for v in waiting]
    service.drop(on[0], held[0].id)
    trades.answer_offer(waiting[0], entries[0].id, accept=False)
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, entries[1].id).status is WaitlistStatus.OFFERED
    trades.leave_waitlist(waiting[1], entries[1].id)
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, entries[1].id).status is WaitlistStatus.LEFT
    assert db.session.get(WaitlistEntry, entries[2].id).status is WaitlistStatus.OFFERED
    assert db.session.get(Shift, shift.id).held_count == 1


def test_someone_who_could_not_take_the_place_is_skipped(full_team):
    team, shift, _, on, held, waiting = full_team
    entries = [trades.join_waitlist(v, shift.id) for v in waiting[:2]]
    # The first in line is now on an overlapping shift of the same evening.
    clash = make_shift(team, shift.starts_at + dt.timedelta(hours=1))
    make_assignment(clash, waiting[0])
    db.session.commit()
    service.drop(on[0], held[0].id)
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, entries[0].id).status is WaitlistStatus.SKIPPED
    assert db.session.get(WaitlistEntry, entries[1].id).status is WaitlistStatus.OFFERED


def test_another_teams_volunteer_cannot_queue_or_answer(full_team):
    _, shift, _, on, held, waiting = full_team
    outsider = make_user(Role.VOLUNTEER)
    make_team(members=[outsider])
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        trades.join_waitlist(outsider, shift.id)
    assert (refused.value.code, refused.value.status) == ("forbidden", 403)
    entry = trades.join_waitlist(waiting[0], shift.id)
    with pytest.raises(RuleViolation) as refused:
        trades.leave_waitlist(outsider, entry.id)
    assert (refused.value.code, refused.value.status) == ("forbidden", 403)


# --- trade board ---------------------------------------------------------------------------------


def test_trade_offer_taken_moves_the_shift_in_one_step(full_team):
    _, shift, _, on, held, waiting = full_team
    offer = trades.offer_trade(on[0], held[0].id)
    assert offer.status is TradeStatus.OPEN
    with pytest.raises(RuleViolation) as refused:
        trades.offer_trade(on[0], held[0].id)
    assert refused.value.code == "already_offered"
    trades.take_trade(waiting[0], offer.id)
    db.session.expire_all()
    assert db.session.get(Assignment, held[0].id).status is AssignmentStatus.SWAPPED
    assert db.session.get(Shift, shift.id).assigned_count == 2
    assert "trade_taken" in kinds_for(on[0])
    with pytest.raises(RuleViolation) as refused:
        trades.take_trade(waiting[1], offer.id)
    assert refused.value.code == "trade_taken"


def test_taker_must_pass_the_sign_up_rules(full_team):
    _, shift, _, on, held, waiting = full_team
    offer = trades.offer_trade(on[0], held[0].id)
    with pytest.raises(RuleViolation) as refused:
        trades.take_trade(on[1], offer.id)  # already on this shift
    assert refused.value.code == "already_assigned"
    db.session.expire_all()
    assert db.session.get(Assignment, held[0].id).status is AssignmentStatus.ASSIGNED


def test_approval_flow(full_team):
    team, shift, coordinator, on, held, waiting = full_team
    trades.set_approval(coordinator, team.id, True)
    offer = trades.offer_trade(on[0], held[0].id)
    trades.take_trade(waiting[0], offer.id)
    db.session.expire_all()
    assert db.session.get(Assignment, held[0].id).status is AssignmentStatus.ASSIGNED  # nothing moved yet
    assert "trade_approval_needed" in kinds_for(coordinator)
    trades.decide_trade(coordinator, offer.id, approve=False)
    db.session.expire_all()
    assert trades._offer(offer.id).status is TradeStatus.OPEN
    trades.take_trade(waiting[1], offer.id)
    trades.decide_trade(coordinator, offer.id, approve=True)
    db.session.expire_all()
    assert trades._offer(offer.id).status is TradeStatus.TAKEN
    assert db.session.get(Assignment, held[0].id).status is AssignmentStatus.SWAPPED
    assert "trade_decided" in kinds_for(waiting[1])
    with pytest.raises(RuleViolation) as refused:
        trades.decide_trade(coordinator, offer.id, approve=True)
    assert refused.value.code == "not_pending"


def test_another_teams_people_are_refused_on_the_board(full_team):
    team, shift, coordinator, on, held, waiting = full_team
    other_coordinator = make_user(Role.COORDINATOR)
    outsider = make_user(Role.VOLUNTEER)
    make_team(coordinator=other_coordinator, members=[outsider])
    trades.set_approval(coordinator, team.id, True)
    offer = trades.offer_trade(on[0], held[0].id)
    for call in (
        lambda: trades.take_trade(outsider, offer.id),
        lambda: trades.board(outsider, team, 1),
        lambda: trades.set_approval(other_coordinator, team.id, False),
    ):
        with pytest.raises(RuleViolation) as refused:
            call()
        assert (refused.value.code, refused.value.status) == ("forbidden", 403)
    trades.take_trade(waiting[0], offer.id)
    with pytest.raises(RuleViolation) as refused:
        trades.decide_trade(other_coordinator, offer.id, approve=True)
    assert (refused.value.code, refused.value.status) == ("forbidden", 403)


def test_dropping_an_offered_shift_closes_the_offer(full_team):
    _, shift, _, on, held, waiting = full_team
    offer = trades.offer_trade(on[0], held[0].id)
    service.drop(on[0], held[0].id)
    db.session.expire_all()
    assert trades._offer(offer.id).status is TradeStatus.CANCELLED
    with pytest.raises(RuleViolation) as refused:
        trades.take_trade(waiting[0], offer.id)
    assert refused.value.code == "trade_taken"
