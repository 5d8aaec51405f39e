"""Check-in at the start of a patrol: codes, the window, who may check whom in, and what follows.

- Each shift has a check-in code, and each person a personal code: HMACs of the shift's uid / the
  user's id under SECRET_KEY. Unguessable, stable, and shown without writing anything (no writes
  on GET); changing SECRET_KEY changes every code.
- The window: from CHECKIN_OPENS_MINUTES (default 30) before the start to the shift's end.
- Late (checked in after start + CHECKIN_GRACE_MINUTES, default 10) and no-show (not checked in
  by the end) are derived from the times, never stored, so they cannot disagree with them.
- Hours from real times: a check-in credits from max(check-in, start) to the scheduled end (there
  is no check-out; the end is when the patrol is stood down). Hours tallies sum `hours_credited`.
- Who: the assigned volunteer themself (with the shift's code), or the team's leader or
  coordinator (with the volunteer's personal code, or from the check-in page).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from models import (
    Assignment,
    AssignmentStatus,
    Attendance,
    MembershipRole,
    Role,
    Shift,
    ShiftStatus,
    TeamMembership,
    User,
    db,
    record,
    utcnow,
)

from .assignments import can_manage_team, forbidden, in_transaction, not_found
from .errors import RuleViolation

CODE_LENGTH = 22  # 22 hex digits = 88 bits


def _mac(kind: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"checkin:{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:CODE_LENGTH]


def shift_code(shift: Shift) -> str:
    return _mac("shift", shift.uid)


def person_code(user_id: int) -> str:
    return _mac("person", str(user_id))


def valid_shift_code(shift: Shift, code: str) -> bool:
    return _same(code, shift_code(shift))


def valid_person_code(user_id: int, code: str) -> bool:
    return _same(code, person_code(user_id))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest((given or "").encode(), expected.encode())


# --- the window and derived states ------------------------------------------------------------


def opens_before() -> dt.timedelta:
    return dt.timedelta(minutes=int(current_app.config.get("CHECKIN_OPENS_MINUTES", 30)))


def grace() -> dt.timedelta:
    return dt.timedelta(minutes=int(current_app.config.get("CHECKIN_GRACE_MINUTES", 10)))


def window(shift: Shift) -> tuple[dt.datetime, dt.datetime]:
    """When a check-in is accepted: [start - opens_before, end)."""
    return shift.starts_at - opens_before(), shift.ends_at


def _check_window(shift: Shift, now: dt.datetime) -> None:
    opens, closes = window(shift)
    if now < opens:
        minutes = int(opens_before().total_seconds() // 60)
        raise RuleViolation(
            _("Check-in opens %(minutes)s minutes before the start.", minutes=minutes), "too_early", 409
        )
    if now >= closes:
        raise RuleViolation(_("This shift is over: check-in is closed."), "too_late", 409)


class State:
    CHECKED_IN = "checked_in"
    LATE = "late"
    NO_SHOW = "no_show"
    WAITING = "waiting"  # not checked in yet, the shift not over


def state(assignment: Assignment, now: dt.datetime | None = None) -> str:
    """On time, late, no-show or still waiting, derived from the times (and a coordinator's mark)."""
    now = now or utcnow()
    if assignment.checked_in_at is not None:
        if assignment.checked_in_at > assignment.starts_at + grace():
            return State.LATE
        return State.CHECKED_IN
    if assignment.attendance is Attendance.PRESENT:
        return State.CHECKED_IN
    if assignment.attendance is Attendance.NO_SHOW or now >= assignment.ends_at:
        return State.NO_SHOW
    return State.WAITING


def real_hours(assignment: Assignment, checked_in_at: dt.datetime) -> Decimal:
    start = max(checked_in_at, assignment.starts_at)
    seconds = max(0, int((assignment.ends_at - start).total_seconds()))
    return (Decimal(seconds) / Decimal(3600)).quantize(Decimal("0.01"))


# --- who may --------------------------------------------------------------------------------


def leads_team(user, team_id: int) -> bool:
    """The team's leaders and its coordinators (admins too) run check-in."""
    if user is None or not getattr(user, "is_authenticated", True) or not user.active:
        return False
    if can_manage_team(user, team_id):
        return True
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True)).where(
                TeamMembership.team_id == team_id,
                TeamMembership.user_id == user.id,
                TeamMembership.is_leader.is_(True),
            )
        )
    )


