"""Who is on which patrol shift: every rule in one place, every change in one transaction.

Each public function commits its own transaction and rolls it back when a rule says no, so
callers (pages, the JSON API, the CLI) get either the whole change or none of it, plus a
RuleViolation whose message a person can read.

Concurrency (PostgreSQL, READ COMMITTED, several web workers):
- a volunteer's bookings are serialised by locking their User row (SELECT ... FOR UPDATE),
  so two requests cannot both find "no overlap" and both book;
- a shift's maximum is kept by one atomic `UPDATE ... SET assigned_count = assigned_count + 1
  WHERE assigned_count < max_volunteers`, backed by the CHECK constraint on the table;
- locks are always taken in the order users (by id), assignment, shift, so no deadlock cycle.
SQLite has one writer at a time; the first statement of each change is a write, which takes
the write lock at once (BEGIN IMMEDIATE semantics) instead of failing on a lock upgrade.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import orm
from sqlalchemy.exc import IntegrityError

from models import (
    ACTIVE_TRADE,
    Assignment,
    AssignmentStatus,
    Attendance,
    MembershipRole,
    PatrolTeam,
    Qualification,
    Role,
    Shift,
    ShiftStatus,
    SwapRequest,
    SwapStatus,
    TeamMembership,
    TemplateRequirement,
    TradeOffer,
    TradeStatus,
    Unavailability,
    User,
    VolunteerQualification,
    db,
    record,
    utcnow,
)
from timeutil import to_local

from . import notify, notify_events, transactions, waitlist
from .errors import RuleViolation

T = TypeVar("T")


# --- permissions -----------------------------------------------------------------------------


def coordinated_teams(user) -> sa.Select:
    """The teams a user coordinates: every team for an admin, their own for anyone else.

    The one definition; callers add their own filters (active teams, one team) and order.
    """
    query = sa.select(PatrolTeam)
    if user.role is not Role.ADMIN:
        query = query.where(
            PatrolTeam.id.in_(
                sa.select(TeamMembership.team_id).where(
                    TeamMembership.user_id == user.id, TeamMembership.role == MembershipRole.COORDINATOR
                )
            )
        )
    return query


def can_manage_team(user, team_id: int) -> bool:
    """Admins manage every team; a coordinator only the teams they coordinate."""
    if user is None or not getattr(user, "is_authenticated", True) or not user.active:
        return False
    if user.role is not Role.ADMIN and user.role is not Role.COORDINATOR:
        return False
    return (
        db.session.scalar(coordinated_teams(user).where(PatrolTeam.id == team_id).with_only_columns(PatrolTeam.id))
        is not None
    )


def is_member(user_id: int, team_id: int) -> bool:
    """Whether someone belongs to a team (as member or coordinator)."""
    return (
        db.session.scalar(
            sa.select(TeamMembership.id).where(TeamMembership.team_id == team_id, TeamMembership.user_id == user_id)
        )
        is not None
    )


def forbidden(message: str | None = None) -> RuleViolation:
    return RuleViolation(message or _("You may not change this team's roster."), "forbidden", 403)


def not_found(message: str) -> RuleViolation:
    return RuleViolation(message, "not_found", 404)


# --- labels for messages ---------------------------------------------------------------------


def hhmm(value: dt.datetime) -> str:
    return to_local(value).strftime("%H:%M")


def shift_times(shift) -> str:
    return f"{hhmm(shift.starts_at)}–{hhmm(shift.ends_at)}"


def _team_label(team: PatrolTeam) -> str:
    return f"{team.name} ({team.code})"


def _date_label(day: dt.date) -> str:
    return format_date(day, "medium")


def _name(user: User) -> str:
    return user.display_name


# --- transactions and locks ------------------------------------------------------------------


def in_transaction(work: Callable[[], T]) -> T:
    """Run `work` as one unit of work (services/transactions.py), naming the roster's races."""
    return transactions.in_transaction(work, _integrity_violation)


