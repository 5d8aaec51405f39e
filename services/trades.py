"""Waiting lists (queue for a full shift, accept a held place) and the team's open trade board.

Rules: accepting an offer or taking a trade goes through `assignments._check_bookable` with
self_service=True, exactly the rules of a sign-up (and whatever rules are added there). Every
function is one unit of work (assignments.in_transaction); refusals are RuleViolations with a code.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import orm

from models import (
    ACTIVE_WAITLIST,
    Assignment,
    AssignmentStatus,
    PatrolTeam,
    Shift,
    ShiftStatus,
    TeamMembership,
    TradeOffer,
    TradeStatus,
    User,
    WaitlistEntry,
    WaitlistStatus,
    db,
    record,
    utcnow,
)

from . import assignments as service
from . import trade_notices, waitlist
from .errors import RuleViolation
from .roster import Page


def _can_book(shift: Shift, user: User) -> None:
    service._check_bookable(shift, user, self_service=True)


def _can_take(shift: Shift, user: User, offer: TradeOffer) -> None:
    """The sign-up rules for taking a teammate's offered place (they are still on the shift)."""
    service._check_bookable(shift, user, self_service=True, transfer=True, leaving_id=offer.from_user_id)


# --- waiting list --------------------------------------------------------------------------------


def join_waitlist(volunteer: User, shift_id: int) -> WaitlistEntry:
    """Queue for a full shift of one of my teams; returns the entry (its position: waitlist.position)."""

    def work():
        shift = db.session.get(Shift, shift_id)
        if shift is None:
            raise service.not_found(_("This shift does not exist."))
        if not service.is_member(volunteer.id, shift.team_id):
            raise service.forbidden(_("You can only queue for shifts of your own teams."))
        service.lock_users(volunteer.id)
        shift = waitlist.lock_shift(shift_id)
        if shift.status is not ShiftStatus.SCHEDULED:
            raise RuleViolation(_("This shift has been cancelled."), "shift_cancelled")
        if shift.starts_at <= utcnow():
            raise RuleViolation(_("This shift has already started."), "shift_started")
        if service.overlapping_assignment(volunteer.id, shift.starts_at, shift.ends_at) is not None:
            if db.session.scalar(
                sa.select(Assignment.id).where(
                    Assignment.shift_id == shift.id,
                    Assignment.volunteer_id == volunteer.id,
                    Assignment.status == AssignmentStatus.ASSIGNED,
                )
            ):
                raise RuleViolation(_("You are already on this shift."), "already_assigned")
        if shift.assigned_count + shift.held_count < shift.max_volunteers:
            raise RuleViolation(_("This shift has a free place: sign up instead."), "not_full")
        existing = db.session.scalar(
            sa.select(WaitlistEntry.id).where(
                WaitlistEntry.shift_id == shift.id,
                WaitlistEntry.volunteer_id == volunteer.id,
                WaitlistEntry.status.in_(ACTIVE_WAITLIST),
            )
        )
        if existing is not None:
            raise RuleViolation(_("You are already on this shift's waiting list."), "already_waiting")
        entry = WaitlistEntry(shift_id=shift.id, volunteer_id=volunteer.id)
        db.session.add(entry)
        db.session.flush()
        record(volunteer, "waitlist.join", "waitlist_entry", entry.id, shift_id=shift.id, team_id=shift.team_id)
        return entry

    return service.in_transaction(work)


def _my_entry(actor: User, entry_id: int) -> WaitlistEntry:
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise service.not_found(_("This waiting-list entry does not exist."))
    if entry.volunteer_id != actor.id:
        raise service.forbidden(_("This is someone else's place on the waiting list."))
    return entry