def led_team_ids(user) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(TeamMembership.team_id).where(
                TeamMembership.user_id == user.id,
                sa.or_(TeamMembership.is_leader.is_(True), TeamMembership.role == MembershipRole.COORDINATOR),
            )
        )
    )


# --- changes --------------------------------------------------------------------------------


def _active_assignment(shift_id: int, volunteer_id: int, lock: bool = True) -> Assignment | None:
    query = sa.select(Assignment).where(
        Assignment.shift_id == shift_id,
        Assignment.volunteer_id == volunteer_id,
        Assignment.status == AssignmentStatus.ASSIGNED,
    )
    if lock:
        query = query.with_for_update()
    return db.session.scalars(query.execution_options(populate_existing=True)).first()


def _check_in(actor: User, assignment: Assignment, now: dt.datetime, how: str) -> Assignment:
    if assignment.checked_in_at is not None:
        return assignment  # a second scan changes nothing
    _check_window(assignment.shift, now)
    assignment.checked_in_at = now
    assignment.attendance = Attendance.PRESENT
    assignment.hours_credited = real_hours(assignment, now)
    db.session.flush()
    record(
        actor,
        "assignment.check_in",
        "assignment",
        assignment.id,
        shift_id=assignment.shift_id,
        volunteer_id=assignment.volunteer_id,
        how=how,
        hours=str(assignment.hours_credited),
    )
    return assignment


def _shift_or_404(shift_id: int) -> Shift:
    shift = db.session.get(Shift, shift_id)
    if shift is None or shift.status is not ShiftStatus.SCHEDULED:
        raise not_found(_("This shift does not exist."))
    return shift


def check_in_self(actor: User, shift_id: int, code: str, now: dt.datetime | None = None) -> Assignment:
    """The volunteer scanned the shift's code: only the volunteer assigned to that shift."""

    def work():
        moment = now or utcnow()
        shift = _shift_or_404(shift_id)
        if not _same(code, shift_code(shift)):
            raise RuleViolation(_("This check-in code is not valid."), "bad_code", 404)
        assignment = _active_assignment(shift.id, actor.id)
        if assignment is None:
            raise RuleViolation(_("You are not on this shift."), "not_assigned", 403)
        return _check_in(actor, assignment, moment, "shift_code")

    return in_transaction(work)


def current_assignment_for(leader: User, volunteer_id: int, now: dt.datetime) -> Assignment | None:
    """The volunteer's assignment on a shift of a team `leader` leads whose window holds `now`.

    A leader who is on a shift at that moment checks people into that one (their current shift).
    """
    query = (
        sa.select(Assignment)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(
            Assignment.volunteer_id == volunteer_id,
            Assignment.status == AssignmentStatus.ASSIGNED,
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at <= now + opens_before(),
            Shift.ends_at > now,
        )
        .order_by(Shift.starts_at)
    )
    candidates = [a for a in db.session.scalars(query) if leads_team(leader, a.shift.team_id)]
    if not candidates:
        return None
    own = set(
        db.session.scalars(
            sa.select(Assignment.shift_id).where(
                Assignment.volunteer_id == leader.id,
                Assignment.status == AssignmentStatus.ASSIGNED,
                Assignment.shift_id.in_([a.shift_id for a in candidates]),
            )
        )
    )
    for candidate in candidates:
        if candidate.shift_id in own:
            return candidate
    return candidates[0]


def can_manage_any(user) -> bool:
    return user.role in (Role.ADMIN, Role.COORDINATOR)