def _integrity_violation(exc: IntegrityError) -> RuleViolation:
    """The database refused what the checks above should already have caught (a race): say why."""
    text = str(exc.orig).lower()
    if "assigned_within_capacity" in text or "check constraint" in text and "assigned_count" in text:
        return RuleViolation(_("This shift is already full."), "shift_full")
    if "uq_assignments_active_shift_volunteer" in text or "unique" in text:
        return RuleViolation(_("This volunteer is already on this shift."), "already_assigned")
    return RuleViolation(_("The change conflicts with other data; please reload and try again."), "conflict")


def lock_users(*user_ids: int) -> None:
    """Serialise everything that books these people, until the transaction ends."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update())
    else:
        # SQLite: a write takes the database's single write lock for the rest of the transaction.
        # (A non-key column: rewriting the key would make SQLite check every foreign key to users.)
        db.session.execute(
            sa.text("UPDATE users SET active = active WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        )


def _touch_shift(shift_id: int, delta: int = 0, *, from_held: bool = False) -> bool:
    """Bump the shift's SEQUENCE and LAST-MODIFIED (calendar feeds follow them) and its count.

    With delta=+1 the update only happens while there is a free place: that single statement
    is what keeps the maximum under concurrent sign-ups. With `from_held` the place booked is one
    held for a waiting-list offer: the same statement moves it from held to assigned (the total
    does not change, so no capacity can fail; it only needs the hold to exist).
    """
    table = Shift.__table__
    values = dict(
        sequence=table.c.sequence + 1,
        last_modified=utcnow(),
        assigned_count=table.c.assigned_count + delta,
    )
    stmt = sa.update(table).where(table.c.id == shift_id)
    if from_held:
        values["held_count"] = table.c.held_count - delta
        stmt = stmt.where(table.c.held_count >= delta)
    elif delta > 0:
        # Places held for waiting-list offers (services/waitlist.py) are not free for anyone else.
        stmt = stmt.where(
            table.c.assigned_count + table.c.held_count + delta <= table.c.max_volunteers,
            table.c.status == ShiftStatus.SCHEDULED.value,
        )
    # The new values come back with the UPDATE (and its onupdate stamps): a loaded shift is brought
    # up to date in place, instead of expired and read again by whoever looks at it next.
    changed = [column for column in table.c if column.name in values or column.onupdate is not None]
    row = db.session.execute(stmt.values(**values).returning(*changed)).first()
    if row is None:
        return False
    shift = db.session.identity_map.get(db.session.identity_key(Shift, shift_id))
    if shift is not None:
        mapper = sa.inspect(Shift)
        for column, value in zip(changed, row, strict=True):
            orm.attributes.set_committed_value(shift, mapper.get_property_by_column(column).key, value)
    return True


def _fresh_shift(shift_id: int, *, with_team: bool = False) -> Shift:
    """The shift as the database has it now; `with_team` loads its team in the same statement."""
    options = [orm.joinedload(Shift.team)] if with_team else None
    shift = db.session.get(Shift, shift_id, populate_existing=True, options=options)
    if shift is None:
        raise not_found(_("This shift does not exist."))
    return shift


def _fresh_assignment(assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id, populate_existing=True)
    if assignment is None:
        raise not_found(_("This assignment does not exist."))
    return assignment


def _volunteer(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise not_found(_("This person does not exist."))
    return user


# --- the booking rules -----------------------------------------------------------------------


def overlapping_assignment(
    volunteer_id: int, starts_at: dt.datetime, ends_at: dt.datetime, exclude_assignment_id: int | None = None
) -> Assignment | None:
    """An active assignment of this volunteer that overlaps the span, in any team."""
    query = (
        sa.select(Assignment)
        .where(
            Assignment.volunteer_id == volunteer_id,
            Assignment.status == AssignmentStatus.ASSIGNED,
            Assignment.starts_at < ends_at,
            Assignment.ends_at > starts_at,
        )
        .order_by(Assignment.starts_at)
        .limit(1)
        # The refusal names the other shift and its team: loaded with it, not by two more queries.
        .options(orm.joinedload(Assignment.shift).joinedload(Shift.team))
    )
    if exclude_assignment_id is not None:
        query = query.where(Assignment.id != exclude_assignment_id)
    return db.session.scalar(query)


def week_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and the next Monday of the (local) week a date is in."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=7)


def hours_in_week(volunteer_id: int, day: dt.date) -> float:
    """Hours of active assignments whose shift falls in the week of `day` (by the shift's date)."""
    monday, next_monday = week_bounds(day)
    rows = db.session.execute(
        sa.select(Assignment.starts_at, Assignment.ends_at)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(
            Assignment.volunteer_id == volunteer_id,
            Assignment.status == AssignmentStatus.ASSIGNED,
            Shift.local_date >= monday,
            Shift.local_date < next_monday,
        )
    ).all()
    return sum((end - start).total_seconds() for start, end in rows) / 3600


def unavailable_reason(volunteer: User, day: dt.date) -> str | None:
    """Why this volunteer said they cannot do this date, or None."""
    rows = db.session.scalars(
        sa.select(Unavailability).where(
            Unavailability.user_id == volunteer.id,
            sa.or_(Unavailability.weekday == day.weekday(), Unavailability.day == day),
        )
    ).all()
    if not rows:
        return None
    row = rows[0]
    if row.day is not None:
        return _("%(name)s said they cannot do %(date)s.", name=_name(volunteer), date=_date_label(day))
    return _("%(name)s said they cannot do %(weekday)s.", name=_name(volunteer), weekday=format_date(day, "EEEE"))


def _check_bookable(
    shift: Shift,
    volunteer: User,
    *,
    self_service: bool,
    exclude_assignment_id: int | None = None,
    from_held: bool = False,
    transfer: bool = False,
    leaving_id: int | None = None,
) -> None:
    """Every rule a new booking must pass, in this order; raises the first one it breaks.

    How the place is taken matters only to the qualification rule (`_check_qualifications`): a
    free place (default), the place held for this person by a waiting-list offer (`from_held`),
    or a place handed over by a teammate in a swap or trade (`transfer`; `leaving_id` names the
    giver while they are still on the shift).
    """
    if self_service:
        # First: a volunteer learns nothing about another team's shift, not even that it is cancelled.
        _check_membership(shift, volunteer, self_service)
    _check_shift_open(shift, self_service)
    if not volunteer.active:
        raise RuleViolation(_("%(name)s's account is deactivated.", name=_name(volunteer)), "inactive")
    if not self_service:
        _check_membership(shift, volunteer, self_service)
    _check_no_overlap(shift, volunteer, exclude_assignment_id)
    if not self_service:
        reason = unavailable_reason(volunteer, shift.local_date)
        if reason:
            raise RuleViolation(reason, "unavailable")
    _check_weekly_limit(shift, volunteer)
    _check_qualifications(shift, volunteer, from_held=from_held, transfer=transfer, leaving_id=leaving_id)


def holds_qualification(expires_on: dt.date | None, day: dt.date) -> bool:
    """A held qualification counts on a day up to its expiry date, inclusive (None: no expiry)."""
    return expires_on is None or day <= expires_on


def _check_qualifications(
    shift: Shift, volunteer: User, *, from_held: bool, transfer: bool, leaving_id: int | None
) -> None:
    """The last places of a shift are kept for the qualification holders it still needs.

    The rule (one per requirement of the shift's template, "at least k holders of Q"): booking
    someone who does not hold Q valid on the shift's date (`VolunteerQualification.expires_on`,
    inclusive) is refused when, after the booking,

        holders still needed  =  k - holders of Q (valid that day) on the shift
        places still left     =  max - assigned - held for waiting-list offers

    and holders still needed > places still left: the booking would make the requirement
    impossible to meet. Equivalently, until k holders are on it, non-holders fill at most
    max - held - k places, whatever the order of the bookings (so a plan that respects this in
    its final state can be published in any order). Holders are never refused by this rule.
    The same rule for every path that books: assign (and bulk assign, copy, planner publish),
    sign-up, swap, trade take, waiting-list offer and acceptance. A place converted from a hold
    (`from_held`) does not change the places left; a handed-over place (`transfer`) neither, but
    the giver's qualification leaves with them. When the shift has no free place at all the
    capacity check says "full" instead.
    """
    if shift.template_id is None:
        return
    requirements = db.session.execute(
        sa.select(TemplateRequirement.qualification_id, TemplateRequirement.count, Qualification)
        .join(Qualification, Qualification.id == TemplateRequirement.qualification_id)
        .where(TemplateRequirement.template_id == shift.template_id)
        .order_by(Qualification.code)
    ).all()
    if not requirements:
        return
    if not from_held and not transfer and shift.max_volunteers - shift.assigned_count - shift.held_count <= 0:
        return  # no place to take: the capacity check refuses it as full
    on = set(
        db.session.scalars(
            sa.select(Assignment.volunteer_id).where(
                Assignment.shift_id == shift.id, Assignment.status == AssignmentStatus.ASSIGNED
            )
        )
    )
    on.discard(leaving_id)
    held = {
        (user_id, qualification_id): expires_on
        for user_id, qualification_id, expires_on in db.session.execute(
            sa.select(
                VolunteerQualification.user_id,
                VolunteerQualification.qualification_id,
                VolunteerQualification.expires_on,
            ).where(
                VolunteerQualification.user_id.in_(on | {volunteer.id}),
                VolunteerQualification.qualification_id.in_([q for q, _count, _row in requirements]),
            )
        )
    }
    day = shift.local_date
    assigned_after = shift.assigned_count + (0 if transfer else 1)
    held_after = shift.held_count - (1 if from_held else 0)
    places_left = shift.max_volunteers - assigned_after - held_after
    for qualification_id, count, qualification in requirements:
        key = (volunteer.id, qualification_id)
        if key in held and holds_qualification(held[key], day):
            continue
        have = sum(
            1 for v in on if (v, qualification_id) in held and holds_qualification(held[(v, qualification_id)], day)
        )
        if count - have > places_left:
            raise RuleViolation(
                _(
                    "This shift needs %(count)s volunteers holding “%(qualification)s” and has %(have)s; "
                    "its remaining places are kept for them, and %(name)s does not hold it on %(date)s.",
                    count=count,
                    qualification=qualification.name,
                    have=have,
                    name=_name(volunteer),
                    date=_date_label(day),
                ),
                "qualification_required",
            )


def _check_shift_open(shift: Shift, self_service: bool) -> None:
    now = utcnow()
    if shift.status is not ShiftStatus.SCHEDULED:
        raise RuleViolation(_("This shift has been cancelled."), "shift_cancelled")
    if self_service and shift.starts_at <= now:
        raise RuleViolation(_("This shift has already started."), "shift_started")
    if shift.ends_at <= now:
        raise RuleViolation(_("This shift is over."), "shift_over")


def _check_membership(shift: Shift, volunteer: User, self_service: bool) -> None:
    if is_member(volunteer.id, shift.team_id):
        return
    if self_service:
        raise forbidden(_("You can only sign up for shifts of your own teams."))
    raise RuleViolation(
        _("%(name)s is not a member of %(team)s.", name=_name(volunteer), team=_team_label(shift.team)),
        "not_member",
    )


def _check_no_overlap(shift: Shift, volunteer: User, exclude_assignment_id: int | None) -> None:
    other = overlapping_assignment(volunteer.id, shift.starts_at, shift.ends_at, exclude_assignment_id)
    if other is None:
        return
    if other.shift_id == shift.id:
        raise RuleViolation(_("%(name)s is already on this shift.", name=_name(volunteer)), "already_assigned")
    raise RuleViolation(
        _(
            "%(name)s is already on the %(times)s shift of %(team)s on %(date)s.",
            name=_name(volunteer),
            times=shift_times(other.shift),
            team=_team_label(other.shift.team),
            date=_date_label(other.shift.local_date),
        ),
        "overlap",
    )


def _check_weekly_limit(shift: Shift, volunteer: User) -> None:
    limit = volunteer.weekly_hours_limit
    if limit is None:
        return
    hours = hours_in_week(volunteer.id, shift.local_date) + shift.duration.total_seconds() / 3600
    if hours > limit:
        raise RuleViolation(
            _(
                "%(name)s would have %(hours)s hours in the week of %(date)s, above the limit of %(limit)s hours.",
                name=_name(volunteer),
                hours=f"{hours:g}",
                limit=limit,
                date=_date_label(week_bounds(shift.local_date)[0]),
            ),
            "weekly_limit",
        )


def _book(
    actor: User,
    shift_id: int,
    volunteer_id: int,
    *,
    self_service: bool,
    from_held: bool = False,
    transfer: bool = False,
    assigned_by_id: int | None = None,
    announce: bool = True,
    locked: bool = False,
) -> Assignment:
    """Create the Assignment of a booking, every rule checked (`_check_bookable`) under the lock.

    The one place an Assignment is created. Which place it takes:
    - a free place (default): the count goes up only while one is free (`_touch_shift`);
    - `from_held`: the place a waiting-list offer held for this person (services/trades.answer_offer)
      becomes theirs: held_count down and assigned_count up in the same statement;
    - `transfer`: a teammate's place handed over (swap accept, trade take); the caller has already
      ended the giver's assignment, so the head count stays.
    `announce` records the booking and tells the volunteer; swap, trade and waiting-list callers
    record and notify in their own terms instead. `locked`: the caller already holds the people's
    locks (`lock_users`, all of them at once, in id order).
    """
    if not locked:
        lock_users(volunteer_id)
    shift = _fresh_shift(shift_id, with_team=True)  # the notice names the team: no second SELECT for it
    volunteer = _volunteer(volunteer_id)
    _check_bookable(shift, volunteer, self_service=self_service, from_held=from_held, transfer=transfer)
    # The SEQUENCE the UPDATE below gives the shift.
    context = (
        notify_events.shift_context(shift, sequence=(shift.sequence or 0) + 1)
        if announce and notify.enabled()
        else None
    )
    if not _touch_shift(shift_id, 0 if transfer else +1, from_held=from_held):
        shift = _fresh_shift(shift_id)
        if from_held:
            raise RuleViolation(_("There is no place offered to you on this shift."), "no_offer")
        if shift.held_count and shift.assigned_count < shift.max_volunteers:
            raise RuleViolation(
                _("The free place on this shift is held for the next person on its waiting list."), "place_held"
            )
        raise RuleViolation(
            _("This shift is full: all %(max)s places are taken.", max=shift.max_volunteers), "shift_full"
        )
    assignment = Assignment(
        shift_id=shift_id,
        volunteer_id=volunteer.id,
        starts_at=shift.starts_at,  # the shift stays loaded: _touch_shift updates it in place
        ends_at=shift.ends_at,
        assigned_by_id=actor.id if assigned_by_id is None else assigned_by_id,
    )
    db.session.add(assignment)
    db.session.flush()
    # The loaded shift goes with the assignment: the session holds it only weakly, so the caller
    # reading `assignment.shift` would otherwise read it again.
    orm.attributes.set_committed_value(assignment, "shift", shift)
    if not announce:
        return assignment
    record(
        actor,
        "assignment.signup" if self_service else "assignment.assign",
        "assignment",
        assignment.id,
        shift_id=shift_id,
        team_id=shift.team_id,
        volunteer_id=volunteer.id,
    )
    notify_events.shift_assigned(assignment, shift, volunteer, self_service=self_service, context=context)
    return assignment


# --- the interface ---------------------------------------------------------------------------


def assign(actor: User, shift_id: int, volunteer_id: int) -> Assignment:
    """A coordinator (of the shift's team) or an admin puts a volunteer on a shift."""

    def work():
        # Only the team, to check the right before anything is locked; _book reads the whole shift.
        team_id = db.session.scalar(sa.select(Shift.team_id).where(Shift.id == shift_id))
        if team_id is None:
            raise not_found(_("This shift does not exist."))
        if not can_manage_team(actor, team_id):
            raise forbidden()
        return _book(actor, shift_id, volunteer_id, self_service=False)

    return in_transaction(work)


def sign_up(volunteer: User, shift_id: int) -> Assignment:
    """A volunteer takes an open place on a shift of one of their own teams."""

    def work():
        # _book answers 404 for no such shift and 403 for another team's (before any other rule).
        return _book(volunteer, shift_id, volunteer.id, self_service=True)

    return in_transaction(work)


def drop_cutoff() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config.get("DROP_CUTOFF_HOURS", 24))