def leave_waitlist(actor: User, entry_id: int) -> WaitlistEntry:
    """Leave the queue; a place held for me passes to the next in line."""

    def work():
        entry = _my_entry(actor, entry_id)
        service.lock_users(actor.id)
        waitlist.lock_shift(entry.shift_id)
        db.session.refresh(entry)
        now = utcnow()
        if entry.status is WaitlistStatus.OFFERED:
            waitlist.release_offer(entry, WaitlistStatus.LEFT, now)
            waitlist.offer_free_places(entry.shift_id, _can_book, now)
        elif entry.status is WaitlistStatus.WAITING:
            waitlist._set_status(entry.id, WaitlistStatus.WAITING, WaitlistStatus.LEFT, decided_at=now)
        else:
            raise RuleViolation(_("You are no longer on this waiting list."), "not_waiting")
        record(actor, "waitlist.leave", "waitlist_entry", entry.id, shift_id=entry.shift_id)
        db.session.refresh(entry)
        return entry

    return service.in_transaction(work)


def answer_offer(actor: User, entry_id: int, accept: bool) -> WaitlistEntry:
    """Accept the held place (booked by the sign-up rules) or decline it (it passes on)."""

    def work():
        entry = _my_entry(actor, entry_id)
        service.lock_users(actor.id)
        shift = waitlist.lock_shift(entry.shift_id)
        db.session.refresh(entry)
        now = utcnow()
        if entry.status is not WaitlistStatus.OFFERED:
            raise RuleViolation(_("There is no place offered to you on this shift."), "no_offer")
        if entry.offer_expires_at <= now:
            raise RuleViolation(_("This offer has expired."), "offer_expired")
        if not accept:
            waitlist.release_offer(entry, WaitlistStatus.DECLINED, now)
            waitlist.offer_free_places(entry.shift_id, _can_book, now)
            record(actor, "waitlist.decline", "waitlist_entry", entry.id, shift_id=entry.shift_id)
            db.session.refresh(entry)
            return entry
        if not waitlist._set_status(entry.id, WaitlistStatus.OFFERED, WaitlistStatus.ACCEPTED, decided_at=now):
            raise RuleViolation(_("There is no place offered to you on this shift."), "no_offer")
        # The held place becomes the booked one (the sign-up rules, checked in _book): same total,
        # so no capacity check can fail here.
        assignment = service._book(
            actor, shift.id, actor.id, self_service=True, from_held=True, announce=False, locked=True
        )
        record(
            actor,
            "waitlist.accept",
            "waitlist_entry",
            entry.id,
            assignment_id=assignment.id,
            shift_id=shift.id,
            team_id=shift.team_id,
        )
        db.session.refresh(entry)
        return entry

    return service.in_transaction(work)


def expire_offers(now: dt.datetime | None = None) -> dict:
    """The scheduled job: offers past their time pass to the next in line; queues of started shifts close.

    One transaction per shift, so one bad shift does not hold back the others.
    """
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(WaitlistEntry.shift_id)
        .where(WaitlistEntry.status == WaitlistStatus.OFFERED, WaitlistEntry.offer_expires_at <= now)
        .distinct()
    ).all()
    expired = passed = 0
    for shift_id in due:

        def work(shift_id=shift_id):
            waitlist.lock_shift(shift_id)
            entries = db.session.scalars(
                sa.select(WaitlistEntry)
                .where(
                    WaitlistEntry.shift_id == shift_id,
                    WaitlistEntry.status == WaitlistStatus.OFFERED,
                    WaitlistEntry.offer_expires_at <= now,
                )
                .options(orm.joinedload(WaitlistEntry.volunteer), orm.joinedload(WaitlistEntry.shift))
                .execution_options(populate_existing=True)
            ).all()
            gone = 0
            for entry in entries:
                if waitlist.release_offer(entry, WaitlistStatus.EXPIRED, now):
                    trade_notices.offer_expired(entry, entry.shift, entry.volunteer)
                    record(None, "waitlist.expire", "waitlist_entry", entry.id, shift_id=shift_id)
                    gone += 1
            return gone, waitlist.offer_free_places(shift_id, _can_book, now)

        gone, made = service.in_transaction(work)
        expired += gone
        passed += made
    # Queues of shifts that have started are over.
    table = WaitlistEntry.__table__
    started = sa.select(Shift.id).where(Shift.starts_at <= now)

    def close():
        return db.session.execute(
            sa.update(table)
            .where(table.c.status == WaitlistStatus.WAITING.value, table.c.shift_id.in_(started))
            .values(status=WaitlistStatus.EXPIRED.value, decided_at=now, updated_at=now)
        ).rowcount

    closed = service.in_transaction(close)
    return {"expired": expired, "offered": passed, "closed": closed}


