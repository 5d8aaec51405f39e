"""The waiting list's offer window and expiry, pinned at their boundaries on real times (mutation
testing of services/waitlist.py and the expiry in services/trades.py: `python tools/mutation.py
waitlist`). A shift on Friday 15 January 2027 at 19:00 (Asia/Shanghai) for the pure window; the
engine runs on a shift a month from today, so that the sign-up rules it applies hold."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from models import Role, Shift, ShiftStatus, WaitlistEntry, WaitlistStatus, db
from services import trades, waitlist
from services.errors import RuleViolation
from tests.factories import local, make_assignment, make_shift, make_team, make_user
from timeutil import LOCAL_TZ, local_today

FRIDAY_19 = local(2027, 1, 15, 19)


@pytest.fixture
def friday(app):
    return make_shift(make_team(), FRIDAY_19, hours=3)


@pytest.mark.parametrize(
    ("now", "window"),
    [
        (FRIDAY_19, None),  # started: no offer at all
        (FRIDAY_19 + dt.timedelta(minutes=1), None),
        (FRIDAY_19 - dt.timedelta(seconds=1), dt.timedelta(seconds=1)),  # never past the start
        (FRIDAY_19 - dt.timedelta(minutes=29), dt.timedelta(minutes=29)),
        (local(2027, 1, 15, 18), dt.timedelta(minutes=30)),  # 1 h left: a quarter is 15 min, the floor is 30
        (local(2027, 1, 15, 17), dt.timedelta(minutes=30)),  # 2 h left: a quarter is exactly the floor
        (local(2027, 1, 15, 16), dt.timedelta(minutes=45)),  # 3 h left: a quarter
        (local(2027, 1, 13, 19), dt.timedelta(hours=12)),  # 48 h left: a quarter is exactly the longest
        (local(2027, 1, 13, 18, 59), dt.timedelta(hours=12)),  # a minute more: capped at 12 h
        (local(2027, 1, 8, 19), dt.timedelta(hours=12)),  # a week ahead
    ],
)
def test_offer_window_at_its_boundaries(friday, now, window):
    assert waitlist.offer_window(friday, now) == window


def test_offer_window_follows_the_settings(friday, app):
    app.config.update(WAITLIST_OFFER_HOURS=2, WAITLIST_OFFER_MIN_MINUTES=45)
    assert waitlist.offer_window(friday, local(2027, 1, 15, 18)) == dt.timedelta(minutes=45)  # floor 45 min
    assert waitlist.offer_window(friday, local(2027, 1, 15, 15)) == dt.timedelta(hours=1)  # a quarter of 4 h
    assert waitlist.offer_window(friday, local(2027, 1, 14, 19)) == dt.timedelta(hours=2)  # capped at 2 h
    assert waitlist.offer_window(friday, FRIDAY_19 - dt.timedelta(minutes=10)) == dt.timedelta(minutes=10)


def anyone(shift, user) -> None:
    """A can_book that lets everyone take the place (the rules themselves are tested elsewhere)."""


@pytest.fixture
def line(app):
    """A shift a month from today, 19:00–22:00, 2 places, one taken; three people queue (A, B, C)."""
    day = local_today() + dt.timedelta(days=30)
    people = [make_user(Role.VOLUNTEER) for _ in range(4)]
    team = make_team(members=people)
    shift = make_shift(
        team, dt.datetime.combine(day, dt.time(19), tzinfo=LOCAL_TZ), hours=3, min_volunteers=1, max_volunteers=2
    )
    make_assignment(shift, people[0])
    entries = []
    for person in people[1:]:
        entry = WaitlistEntry(shift_id=shift.id, volunteer_id=person.id)
        db.session.add(entry)
        db.session.flush()
        entries.append(entry.id)
    db.session.commit()
    return type("Line", (), dict(shift=shift.id, start=shift.starts_at, people=people, entries=entries))


def statuses(ids) -> list[WaitlistStatus]:
    db.session.expire_all()
    return [db.session.get(WaitlistEntry, i).status for i in ids]


def test_one_free_place_one_offer_for_exactly_the_window(line):
    now = line.start - dt.timedelta(hours=3)  # 16:00: the window is 45 min
    assert waitlist.offer_free_places(line.shift, anyone, now) == 1
    assert statuses(line.entries) == [WaitlistStatus.OFFERED, WaitlistStatus.WAITING, WaitlistStatus.WAITING]
    first = db.session.get(WaitlistEntry, line.entries[0])
    assert first.offered_at == now
    assert first.offer_expires_at == now + dt.timedelta(minutes=45)
    assert db.session.get(Shift, line.shift).held_count == 1
    # The place is held: nothing more to offer.
    assert waitlist.offer_free_places(line.shift, anyone, now) == 0
    assert statuses(line.entries)[1] == WaitlistStatus.WAITING


def test_no_offer_once_the_shift_has_started(line):
    assert waitlist.offer_free_places(line.shift, anyone, line.start) == 0
    assert statuses(line.entries) == [WaitlistStatus.WAITING] * 3
    assert db.session.get(Shift, line.shift).held_count == 0
    # A minute before the start: offered, and the offer ends at the start, not later.
    assert waitlist.offer_free_places(line.shift, anyone, line.start - dt.timedelta(minutes=1)) == 1
    assert db.session.get(WaitlistEntry, line.entries[0]).offer_expires_at == line.start


def test_two_free_places_two_offers_in_order(line):
    shift = db.session.get(Shift, line.shift)
    shift.max_volunteers = 3
    db.session.commit()
    assert waitlist.offer_free_places(line.shift, anyone, line.start - dt.timedelta(days=2)) == 2
    assert statuses(line.entries) == [WaitlistStatus.OFFERED, WaitlistStatus.OFFERED, WaitlistStatus.WAITING]
    assert db.session.get(Shift, line.shift).held_count == 2


def test_someone_refused_is_skipped_and_the_next_offered(line):
    def not_a(shift, user):
        if user.id == line.people[1].id:
            raise RuleViolation("busy", "overlap")

    assert waitlist.offer_free_places(line.shift, not_a, line.start - dt.timedelta(days=2)) == 1
    assert statuses(line.entries) == [WaitlistStatus.SKIPPED, WaitlistStatus.OFFERED, WaitlistStatus.WAITING]
    assert db.session.get(WaitlistEntry, line.entries[0]).decided_at == line.start - dt.timedelta(days=2)


def test_a_cancelled_shift_offers_nothing(line):
    db.session.get(Shift, line.shift).status = ShiftStatus.CANCELLED
    db.session.commit()
    assert waitlist.offer_free_places(line.shift, anyone, line.start - dt.timedelta(days=2)) == 0
    assert statuses(line.entries) == [WaitlistStatus.WAITING] * 3


def test_only_this_shifts_queue_is_offered(line):
    shift = db.session.get(Shift, line.shift)
    other = make_shift(shift.team, shift.starts_at + dt.timedelta(days=1), hours=3, min_volunteers=1, max_volunteers=1)
    make_assignment(other, line.people[0])
    earlier = WaitlistEntry(shift_id=other.id, volunteer_id=line.people[3].id)
    db.session.add(earlier)
    db.session.commit()
    db.session.execute(
        sa.update(WaitlistEntry).where(WaitlistEntry.id == earlier.id).values(id=0)
    )  # first in any order
    db.session.commit()
    assert waitlist.offer_free_places(line.shift, anyone, line.start - dt.timedelta(days=2)) == 1
    assert statuses([0, *line.entries]) == [
        WaitlistStatus.WAITING,
        WaitlistStatus.OFFERED,
        WaitlistStatus.WAITING,
        WaitlistStatus.WAITING,
    ]


def test_an_offer_expires_exactly_at_its_time(line):
    now = line.start - dt.timedelta(days=2)  # the longest window: 12 h
    waitlist.offer_free_places(line.shift, anyone, now)
    db.session.commit()  # the engine only flushes: its callers commit
    expires = now + dt.timedelta(hours=12)
    assert db.session.get(WaitlistEntry, line.entries[0]).offer_expires_at == expires
    early = trades.expire_offers(expires - dt.timedelta(microseconds=1))
    assert early["expired"] == 0 and statuses(line.entries)[0] is WaitlistStatus.OFFERED
    due = trades.expire_offers(expires)
    assert (due["expired"], due["offered"]) == (1, 1)
    assert statuses(line.entries) == [WaitlistStatus.EXPIRED, WaitlistStatus.OFFERED, WaitlistStatus.WAITING]
    assert db.session.get(WaitlistEntry, line.entries[0]).decided_at == expires
    second = db.session.get(WaitlistEntry, line.entries[1])
    # 36 h before the start: a quarter of what is left, 9 h.
    assert second.offered_at == expires and second.offer_expires_at == expires + dt.timedelta(hours=9)
    assert db.session.get(Shift, line.shift).held_count == 1


def test_accepting_at_the_last_moment_and_one_moment_too_late(line, monkeypatch):
    now = line.start - dt.timedelta(days=2)
    waitlist.offer_free_places(line.shift, anyone, now)
    db.session.commit()  # the engine only flushes: its callers commit
    expires = now + dt.timedelta(hours=12)
    a, b = line.people[1], line.people[2]
    monkeypatch.setattr(trades, "utcnow", lambda: expires)
    with pytest.raises(RuleViolation) as refused:
        trades.answer_offer(a, line.entries[0], accept=True)
    assert refused.value.code == "offer_expired"
    # B's offer (after A's expires) can be taken a microsecond before it ends.
    trades.expire_offers(expires)
    b_expires = db.session.get(WaitlistEntry, line.entries[1]).offer_expires_at
    monkeypatch.setattr(trades, "utcnow", lambda: b_expires - dt.timedelta(microseconds=1))
    trades.answer_offer(b, line.entries[1], accept=True)
    assert statuses(line.entries)[1] is WaitlistStatus.ACCEPTED
    shift = db.session.get(Shift, line.shift)
    assert (shift.assigned_count, shift.held_count) == (2, 0)


def test_queues_close_when_the_shift_starts_not_before(line):
    outcome = trades.expire_offers(line.start - dt.timedelta(microseconds=1))
    assert outcome["closed"] == 0 and statuses(line.entries) == [WaitlistStatus.WAITING] * 3
    outcome = trades.expire_offers(line.start)
    assert outcome["closed"] == 3 and statuses(line.entries) == [WaitlistStatus.EXPIRED] * 3
    assert (
        db.session.scalar(sa.select(sa.func.count(WaitlistEntry.id)).where(WaitlistEntry.decided_at == line.start)) == 3
    )