def check_in_person(actor: User, volunteer_id: int, code: str, now: dt.datetime | None = None) -> Assignment:
    """The leader scanned a volunteer's personal code: check them into the leader's current shift."""

    def work():
        moment = now or utcnow()
        volunteer = db.session.get(User, volunteer_id)
        if volunteer is None or not _same(code, person_code(volunteer_id)):
            raise RuleViolation(_("This personal code is not valid."), "bad_code", 404)
        if not led_team_ids(actor) and not can_manage_any(actor):
            raise forbidden()
        found = current_assignment_for(actor, volunteer_id, moment)
        if found is None:
            raise RuleViolation(
                _("%(name)s is not on a shift of your team now.", name=volunteer.name), "no_current_shift", 409
            )
        assignment = _active_assignment(found.shift_id, volunteer_id)
        return _check_in(actor, assignment, moment, "personal_code")

    return in_transaction(work)


def check_in_by_leader(actor: User, assignment_id: int, now: dt.datetime | None = None) -> Assignment:
    """From the check-in page: the leader or coordinator ticks someone in (same window)."""

    def work():
        moment = now or utcnow()
        assignment = db.session.get(Assignment, assignment_id)
        if assignment is None:
            raise not_found(_("This assignment does not exist."))
        if not leads_team(actor, assignment.shift.team_id):
            raise forbidden()
        fresh = _active_assignment(assignment.shift_id, assignment.volunteer_id)
        if fresh is None:
            raise RuleViolation(_("This volunteer is no longer on this shift."), "not_active")
        return _check_in(actor, fresh, moment, "leader")

    return in_transaction(work)


def set_leader(actor: User, team_id: int, user_id: int, leader: bool) -> TeamMembership:
    """The coordinator names (or un-names) a team leader among the team's members."""

    def work():
        if not can_manage_team(actor, team_id):
            raise forbidden()
        membership = db.session.scalars(
            sa.select(TeamMembership).where(TeamMembership.team_id == team_id, TeamMembership.user_id == user_id)
        ).first()
        if membership is None:
            raise RuleViolation(_("This person is not a member of this team."), "not_member", 404)
        membership.is_leader = leader
        db.session.flush()
        record(actor, "membership.leader", "team_membership", membership.id, team_id=team_id, leader=leader)
        return membership

    return in_transaction(work)


# --- reading --------------------------------------------------------------------------------


@dataclass
class Row:
    assignment: Assignment
    member_number: str
    state: str


def shift_sheet(shift: Shift, now: dt.datetime | None = None) -> list[Row]:
    """Who is on the shift, their member number and derived state, in two queries."""
    now = now or utcnow()
    assignments = list(
        db.session.scalars(
            sa.select(Assignment)
            .where(Assignment.shift_id == shift.id, Assignment.status == AssignmentStatus.ASSIGNED)
            .options(sa.orm.joinedload(Assignment.volunteer))
        )
    )
    numbers = dict(
        db.session.execute(
            sa.select(TeamMembership.user_id, TeamMembership.member_number).where(
                TeamMembership.team_id == shift.team_id,
                TeamMembership.user_id.in_([a.volunteer_id for a in assignments]),
            )
        ).all()
    )
    code = shift.team.code
    rows = [
        Row(a, f"{code}-{numbers[a.volunteer_id]:03d}" if numbers.get(a.volunteer_id) else "", state(a, now))
        for a in assignments
    ]
    rows.sort(key=lambda r: (r.assignment.volunteer.name, r.member_number))
    return rows


def team_members(team_id: int) -> list[TeamMembership]:
    """A team's members by name then number (one query): two people of one name stay apart."""
    return list(
        db.session.scalars(
            sa.select(TeamMembership)
            .join(User, User.id == TeamMembership.user_id)
            .where(TeamMembership.team_id == team_id)
            .options(sa.orm.contains_eager(TeamMembership.user), sa.orm.joinedload(TeamMembership.team))
            .order_by(User.name, TeamMembership.member_number)
        )
    )
