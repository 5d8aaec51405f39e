"""Trade board and waiting list under concurrent requests: real threads, one connection each.

On PostgreSQL a barrier after the rule checks makes every thread pass its checks before any
writes (the worst interleaving); on SQLite writers simply queue.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from models import (
    Assignment,
    AssignmentStatus,
    Role,
    Shift,
    TradeOffer,
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
from tests.test_roster_concurrency import run_concurrently, worker_app  # noqa: F401 - the fixture
from timeutil import LOCAL_TZ

RACERS = 8


def _team(n: int):
    giver = make_user(Role.VOLUNTEER)
    racers = [make_user(Role.VOLUNTEER) for _ in range(n)]
    team = make_team(coordinator=make_user(Role.COORDINATOR), members=[giver, *racers])
    starts = dt.datetime.now(LOCAL_TZ).replace(microsecond=0) + dt.timedelta(days=4)
    shift = make_shift(team, starts, min_volunteers=1, max_volunteers=1)
    assignment = make_assignment(shift, giver)
    db.session.commit()
    return giver, racers, shift, assignment


def test_two_volunteers_take_the_same_offered_shift_exactly_one_wins(app, worker_app, monkeypatch):  # noqa: F811
    giver, racers, shift, assignment = _team(2)
    offer = trades.offer_trade(giver, assignment.id)
    offer_id, racer_ids = offer.id, [r.id for r in racers]

    def take(user_id):
        return lambda: trades.take_trade(db.session.get(User, user_id), offer_id)

    # Both threads read the offer as open, then ask for the locks at the same moment.
    read = threading.Barrier(len(racer_ids), timeout=30)
    original = service.lock_users

    def wait_then_lock(*ids):
        read.wait()
        original(*ids)

    monkeypatch.setattr(service, "lock_users", wait_then_lock)
    results = run_concurrently(worker_app, [take(r) for r in racer_ids])
    won = [r for r in results if isinstance(r, TradeOffer)]
    lost = [r for r in results if isinstance(r, RuleViolation | Exception) and not isinstance(r, TradeOffer)]
    assert len(won) == 1, results
    assert len(lost) == 1
    # On PostgreSQL the loser passed its checks, then found the offer taken under the giver's lock.
    assert all(getattr(r, "code", "trade_taken") == "trade_taken" for r in lost), results
    db.session.expire_all()
    active = db.session.scalars(
        sa.select(Assignment.volunteer_id).where(
            Assignment.shift_id == shift.id, Assignment.status == AssignmentStatus.ASSIGNED
        )
    ).all()
    assert len(active) == 1 and active[0] in racer_ids
    assert db.session.get(Shift, shift.id).assigned_count == 1
    assert db.session.get(TradeOffer, offer_id).status is TradeStatus.TAKEN


def test_many_join_at_once_and_positions_stay_consistent(app, worker_app):  # noqa: F811
    giver, racers, shift, assignment = _team(RACERS)
    shift_id, racer_ids = shift.id, [r.id for r in racers]

    def join(user_id):
        return lambda: trades.join_waitlist(db.session.get(User, user_id), shift_id)

    results = run_concurrently(worker_app, [join(r) for r in racer_ids])
    assert all(isinstance(r, WaitlistEntry) for r in results), results
    entries = db.session.scalars(sa.select(WaitlistEntry).where(WaitlistEntry.shift_id == shift_id)).all()
    assert sorted(waitlist.position(e) for e in entries) == list(range(1, RACERS + 1))

    # The place frees; the first in line and a second in line accept/leave at once: one hold, one booking.
    service.drop(giver, assignment.id)
    db.session.expire_all()
    offered = db.session.scalars(
        sa.select(WaitlistEntry).where(
            WaitlistEntry.shift_id == shift_id, WaitlistEntry.status == WaitlistStatus.OFFERED
        )
    ).all()
    assert len(offered) == 1
    first = offered[0]
    others = [e for e in entries if e.id != first.id][:3]
    calls = [lambda: trades.answer_offer(db.session.get(User, first.volunteer_id), first.id, True)]
    calls += [(lambda e=e: trades.leave_waitlist(db.session.get(User, e.volunteer_id), e.id)) for e in others]
    results = run_concurrently(worker_app, calls)
    assert all(isinstance(r, WaitlistEntry) for r in results), results
    db.session.expire_all()
    shift = db.session.get(Shift, shift_id)
    assert (shift.assigned_count, shift.held_count) == (1, 0)
    waiting = db.session.scalars(
        sa.select(WaitlistEntry)
        .where(WaitlistEntry.shift_id == shift_id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .order_by(WaitlistEntry.id)
    ).all()
    assert [waitlist.position(e) for e in waiting] == list(range(1, RACERS - 3))


@pytest.mark.parametrize("n", [3])
def test_concurrent_joins_of_one_person_make_one_entry(app, worker_app, n):  # noqa: F811
    giver, racers, shift, assignment = _team(1)
    volunteer_id, shift_id = racers[0].id, shift.id
    calls = [lambda: trades.join_waitlist(db.session.get(User, volunteer_id), shift_id) for _ in range(n)]
    results = run_concurrently(worker_app, calls)
    assert sum(isinstance(r, WaitlistEntry) for r in results) == 1, results
    assert {r.code for r in results if isinstance(r, RuleViolation)} == {"already_waiting"}
