"""The waiting list's offer engine: when a place frees, hold it for the first in line.

Called by services/assignments.py whenever an assignment ends and frees a place (one hook,
`_assignment_ended`), by the expiry job and by leaving/declining. It never books anyone: it
moves WAITING entries to OFFERED and counts the hold in `Shift.held_count`; a booking by
anyone else needs `assigned_count + held_count < max_volunteers`, so a held place cannot be
taken meanwhile (not by a direct sign-up, not by a coordinator's assign either: the coordinator
can raise the shift's maximum or wait for the offer to pass).

Offer window (config): WAITLIST_OFFER_HOURS (default 12) hours, but at most a quarter of the
time left before the shift starts and at least WAITLIST_OFFER_MIN_MINUTES (default 30), and
never past the start: a shift tomorrow evening gets hours, one this evening minutes.

Lock order (PostgreSQL): users, assignment, shift row, then waiting-list rows, as in assignments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app

from models import Shift, ShiftStatus, User, WaitlistEntry, WaitlistStatus, db, record, utcnow

from . import trade_notices
from .errors import RuleViolation


def offer_window(shift: Shift, now: dt.datetime) -> dt.timedelta | None:
    """How long the first in line has to accept; None when the shift has started (no offer)."""
    left = shift.starts_at - now
    if left <= dt.timedelta(0):
        return None
    longest = dt.timedelta(hours=current_app.config.get("WAITLIST_OFFER_HOURS", 12))
    shortest = dt.timedelta(minutes=current_app.config.get("WAITLIST_OFFER_MIN_MINUTES", 30))
    return min(longest, max(shortest, left / 4), left)


def lock_shift(shift_id: int) -> Shift | None:
    """The shift row, locked until the transaction ends (PostgreSQL), read fresh."""
    query = sa.select(Shift).where(Shift.id == shift_id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return db.session.scalar(query)


def change_held(shift_id: int, delta: int) -> None:
    table = Shift.__table__
    db.session.execute(sa.update(table).where(table.c.id == shift_id).values(held_count=table.c.held_count + delta))
    shift = db.session.identity_map.get(db.session.identity_key(Shift, shift_id))
    if shift is not None:
        db.session.expire(shift)


def _set_status(entry_id: int, old: WaitlistStatus, new: WaitlistStatus, **values) -> bool:
    table = WaitlistEntry.__table__
    result = db.session.execute(
        sa.update(table)
        .where(table.c.id == entry_id, table.c.status == old.value)
        .values(status=new.value, updated_at=utcnow(), **values)
    )
    return result.rowcount == 1


def offer_free_places(shift_id: int, can_book: Callable[[Shift, User], None], now: dt.datetime | None = None) -> int:
    """Offer every free, unheld place of the shift to the next people in line; returns offers made.

    `can_book(shift, user)` raises RuleViolation when the person could not take it now (they
    are then SKIPPED, and the next is asked): an offer nobody can accept helps no one.
    """
    now = now or utcnow()
    shift = lock_shift(shift_id)
    if shift is None or shift.status is not ShiftStatus.SCHEDULED:
        return 0
    window = offer_window(shift, now)
    if window is None:
        return 0
    made = 0
    free = shift.max_volunteers - shift.assigned_count - shift.held_count
    while free > 0:
        entry = db.session.scalar(
            sa.select(WaitlistEntry)
            .where(WaitlistEntry.shift_id == shift_id, WaitlistEntry.status == WaitlistStatus.WAITING)
            .order_by(WaitlistEntry.id)
            .limit(1)
            .execution_options(populate_existing=True)
        )
        if entry is None:
            break
        try:
            can_book(shift, entry.volunteer)
        except RuleViolation as refused:
            _set_status(entry.id, WaitlistStatus.WAITING, WaitlistStatus.SKIPPED, decided_at=now)
            record(None, "waitlist.skip", "waitlist_entry", entry.id, shift_id=shift_id, reason=refused.code)
            continue
        if not _set_status(
            entry.id, WaitlistStatus.WAITING, WaitlistStatus.OFFERED, offered_at=now, offer_expires_at=now + window
        ):
            continue
        change_held(shift_id, +1)
        db.session.refresh(entry)
        trade_notices.waitlist_offered(entry, shift, entry.volunteer)
        record(None, "waitlist.offer", "waitlist_entry", entry.id, shift_id=shift_id, volunteer_id=entry.volunteer_id)
        made += 1
        free -= 1
    return made


def release_offer(entry: WaitlistEntry, new: WaitlistStatus, now: dt.datetime) -> bool:
    """An OFFERED entry ends without booking (declined, expired, left): the hold goes."""
    if not _set_status(entry.id, WaitlistStatus.OFFERED, new, decided_at=now):
        return False
    change_held(entry.shift_id, -1)
    return True


def position(entry: WaitlistEntry) -> int | None:
    """1 for the first still waiting; None once offered or ended."""
    if entry.status is not WaitlistStatus.WAITING:
        return None
    return 1 + (
        db.session.scalar(
            sa.select(sa.func.count(WaitlistEntry.id)).where(
                WaitlistEntry.shift_id == entry.shift_id,
                WaitlistEntry.status == WaitlistStatus.WAITING,
                WaitlistEntry.id < entry.id,
            )
        )
        or 0
    )
