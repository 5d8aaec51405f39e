"""Demo data: sample assignments, availability and attendance.

Runs after demo/schedule.py has generated shifts. Staffs the sample teams' shifts of the past
two weeks (with attendance) and the next two weeks, leaving about one upcoming shift in seven
below its minimum so the coverage dashboard has gaps to show. Only shifts nobody is on yet are
touched, and every choice is seeded by team, date and time, so loading again adds nothing.
Bulk inserts keep it to a few seconds for 120 teams; with no shifts it does nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import sqlalchemy as sa

from models import (
    Assignment,
    AssignmentStatus,
    Attendance,
    MembershipRole,
    PatrolTeam,
    Shift,
    ShiftStatus,
    TeamMembership,
    Unavailability,
    User,
    db,
    utcnow,
)
from timeutil import local_today, to_local

DAYS_BACK = 14
DAYS_AHEAD = 14
BELOW_MINIMUM_SHARE = 0.15
NO_SHOW_SHARE = 0.08


def load(summary) -> None:
    """Add this area's sample rows; add nothing that is already there."""
    _load_unavailability(summary)
    today = local_today()
    first, last = today - dt.timedelta(days=DAYS_BACK), today + dt.timedelta(days=DAYS_AHEAD - 1)
    shifts = _unstaffed_sample_shifts(first, last)
    if not shifts:
        return
    members = _members_by_team({s.team_id for s in shifts})
    busy = _busy_times({uid for ids in members.values() for uid in ids}, first, last)
    days_off = _days_off()
    now = utcnow()
    rows, counts = [], {}
    for shift in shifts:
        rng = random.Random(f"{shift.code}|{shift.local_date.isoformat()}|{to_local(shift.starts_at):%H:%M}")
        chosen = _choose_volunteers(shift, rng, members.get(shift.team_id, []), busy, days_off, now)
        rows += _assignment_rows(shift, chosen, rng, past=shift.ends_at <= now)
        if chosen:
            counts[shift.id] = len(chosen)
    if not rows:
        return
    db.session.execute(sa.insert(Assignment), rows)
    table = Shift.__table__
    db.session.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("shift_id"))
        .values(
            assigned_count=table.c.assigned_count + sa.bindparam("n"),
            sequence=table.c.sequence + 1,
            last_modified=sa.bindparam("now"),
        ),
        [{"shift_id": shift_id, "n": n, "now": now} for shift_id, n in counts.items()],
    )
    summary.count("sample assignments", len(rows))
    summary.count("attendance records", sum(1 for row in rows if row["attendance"] is not Attendance.UNKNOWN))


def _unstaffed_sample_shifts(first: dt.date, last: dt.date) -> list:
    """Scheduled shifts of sample teams in [first, last] that never had an assignment."""
    in_range = (
        sa.select(Shift.id)
        .join(PatrolTeam, PatrolTeam.id == Shift.team_id)
        .where(
            Shift.local_date >= first,
            Shift.local_date <= last,
            Shift.status == ShiftStatus.SCHEDULED,
            PatrolTeam.is_sample.is_(True),
        )
    )
    staffed = set(
        db.session.scalars(sa.select(Assignment.shift_id).where(Assignment.shift_id.in_(in_range)).distinct())
    )
    shifts = db.session.execute(
        sa.select(
            Shift.id,
            Shift.team_id,
            Shift.local_date,
            Shift.starts_at,
            Shift.ends_at,
            Shift.min_volunteers,
            Shift.max_volunteers,
            PatrolTeam.code,
        )
        .join(PatrolTeam, PatrolTeam.id == Shift.team_id)
        .where(Shift.id.in_(in_range), Shift.assigned_count == 0)
        .order_by(Shift.starts_at, Shift.id)
    ).all()
    return [s for s in shifts if s.id not in staffed]