def can_still_drop(assignment: Assignment, now: dt.datetime | None = None) -> bool:
    return (now or utcnow()) < assignment.starts_at - drop_cutoff()


def _end(actor: User, assignment_id: int, status: AssignmentStatus, action: str) -> Assignment:
    """Take a volunteer off a shift (already checked allowed): one place frees up."""
    table = Assignment.__table__
    result = db.session.execute(
        sa.update(table)
        .where(table.c.id == assignment_id, table.c.status == AssignmentStatus.ASSIGNED.value)
        .values(status=status.value, updated_at=utcnow())
    )
    if result.rowcount != 1:
        raise RuleViolation(_("This assignment has already ended."), "not_active")
    assignment = _fresh_assignment(assignment_id)
    _touch_shift(assignment.shift_id, -1)
    _assignment_ended(assignment_id, assignment.shift_id, freed=True)
    notify_events.shift_removed(
        assignment, _fresh_shift(assignment.shift_id), assignment.volunteer, dropped=status is AssignmentStatus.DROPPED
    )
    record(
        actor,
        action,
        "assignment",
        assignment.id,
        shift_id=assignment.shift_id,
        team_id=assignment.shift.team_id,
        volunteer_id=assignment.volunteer_id,
    )
    return assignment


def drop(actor: User, assignment_id: int) -> Assignment:
    """A volunteer drops their own shift, until the cut-off before it starts."""

    def work():
        assignment = db.session.get(Assignment, assignment_id)
        if assignment is None:
            raise not_found(_("This assignment does not exist."))
        if assignment.volunteer_id != actor.id:
            raise forbidden(_("You can only drop your own shifts."))
        lock_users(actor.id)
        assignment = _fresh_assignment(assignment_id)
        if assignment.status is not AssignmentStatus.ASSIGNED:
            raise RuleViolation(_("This assignment has already ended."), "not_active")
        if not can_still_drop(assignment):
            hours = int(drop_cutoff().total_seconds() // 3600)
            raise RuleViolation(
                _(
                    "Shifts can be dropped until %(hours)s hours before they start. "
                    "Ask a teammate to swap, or ask your coordinator.",
                    hours=hours,
                ),
                "drop_cutoff",
            )
        return _end(actor, assignment_id, AssignmentStatus.DROPPED, "assignment.drop")

    return in_transaction(work)


def unassign(actor: User, assignment_id: int) -> Assignment:
    """A coordinator or admin takes a volunteer off a shift that has not ended."""

    def work():
        assignment = db.session.get(Assignment, assignment_id)
        if assignment is None:
            raise not_found(_("This assignment does not exist."))
        if not can_manage_team(actor, assignment.shift.team_id):
            raise forbidden()
        lock_users(assignment.volunteer_id)
        assignment = _fresh_assignment(assignment_id)
        if assignment.shift.ends_at <= utcnow():
            raise RuleViolation(_("This shift is over: record attendance instead."), "shift_over")
        return _end(actor, assignment_id, AssignmentStatus.REMOVED, "assignment.unassign")

    return in_transaction(work)


def _assignment_ended(assignment_id: int, shift_id: int, *, freed: bool) -> None:
    """The one hook for every path that ends an assignment (drop, removal: freed; swap or trade: not).

    Pending swaps and open trade offers of it are void; a freed place goes to the waiting list.
    """
    _cancel_pending_swaps(assignment_id)
    cancel_trade_offers(assignment_id)
    if freed:
        waitlist.offer_free_places(shift_id, lambda shift, user: _check_bookable(shift, user, self_service=True))


def cancel_trade_offers(assignment_id: int) -> None:
    table = TradeOffer.__table__
    db.session.execute(
        sa.update(table)
        .where(table.c.assignment_id == assignment_id, table.c.status.in_([s.value for s in ACTIVE_TRADE]))
        .values(status=TradeStatus.CANCELLED.value, decided_at=utcnow(), updated_at=utcnow())
    )


def _cancel_pending_swaps(assignment_id: int) -> None:
    table = SwapRequest.__table__
    db.session.execute(
        sa.update(table)
        .where(table.c.assignment_id == assignment_id, table.c.status == SwapStatus.PENDING.value)
        .values(status=SwapStatus.CANCELLED.value, decided_at=utcnow(), updated_at=utcnow())
    )


def request_swap(actor: User, assignment_id: int, to_user_id: int) -> SwapRequest:
    """Ask a named teammate to take over one of my shifts; nothing moves until they accept."""

    def work():
        assignment = db.session.get(Assignment, assignment_id)
        if assignment is None:
            raise not_found(_("This assignment does not exist."))
        if assignment.volunteer_id != actor.id:
            raise forbidden(_("You can only offer your own shifts."))
        if to_user_id == actor.id:
            raise RuleViolation(_("Choose a teammate other than yourself."), "same_person")
        lock_users(actor.id)
        assignment = _fresh_assignment(assignment_id)
        if assignment.status is not AssignmentStatus.ASSIGNED:
            raise RuleViolation(_("This assignment has already ended."), "not_active")
        shift = assignment.shift
        if shift.starts_at <= utcnow():
            raise RuleViolation(_("This shift has already started."), "shift_started")
        to_user = _volunteer(to_user_id)
        if not to_user.active or not is_member(to_user.id, shift.team_id):
            raise RuleViolation(
                _("%(name)s is not a member of %(team)s.", name=_name(to_user), team=_team_label(shift.team)),
                "not_member",
            )
        pending = db.session.scalar(
            sa.select(SwapRequest).where(
                SwapRequest.assignment_id == assignment.id, SwapRequest.status == SwapStatus.PENDING
            )
        )
        if pending is not None:
            raise RuleViolation(
                _(
                    "You have already asked %(name)s to take this shift; cancel that request first.",
                    name=_name(pending.to_user),
                ),
                "swap_pending",
            )
        # Checked now so the request is not pointless; checked again, under lock, on acceptance.
        _check_bookable(shift, to_user, self_service=True, transfer=True, leaving_id=actor.id)
        swap = SwapRequest(assignment_id=assignment.id, from_user_id=actor.id, to_user_id=to_user.id)
        db.session.add(swap)
        db.session.flush()
        record(
            actor,
            "swap.request",
            "swap_request",
            swap.id,
            assignment_id=assignment.id,
            shift_id=shift.id,
            team_id=shift.team_id,
            to_user_id=to_user.id,
        )
        notify_events.swap_requested(swap, shift, actor, to_user)
        return swap

    return in_transaction(work)


def cancel_swap(actor: User, swap_id: int) -> SwapRequest:
    """The asker withdraws a request that has not been answered."""

    def work():
        swap = db.session.get(SwapRequest, swap_id, populate_existing=True)
        if swap is None:
            raise not_found(_("This swap request does not exist."))
        if swap.from_user_id != actor.id:
            raise forbidden(_("Only the person who asked can cancel this request."))
        if swap.status is not SwapStatus.PENDING:
            raise RuleViolation(_("This swap request has already been answered."), "swap_answered")
        swap.status = SwapStatus.CANCELLED
        swap.decided_at = utcnow()
        record(actor, "swap.cancel", "swap_request", swap.id, assignment_id=swap.assignment_id)
        return swap

    return in_transaction(work)


def answer_swap(actor: User, swap_id: int, accept: bool) -> SwapRequest:
    """The named teammate accepts (the shift moves to them) or declines. Both move, or neither."""

    def work():
        swap = db.session.get(SwapRequest, swap_id)
        if swap is None:
            raise not_found(_("This swap request does not exist."))
        if swap.to_user_id != actor.id:
            raise forbidden(_("This swap request was sent to someone else."))
        lock_users(swap.from_user_id, swap.to_user_id)
        swap = db.session.get(SwapRequest, swap_id, populate_existing=True)
        if swap.status is not SwapStatus.PENDING:
            raise RuleViolation(_("This swap request has already been answered."), "swap_answered")
        swap.decided_at = utcnow()
        if not accept:
            swap.status = SwapStatus.DECLINED
            record(actor, "swap.decline", "swap_request", swap.id, assignment_id=swap.assignment_id)
            notify_events.swap_answered(swap, swap.assignment.shift, swap.from_user, actor, accepted=False)
            return swap
        old = _fresh_assignment(swap.assignment_id)
        if old.status is not AssignmentStatus.ASSIGNED or old.volunteer_id != swap.from_user_id:
            raise RuleViolation(
                _("This shift is no longer %(name)s's to give.", name=_name(swap.from_user)), "not_active"
            )
        _check_bookable(
            _fresh_shift(old.shift_id), actor, self_service=True, transfer=True, leaving_id=swap.from_user_id
        )
        table = Assignment.__table__
        moved = db.session.execute(
            sa.update(table)
            .where(table.c.id == old.id, table.c.status == AssignmentStatus.ASSIGNED.value)
            .values(status=AssignmentStatus.SWAPPED.value, updated_at=utcnow())
        )
        if moved.rowcount != 1:
            raise RuleViolation(
                _("This shift is no longer %(name)s's to give.", name=_name(swap.from_user)), "not_active"
            )
        # Same head count, different person; every rule of a sign-up (any refusal rolls the move back).
        new = _book(
            actor,
            old.shift_id,
            actor.id,
            self_service=True,
            transfer=True,
            assigned_by_id=swap.from_user_id,
            announce=False,
            locked=True,
        )
        shift = _fresh_shift(old.shift_id)
        swap.status = SwapStatus.ACCEPTED
        cancel_trade_offers(old.id)
        db.session.flush()
        record(
            actor,
            "swap.accept",
            "swap_request",
            swap.id,
            assignment_id=old.id,
            new_assignment_id=new.id,
            shift_id=shift.id,
            team_id=shift.team_id,
            from_user_id=swap.from_user_id,
            to_user_id=actor.id,
        )
        notify_events.swap_answered(
            swap, _fresh_shift(shift.id), swap.from_user, actor, accepted=True, new_assignment=new
        )
        return swap

    return in_transaction(work)


def mark_attendance(actor: User, assignment_id: int, present: bool) -> Assignment:
    """After a shift has started, the coordinator records present (hours credited) or no-show."""

    def work():
        assignment = db.session.get(Assignment, assignment_id)
        if assignment is None:
            raise not_found(_("This assignment does not exist."))
        if not can_manage_team(actor, assignment.shift.team_id):
            raise forbidden()
        assignment = _fresh_assignment(assignment_id)
        if assignment.status is not AssignmentStatus.ASSIGNED:
            raise RuleViolation(_("This volunteer is no longer on this shift."), "not_active")
        if assignment.starts_at > utcnow():
            raise RuleViolation(_("Attendance can be recorded once the shift has started."), "not_started")
        # A real check-in (services/checkin.py) counts from its time; a tick alone, the whole shift.
        # The tick is not a check-in time: after the start it would read as "late".
        start = max(assignment.checked_in_at or assignment.starts_at, assignment.starts_at)
        hours = Decimal(max(0, int((assignment.ends_at - start).total_seconds()))) / Decimal(3600)
        assignment.attendance = Attendance.PRESENT if present else Attendance.NO_SHOW
        assignment.hours_credited = hours.quantize(Decimal("0.01")) if present else Decimal(0)
        if not present:
            assignment.checked_in_at = None
        _touch_shift(assignment.shift_id, 0)
        record(
            actor,
            "assignment.attendance",
            "assignment",
            assignment.id,
            shift_id=assignment.shift_id,
            volunteer_id=assignment.volunteer_id,
            attendance=assignment.attendance.value,
            hours=str(assignment.hours_credited),
        )
        return assignment

    return in_transaction(work)