def my_waitlists(user_id: int) -> list[tuple[WaitlistEntry, int | None]]:
    """My live entries with my position (None = offered), soonest shift first; two queries."""
    entries = db.session.scalars(
        sa.select(WaitlistEntry)
        .join(Shift, Shift.id == WaitlistEntry.shift_id)
        .where(WaitlistEntry.volunteer_id == user_id, WaitlistEntry.status.in_(ACTIVE_WAITLIST))
        .options(orm.contains_eager(WaitlistEntry.shift).joinedload(Shift.team))
        .order_by(Shift.starts_at)
    ).all()
    positions = _positions([e.shift_id for e in entries])
    return [(e, positions.get(e.id)) for e in entries]


def _positions(shift_ids: list[int]) -> dict[int, int]:
    if not shift_ids:
        return {}
    rank = sa.func.row_number().over(partition_by=WaitlistEntry.shift_id, order_by=WaitlistEntry.id)
    rows = db.session.execute(
        sa.select(WaitlistEntry.id, rank).where(
            WaitlistEntry.shift_id.in_(set(shift_ids)), WaitlistEntry.status == WaitlistStatus.WAITING
        )
    ).all()
    return {entry_id: pos for entry_id, pos in rows}


def full_shifts(user: User, days: int = 30, limit: int = 50) -> list[Shift]:
    """Full shifts of my teams in the next days that I am neither on nor queueing for."""
    now = utcnow()
    mine = sa.select(TeamMembership.team_id).where(TeamMembership.user_id == user.id)
    on_it = sa.select(Assignment.shift_id).where(
        Assignment.volunteer_id == user.id, Assignment.status == AssignmentStatus.ASSIGNED
    )
    queued = sa.select(WaitlistEntry.shift_id).where(
        WaitlistEntry.volunteer_id == user.id, WaitlistEntry.status.in_(ACTIVE_WAITLIST)
    )
    return list(
        db.session.scalars(
            sa.select(Shift)
            .where(
                Shift.team_id.in_(mine),
                Shift.status == ShiftStatus.SCHEDULED,
                Shift.starts_at > now,
                Shift.starts_at < now + dt.timedelta(days=days),
                Shift.assigned_count + Shift.held_count >= Shift.max_volunteers,
                Shift.id.not_in(on_it),
                Shift.id.not_in(queued),
            )
            .options(orm.joinedload(Shift.team))
            .order_by(Shift.starts_at, Shift.id)
            .limit(limit)
        )
    )


def team_waitlists(actor: User, team: PatrolTeam) -> list[WaitlistEntry]:
    """The coordinator's view: live entries of the team's coming shifts, in queue order."""
    if not service.can_manage_team(actor, team.id):
        raise service.forbidden()
    return list(
        db.session.scalars(
            sa.select(WaitlistEntry)
            .join(Shift, Shift.id == WaitlistEntry.shift_id)
            .where(Shift.team_id == team.id, Shift.ends_at > utcnow(), WaitlistEntry.status.in_(ACTIVE_WAITLIST))
            .options(orm.contains_eager(WaitlistEntry.shift), orm.joinedload(WaitlistEntry.volunteer))
            .order_by(Shift.starts_at, WaitlistEntry.shift_id, WaitlistEntry.id)
        )
    )


def my_teams(user_id: int) -> list[PatrolTeam]:
    """The teams whose trade board I can open (one query)."""
    return list(
        db.session.scalars(
            sa.select(PatrolTeam)
            .join(TeamMembership, TeamMembership.team_id == PatrolTeam.id)
            .where(TeamMembership.user_id == user_id, PatrolTeam.active.is_(True))
            .order_by(PatrolTeam.code)
        )
    )


# --- trade board ---------------------------------------------------------------------------------