def _members_by_team(team_ids: set[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = defaultdict(list)
    for team_id, user_id in db.session.execute(
        sa.select(TeamMembership.team_id, TeamMembership.user_id)
        .join(User, User.id == TeamMembership.user_id)
        .where(
            TeamMembership.team_id.in_(team_ids),
            TeamMembership.role == MembershipRole.MEMBER,
            User.active.is_(True),
            User.is_sample.is_(True),
        )
        .order_by(TeamMembership.user_id)
    ):
        members[team_id].append(user_id)
    return members


def _busy_times(everyone: set[int], first: dt.date, last: dt.date) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    busy: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for user_id, starts_at, ends_at in db.session.execute(
        sa.select(Assignment.volunteer_id, Assignment.starts_at, Assignment.ends_at).where(
            Assignment.status == AssignmentStatus.ASSIGNED,
            Assignment.volunteer_id.in_(everyone),
            Assignment.ends_at > _utc(first - dt.timedelta(days=1)),
            Assignment.starts_at < _utc(last + dt.timedelta(days=2)),
        )
    ):
        busy[user_id].append((starts_at, ends_at))
    return busy


def _days_off() -> dict[int, set[int]]:
    days_off: dict[int, set[int]] = defaultdict(set)
    for user_id, weekday in db.session.execute(
        sa.select(Unavailability.user_id, Unavailability.weekday).where(Unavailability.weekday.is_not(None))
    ):
        days_off[user_id].add(weekday)
    return days_off


def _choose_volunteers(shift, rng: random.Random, team_members: list[int], busy, days_off, now) -> list[int]:
    """Some shifts below their minimum (future ones only), the rest between minimum and maximum."""
    if shift.ends_at > now and rng.random() < BELOW_MINIMUM_SHARE:
        wanted = rng.randrange(0, max(1, shift.min_volunteers))
    else:
        wanted = min(shift.max_volunteers, shift.min_volunteers + rng.randrange(0, 3))
    pool = team_members[:]
    rng.shuffle(pool)
    chosen = []
    for user_id in pool:
        if len(chosen) >= wanted:
            break
        if shift.local_date.weekday() in days_off.get(user_id, ()):
            continue
        if any(start < shift.ends_at and end > shift.starts_at for start, end in busy[user_id]):
            continue
        chosen.append(user_id)
        busy[user_id].append((shift.starts_at, shift.ends_at))
    return chosen


def _assignment_rows(shift, chosen: list[int], rng: random.Random, past: bool) -> list[dict]:
    """Assignment rows; past shifts get attendance (a few no-shows) and credited hours."""
    hours = round((shift.ends_at - shift.starts_at).total_seconds() / 3600, 2)
    rows = []
    for user_id in chosen:
        row = dict(
            shift_id=shift.id,
            volunteer_id=user_id,
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
            status=AssignmentStatus.ASSIGNED,
            attendance=Attendance.UNKNOWN,
            hours_credited=0,
            checked_in_at=None,
        )
        if past:
            present = rng.random() >= NO_SHOW_SHARE
            row.update(
                attendance=Attendance.PRESENT if present else Attendance.NO_SHOW,
                hours_credited=hours if present else 0,
                checked_in_at=shift.starts_at if present else None,
            )
        rows.append(row)
    return rows


def _utc(day: dt.date) -> dt.datetime:
    from timeutil import local_to_utc

    return local_to_utc(day, dt.time(0))


def _load_unavailability(summary) -> None:
    """Every tenth sample volunteer cannot do one weekday: the roster's availability filter has work to do."""
    volunteers = db.session.execute(
        sa.select(User.id, User.email)
        .where(User.is_sample.is_(True), User.email.like("volunteer%"))
        .order_by(User.email)
    ).all()
    wanted = {uid: n % 7 for n, (uid, _email) in enumerate(volunteers) if n % 10 == 9}
    if not wanted:
        return
    have = set(
        db.session.scalars(
            sa.select(Unavailability.user_id).where(
                Unavailability.user_id.in_(list(wanted)), Unavailability.weekday.is_not(None)
            )
        )
    )
    rows = [
        dict(user_id=uid, weekday=weekday, day=None, note="示例 / sample")
        for uid, weekday in wanted.items()
        if uid not in have
    ]
    if rows:
        db.session.execute(sa.insert(Unavailability), rows)
        summary.count("sample unavailabilities", len(rows))
