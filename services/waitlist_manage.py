"""A coordinator's hand on one shift's waiting list: see who queues, take someone off it.

Who: a coordinator of the shift's team or an admin (`assignments.can_manage_team`); anyone else
is refused with 403, an unknown shift or entry is 404.

Taking someone off ends their live entry as LEFT (the audit log says who did it:
"waitlist.remove" with the coordinator as actor) and tells them through the outbox
("waitlist_removed", in their language). A place that was held for them passes on to the next
in line (the offer engine, `waitlist.offer_free_places`); everybody else keeps their order,
since the order is the entries' ids and nobody else's entry changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import orm

from models import ACTIVE_WAITLIST, Shift, User, WaitlistEntry, WaitlistStatus, db, record, utcnow

from . import assignments as service
from . import waitlist
from .errors import RuleViolation
from .notify import Recipient, Rendered, enqueue, event
from .notify_events import _shift_details, _when, message, shift_context


@dataclass(frozen=True)
class WaitingRow:
    entry: WaitlistEntry
    position: int | None  # 1 for the first still waiting; None while a place is held (offered)

    @property
    def offered(self) -> bool:
        return self.entry.status is WaitlistStatus.OFFERED


def _managed_shift(actor: User, shift_id: int) -> Shift:
    shift = db.session.get(Shift, shift_id)
    if shift is None:
        raise service.not_found(_("This shift does not exist."))
    if not service.can_manage_team(actor, shift.team_id):
        raise service.forbidden()
    return shift


def shift_waitlist(actor: User, shift_id: int) -> tuple[Shift, list[WaitingRow]]:
    """The shift's live waiting list: offers first (their place is held), then the queue in order.

    Three queries whatever the length (shift, access, entries with their volunteers).
    """
    shift = _managed_shift(actor, shift_id)
    entries = db.session.scalars(
        sa.select(WaitlistEntry)
        .where(WaitlistEntry.shift_id == shift.id, WaitlistEntry.status.in_(ACTIVE_WAITLIST))
        .options(orm.joinedload(WaitlistEntry.volunteer))
        .order_by(WaitlistEntry.id)
    ).all()
    offered = [WaitingRow(e, None) for e in entries if e.status is WaitlistStatus.OFFERED]
    waiting = [e for e in entries if e.status is WaitlistStatus.WAITING]
    return shift, offered + [WaitingRow(e, n) for n, e in enumerate(waiting, start=1)]


def remove_from_waitlist(actor: User, shift_id: int, entry_id: int) -> WaitlistEntry:
    """Take one person off the shift's waiting list; a place held for them goes to the next in line."""

    def work():
        shift = _managed_shift(actor, shift_id)
        entry = db.session.get(WaitlistEntry, entry_id)
        if entry is None or entry.shift_id != shift.id:
            raise service.not_found(_("This waiting-list entry does not exist."))
        # Lock order as everywhere: the person, then the shift row, then waiting-list rows.
        service.lock_users(entry.volunteer_id)
        shift = waitlist.lock_shift(shift.id)
        db.session.refresh(entry)
        now = utcnow()
        if entry.status is WaitlistStatus.OFFERED:
            waitlist.release_offer(entry, WaitlistStatus.LEFT, now)
            waitlist.offer_free_places(shift.id, _can_book, now)
        elif entry.status is WaitlistStatus.WAITING:
            waitlist._set_status(entry.id, WaitlistStatus.WAITING, WaitlistStatus.LEFT, decided_at=now)
        else:
            raise RuleViolation(_("This person is no longer on the waiting list."), "not_waiting", 409)
        record(actor, "waitlist.remove", "waitlist_entry", entry.id, shift_id=shift.id, volunteer_id=entry.volunteer_id)
        db.session.refresh(entry)
        removed_notice(entry, shift, entry.volunteer)
        return entry

    return service.in_transaction(work)


def _can_book(shift: Shift, user: User) -> None:
    # The same rule the offer engine is given everywhere else: a sign-up's (services/trades.py).
    service._check_bookable(shift, user, self_service=True)


# --- what the removed volunteer is told --------------------------------------------------------


@event("waitlist_removed", "a coordinator took a volunteer off a shift's waiting list")
def _render_removed(c: dict, r: Recipient) -> Rendered:
    return message(
        _("Taken off the waiting list: %(when)s", when=_when(c)),
        r.name,
        _("The coordinator took you off the waiting list of this shift; you will not be offered a place on it:"),
        _shift_details(c),
        _("Waiting lists"),
        c.get("path", "/me/waitlists"),
    )


def removed_notice(entry: WaitlistEntry, shift: Shift, volunteer: User) -> None:
    context = shift_context(shift)
    context.pop("ical", None)  # not a calendar change: they were never on the shift
    context["path"] = "/me/waitlists"
    enqueue("waitlist_removed", f"waitlist_removed:{entry.id}", [Recipient.user(volunteer)], context)