def offer_trade(actor: User, assignment_id: int) -> TradeOffer:
    """Put one of my shifts on my team's board; I stay on it until someone takes it."""

    def work():
        assignment = db.session.get(Assignment, assignment_id)
        if assignment is None:
            raise service.not_found(_("This assignment does not exist."))
        if assignment.volunteer_id != actor.id:
            raise service.forbidden(_("You can only offer your own shifts."))
        service.lock_users(actor.id)
        assignment = service._fresh_assignment(assignment_id)
        if assignment.status is not AssignmentStatus.ASSIGNED:
            raise RuleViolation(_("This assignment has already ended."), "not_active")
        shift = assignment.shift
        if shift.starts_at <= utcnow():
            raise RuleViolation(_("This shift has already started."), "shift_started")
        if db.session.scalar(
            sa.select(TradeOffer.id).where(
                TradeOffer.assignment_id == assignment.id,
                TradeOffer.status.in_([TradeStatus.OPEN, TradeStatus.PENDING]),
            )
        ):
            raise RuleViolation(_("This shift is already on the trade board."), "already_offered")
        offer = TradeOffer(assignment_id=assignment.id, shift_id=shift.id, team_id=shift.team_id, from_user_id=actor.id)
        db.session.add(offer)
        db.session.flush()
        record(actor, "trade.offer", "trade_offer", offer.id, assignment_id=assignment.id, team_id=shift.team_id)
        return offer

    return service.in_transaction(work)


def _offer(offer_id: int) -> TradeOffer:
    offer = db.session.get(TradeOffer, offer_id, populate_existing=True)
    if offer is None:
        raise service.not_found(_("This trade offer does not exist."))
    return offer


def _transfer(actor: User, offer: TradeOffer, taker: User, now: dt.datetime) -> Assignment:
    """Giver off, taker on, in the caller's transaction (rules already checked)."""
    table = Assignment.__table__
    moved = db.session.execute(
        sa.update(table)
        .where(table.c.id == offer.assignment_id, table.c.status == AssignmentStatus.ASSIGNED.value)
        .values(status=AssignmentStatus.SWAPPED.value, updated_at=now)
    )
    if moved.rowcount != 1:
        raise RuleViolation(_("This shift is no longer on offer."), "trade_closed")
    # Same head count, different person; the sign-up rules again, under the caller's locks.
    new = service._book(
        actor,
        offer.shift_id,
        taker.id,
        self_service=True,
        transfer=True,
        assigned_by_id=offer.from_user_id,
        announce=False,
        locked=True,
    )
    shift = service._fresh_shift(offer.shift_id)
    service._cancel_pending_swaps(offer.assignment_id)
    db.session.flush()
    trade_notices.trade_taken(offer, shift, offer.from_user, taker)
    return new


def take_trade(actor: User, offer_id: int) -> TradeOffer:
    """An eligible teammate takes an offered shift: it moves now, or waits for approval if the team asks."""

    def work():
        offer = _offer(offer_id)
        if not service.is_member(actor.id, offer.team_id):
            raise service.forbidden(_("You can only take shifts of your own teams."))
        if offer.from_user_id == actor.id:
            raise RuleViolation(_("This is your own offer."), "same_person")
        # The giver's lock serialises every take (and the giver's drop) of this shift.
        service.lock_users(offer.from_user_id, actor.id)
        offer = _offer(offer_id)
        if offer.status is not TradeStatus.OPEN:
            raise RuleViolation(_("Someone else has already taken this shift."), "trade_taken")
        shift = service._fresh_shift(offer.shift_id)
        _can_take(shift, actor, offer)
        now = utcnow()
        approval = db.session.scalar(
            sa.select(PatrolTeam.trade_approval_required).where(PatrolTeam.id == offer.team_id)
        )
        table = TradeOffer.__table__
        claimed = db.session.execute(
            sa.update(table)
            .where(table.c.id == offer.id, table.c.status == TradeStatus.OPEN.value)
            .values(
                status=(TradeStatus.PENDING if approval else TradeStatus.TAKEN).value,
                taker_id=actor.id,
                taken_at=now,
                updated_at=now,
            )
        )
        if claimed.rowcount != 1:
            raise RuleViolation(_("Someone else has already taken this shift."), "trade_taken")
        offer = _offer(offer_id)
        if approval:
            trade_notices.approval_needed(offer, shift, offer.from_user, actor)
            record(actor, "trade.take_pending", "trade_offer", offer.id, team_id=offer.team_id)
            return offer
        new = _transfer(actor, offer, actor, now)
        record(actor, "trade.take", "trade_offer", offer.id, new_assignment_id=new.id, team_id=offer.team_id)
        return offer

    return service.in_transaction(work)


def decide_trade(actor: User, offer_id: int, approve: bool) -> TradeOffer:
    """The coordinator approves (the shift moves, rules checked again) or declines (back on the board)."""

    def work():
        offer = _offer(offer_id)
        if not service.can_manage_team(actor, offer.team_id):
            raise service.forbidden()
        service.lock_users(offer.from_user_id, offer.taker_id)
        offer = _offer(offer_id)
        if offer.status is not TradeStatus.PENDING:
            raise RuleViolation(_("This trade is not waiting for approval."), "not_pending")
        now = utcnow()
        taker = offer.taker
        offer.decided_by_id = actor.id
        offer.decided_at = now
        if approve:
            _can_take(service._fresh_shift(offer.shift_id), taker, offer)
            _transfer(actor, offer, taker, now)
            offer.status = TradeStatus.TAKEN
        else:
            offer.status = TradeStatus.OPEN
            offer.taker_id = None
            offer.taken_at = None
        db.session.flush()
        trade_notices.trade_decided(offer, offer.shift, offer.from_user, taker, approve)
        record(actor, "trade.approve" if approve else "trade.decline", "trade_offer", offer.id, taker_id=taker.id)
        return offer

    return service.in_transaction(work)


def withdraw_trade(actor: User, offer_id: int) -> TradeOffer:
    def work():
        offer = _offer(offer_id)
        if offer.from_user_id != actor.id:
            raise service.forbidden(_("Only the person who offered the shift can withdraw it."))
        service.lock_users(actor.id)
        offer = _offer(offer_id)
        if offer.status not in (TradeStatus.OPEN, TradeStatus.PENDING):
            raise RuleViolation(_("This offer is closed."), "trade_closed")
        offer.status = TradeStatus.WITHDRAWN
        offer.decided_at = utcnow()
        record(actor, "trade.withdraw", "trade_offer", offer.id)
        return offer

    return service.in_transaction(work)


def set_approval(actor: User, team_id: int, required: bool) -> PatrolTeam:
    def work():
        if not service.can_manage_team(actor, team_id):
            raise service.forbidden()
        team = db.session.get(PatrolTeam, team_id)
        team.trade_approval_required = required
        record(actor, "trade.approval_setting", "patrol_team", team.id, required=required)
        return team

    return service.in_transaction(work)


def board(actor: User, team: PatrolTeam, page: int, per_page: int = 20) -> tuple[list[TradeOffer], Page]:
    """Open and pending offers of a team's coming shifts (members and the team's coordinators)."""
    if not (service.is_member(actor.id, team.id) or service.can_manage_team(actor, team.id)):
        raise service.forbidden(_("This is another team's trade board."))
    query = (
        sa.select(TradeOffer)
        .join(Shift, Shift.id == TradeOffer.shift_id)
        .where(
            TradeOffer.team_id == team.id,
            TradeOffer.status.in_([TradeStatus.OPEN, TradeStatus.PENDING]),
            Shift.starts_at > utcnow(),
        )
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    pager = Page.clamped(page, per_page, total)
    offers = list(
        db.session.scalars(
            query.options(
                orm.contains_eager(TradeOffer.shift),
                orm.joinedload(TradeOffer.from_user),
                orm.joinedload(TradeOffer.taker),
            )
            .order_by(Shift.starts_at, TradeOffer.id)
            .limit(per_page)
            .offset(pager.offset)
        )
    )
    return offers, pager
