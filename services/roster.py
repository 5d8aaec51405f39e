"""What coordinators and volunteers look at: roster grids, availability, coverage, hours.

Every function here runs a fixed number of queries whatever the number of teams, shifts or
people (aggregates in SQL, related rows fetched in one query each), so pages stay fast at
120 teams x 30 volunteers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import orm

from i18n import current_language, localized, pick
from models import (
    Assignment,
    AssignmentStatus,
    Attendance,
    PatrolTeam,
    Shift,
    ShiftStatus,
    SwapRequest,
    SwapStatus,
    TeamMembership,
    Unavailability,
    User,
    UTCDateTime,
    db,
    utcnow,
)
from timeutil import LOCAL_TZ

from .assignments import coordinated_teams, hhmm, shift_times, week_bounds


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


@dataclass
class Page:
    """The attributes the `pagination` template macro reads."""

    page: int
    per_page: int
    total: int

    @classmethod
    def clamped(cls, page: int, per_page: int, total: int) -> Page:
        """The asked page, moved into 1..pages: past the end shows the last page, not an empty one."""
        pager = cls(page=1, per_page=per_page, total=total)
        pager.page = max(1, min(page, pager.pages))
        return pager

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


# --- teams -----------------------------------------------------------------------------------


def managed_teams_query(user) -> sa.Select:
    """Teams a user may manage on the roster pages: the active ones they coordinate."""
    return coordinated_teams(user).where(PatrolTeam.active.is_(True))


def team_members(team_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(TeamMembership, TeamMembership.user_id == User.id)
            .where(TeamMembership.team_id == team_id, User.active.is_(True))
            .order_by(User.name, User.id)
        )
    )


# --- availability ----------------------------------------------------------------------------


@dataclass
class Busy:
    shift_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    local_date: dt.date
    team_code: str


@dataclass
class Availability:
    """What is known about some people over a span of days, fetched in three queries."""

    members: list[User]
    weekdays_off: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    days_off: dict[int, set[dt.date]] = field(default_factory=lambda: defaultdict(set))
    busy: dict[int, list[Busy]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def load(cls, members: list[User], first: dt.date, last: dt.date) -> Availability:
        info = cls(members)
        ids = [m.id for m in members]
        if not ids:
            return info
        # Whole weeks, so the weekly-hours limit can be checked for any shift in the span.
        week_first, _ = week_bounds(first)
        _, week_after = week_bounds(last)
        for row in db.session.scalars(sa.select(Unavailability).where(Unavailability.user_id.in_(ids))):
            if row.weekday is not None:
                info.weekdays_off[row.user_id].add(row.weekday)
            else:
                info.days_off[row.user_id].add(row.day)
        rows = db.session.execute(
            sa.select(
                Assignment.volunteer_id,
                Assignment.shift_id,
                Assignment.starts_at,
                Assignment.ends_at,
                Shift.local_date,
                PatrolTeam.code,
            )
            .join(Shift, Shift.id == Assignment.shift_id)
            .join(PatrolTeam, PatrolTeam.id == Shift.team_id)
            .where(
                Assignment.volunteer_id.in_(ids),
                Assignment.status == AssignmentStatus.ASSIGNED,
                Shift.local_date >= week_first - dt.timedelta(days=1),
                Shift.local_date < week_after + dt.timedelta(days=1),
            )
        )
        for volunteer_id, shift_id, starts_at, ends_at, local_date, code in rows:
            info.busy[volunteer_id].append(Busy(shift_id, starts_at, ends_at, local_date, code))
        return info

    def reason(self, user: User, shift: Shift) -> str | None:
        """Why this person cannot take this shift (None: they can). Mirrors the service's rules."""
        day = shift.local_date
        if day in self.days_off.get(user.id, ()):
            return _("said they cannot do this date")
        if day.weekday() in self.weekdays_off.get(user.id, ()):
            return _("said they cannot do %(weekday)s", weekday=format_date(day, "EEEE"))
        for busy in self.busy.get(user.id, ()):
            if busy.shift_id != shift.id and busy.starts_at < shift.ends_at and busy.ends_at > shift.starts_at:
                return _(
                    "on %(team)s %(start)s–%(end)s",
                    team=busy.team_code,
                    start=hhmm(busy.starts_at),
                    end=hhmm(busy.ends_at),
                )
        if user.weekly_hours_limit is not None:
            monday, next_monday = week_bounds(day)
            seconds = sum(
                (b.ends_at - b.starts_at).total_seconds()
                for b in self.busy.get(user.id, ())
                if monday <= b.local_date < next_monday
            )
            if (seconds + shift.duration.total_seconds()) / 3600 > user.weekly_hours_limit:
                return _("weekly limit of %(limit)s hours", limit=user.weekly_hours_limit)
        return None

    def candidates(self, shift: Shift, assigned_ids: set[int], show_all: bool) -> list[tuple[User, str | None]]:
        """Members who could be added to a shift (all members with reasons when show_all)."""
        result = []
        for member in self.members:
            if member.id in assigned_ids:
                continue
            reason = self.reason(member, shift)
            if reason is None or show_all:
                result.append((member, reason))
        return result


# --- the roster grid -------------------------------------------------------------------------


@dataclass
class ShiftRow:
    shift: Shift
    assignments: list[Assignment]
    # Required qualifications the people on it lack: (qualification, holders missing). Flagged like understaffed.
    missing_qualifications: list = field(default_factory=list)

    @property
    def filled(self) -> int:
        return len(self.assignments)

    @property
    def below_minimum(self) -> bool:
        return self.shift.understaffed

    @property
    def full(self) -> bool:
        return self.filled >= self.shift.max_volunteers

    @property
    def started(self) -> bool:
        return self.shift.starts_at <= utcnow()

    @property
    def over(self) -> bool:
        return self.shift.ends_at <= utcnow()

    @property
    def times(self) -> str:
        return shift_times(self.shift)

    @property
    def assigned_ids(self) -> set[int]:
        return {a.volunteer_id for a in self.assignments}


@dataclass
class TeamRoster:
    team: PatrolTeam
    first: dt.date
    last: dt.date
    rows: list[ShiftRow]
    availability: Availability | None = None

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def rows_on(self, day: dt.date) -> list[ShiftRow]:
        return [row for row in self.rows if row.shift.local_date == day]

    @property
    def slots(self) -> list[tuple[str, str]]:
        """The distinct (times, area) of the team's shifts: the columns of the month grid."""
        seen: dict[tuple[str, str], dt.datetime] = {}
        for row in self.rows:
            key = (row.times, row.shift.area)
            local = row.shift.starts_at.astimezone(LOCAL_TZ)
            seen.setdefault(key, local)
        # Order by time of day, evening shifts after day shifts.
        return sorted(seen, key=lambda k: (seen[k].time(), k))

    def cell(self, day: dt.date, slot: tuple[str, str]) -> ShiftRow | None:
        for row in self.rows:
            if row.shift.local_date == day and (row.times, row.shift.area) == slot:
                return row
        return None

    @property
    def below_minimum_count(self) -> int:
        return sum(1 for row in self.rows if row.below_minimum)


def load_rows(shift_query: sa.Select) -> list[ShiftRow]:
    """Shifts and their active assignments (with the people), in two queries."""
    shifts = list(db.session.scalars(shift_query.options(orm.joinedload(Shift.team))))
    by_shift: dict[int, list[Assignment]] = {s.id: [] for s in shifts}
    if shifts:
        ids = sa.select(shift_query.with_only_columns(Shift.id).order_by(None).subquery().c.id)
        assignments = db.session.scalars(
            sa.select(Assignment)
            .where(Assignment.shift_id.in_(ids), Assignment.status == AssignmentStatus.ASSIGNED)
            .options(orm.joinedload(Assignment.volunteer))
            .order_by(Assignment.created_at, Assignment.id)
        )
        for assignment in assignments:
            by_shift[assignment.shift_id].append(assignment)
    from .qualifications import missing_for_shifts

    missing = missing_for_shifts(shifts, {sid: {a.volunteer_id for a in items} for sid, items in by_shift.items()})
    return [ShiftRow(shift, by_shift[shift.id], missing.get(shift.id, [])) for shift in shifts]


def team_roster(team: PatrolTeam, first: dt.date, last: dt.date, with_availability: bool) -> TeamRoster:
    query = (
        sa.select(Shift)
        .where(Shift.team_id == team.id, Shift.local_date >= first, Shift.local_date <= last)
        .order_by(Shift.starts_at, Shift.id)
    )
    roster = TeamRoster(team, first, last, load_rows(query))
    if with_availability:
        roster.availability = Availability.load(team_members(team.id), first, last)
    return roster


def shift_detail(shift: Shift) -> tuple[ShiftRow, Availability]:
    row = load_rows(sa.select(Shift).where(Shift.id == shift.id))[0]
    availability = Availability.load(team_members(shift.team_id), shift.local_date, shift.local_date)
    return row, availability


# --- coverage --------------------------------------------------------------------------------

COVERAGE_SORTS = ("gaps", "missing", "next_gap", "code", "name", "fill")


@dataclass
class CoverageRow:
    team_id: int
    code: str
    name_zh: str
    name_en: str
    shifts: int
    below_minimum: int
    missing: int
    assigned: int
    places: int
    next_gap: dt.datetime | None
    gaps: list[Shift] = field(default_factory=list)

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def fill_percent(self) -> int:
        return round(100 * self.assigned / self.places) if self.places else 0


@dataclass
class Coverage:
    rows: list[CoverageRow]
    page: Page
    days: int
    sort: str
    totals: dict


def coverage(user, days: int, sort: str = "gaps", page: int = 1, per_page: int = 40, gaps_shown: int = 3) -> Coverage:
    """Per team: shifts in the next `days` days, how many are below minimum, the first gaps.

    Four queries whatever the number of teams: totals, one page of teams with their
    aggregates, and the first few under-staffed shifts of the teams on that page.
    """
    now = utcnow()
    until = now + dt.timedelta(days=days)
    per_team = _coverage_per_team(user, now, until)
    totals = _coverage_totals(per_team)
    sort = sort if sort in COVERAGE_SORTS else "gaps"
    pager = Page.clamped(page, per_page, totals["teams"])
    result = db.session.execute(
        sa.select(per_team).order_by(*_coverage_order(per_team, sort)).limit(per_page).offset(pager.offset)
    )
    rows = [
        CoverageRow(
            r.id,
            r.code,
            r.name_zh,
            r.name_en,
            r.shifts,
            int(r.below),
            int(r.missing),
            int(r.assigned),
            int(r.places),
            r.next_gap,
        )
        for r in result
    ]
    if rows and gaps_shown:
        _attach_first_gaps(rows, now, until, gaps_shown)
    return Coverage(rows, pager, days, sort, totals)


def _coverage_per_team(user, now: dt.datetime, until: dt.datetime):
    """One row per team the user manages, with the aggregates of its scheduled shifts in [now, until)."""
    teams = managed_teams_query(user).subquery()
    scheduled = sa.and_(
        Shift.team_id == teams.c.id,
        Shift.status == ShiftStatus.SCHEDULED,
        Shift.starts_at >= now,
        Shift.starts_at < until,
    )
    short = Shift.understaffed
    shifts_n = sa.func.count(Shift.id)
    below_n = sa.func.coalesce(sa.func.sum(sa.case((short, 1), else_=0)), 0)
    missing_n = sa.func.coalesce(sa.func.sum(sa.case((short, Shift.min_volunteers - Shift.assigned_count), else_=0)), 0)
    assigned_n = sa.func.coalesce(sa.func.sum(Shift.assigned_count), 0)
    places_n = sa.func.coalesce(sa.func.sum(Shift.max_volunteers), 0)
    next_gap = sa.type_coerce(sa.func.min(sa.case((short, Shift.starts_at))), UTCDateTime)
    return (
        sa.select(
            teams.c.id,
            teams.c.code,
            teams.c.name_zh,
            teams.c.name_en,
            shifts_n.label("shifts"),
            below_n.label("below"),
            missing_n.label("missing"),
            assigned_n.label("assigned"),
            places_n.label("places"),
            next_gap.label("next_gap"),
        )
        .select_from(teams)
        .outerjoin(Shift, scheduled)
        .group_by(teams.c.id, teams.c.code, teams.c.name_zh, teams.c.name_en)
    ).subquery()


def _coverage_totals(per_team) -> dict[str, int]:
    row = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(per_team.c.shifts), 0),
            sa.func.coalesce(sa.func.sum(per_team.c.below), 0),
            sa.func.coalesce(sa.func.sum(sa.case((per_team.c.below > 0, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(per_team.c.missing), 0),
        )
    ).one()
    return {
        "teams": row[0],
        "shifts": int(row[1]),
        "below": int(row[2]),
        "teams_with_gaps": int(row[3]),
        "missing": int(row[4]),
    }


def _coverage_order(per_team, sort: str) -> list:
    fill = sa.case((per_team.c.places > 0, per_team.c.assigned * 1.0 / per_team.c.places), else_=0)
    return {
        "gaps": [per_team.c.below.desc(), per_team.c.missing.desc(), per_team.c.code],
        "missing": [per_team.c.missing.desc(), per_team.c.below.desc(), per_team.c.code],
        "next_gap": [per_team.c.next_gap.is_(None), per_team.c.next_gap, per_team.c.code],
        "code": [per_team.c.code],
        "name": [per_team.c.name_zh, per_team.c.code],
        "fill": [fill, per_team.c.code],
    }[sort]


def _attach_first_gaps(rows: list[CoverageRow], now: dt.datetime, until: dt.datetime, gaps_shown: int) -> None:
    """The first `gaps_shown` understaffed shifts of each team on the page, in one query."""
    ranked = (
        sa.select(
            Shift.id,
            sa.func.row_number().over(partition_by=Shift.team_id, order_by=(Shift.starts_at, Shift.id)).label("n"),
        )
        .where(
            Shift.team_id.in_([r.team_id for r in rows]),
            Shift.starts_at >= now,
            Shift.starts_at < until,
            Shift.understaffed,
        )
        .subquery()
    )
    by_team = {r.team_id: r for r in rows}
    for shift in db.session.scalars(
        sa.select(Shift).join(ranked, ranked.c.id == Shift.id).where(ranked.c.n <= gaps_shown).order_by(Shift.starts_at)
    ):
        by_team[shift.team_id].gaps.append(shift)


# --- a volunteer's own view ------------------------------------------------------------------


def upcoming_assignments(user_id: int, limit: int = 100) -> list[Assignment]:
    """My active assignments that have not ended, soonest first, with shift and team."""
    return list(
        db.session.scalars(
            sa.select(Assignment)
            .where(
                Assignment.volunteer_id == user_id,
                Assignment.status == AssignmentStatus.ASSIGNED,
                Assignment.ends_at > utcnow(),
            )
            .options(orm.joinedload(Assignment.shift).joinedload(Shift.team))
            .order_by(Assignment.starts_at)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class OpenShift:
    """What the open-shifts page shows of a shift, read as plain columns (not ORM objects), its
    team's name and its area already in the reader's language."""

    id: int
    local_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    area: str
    team_name: str
    assigned_count: int
    min_volunteers: int
    max_volunteers: int


_OPEN_SHIFT_COLUMNS = (
    Shift.id,
    Shift.local_date,
    Shift.starts_at,
    Shift.ends_at,
    Shift.area_zh,
    Shift.area_en,
    PatrolTeam.name_zh,
    PatrolTeam.name_en,
    Shift.assigned_count,
    Shift.min_volunteers,
    Shift.max_volunteers,
)


def open_shifts(user: User, days: int, page: int, per_page: int = 30) -> tuple[list[OpenShift], Page]:
    """Shifts of my teams in the next `days` days with a free place that I am not on.

    One statement for the page and its total (a window count over the filtered rows). Only a
    page past the end, which has no row to carry the total, costs a count and a second read.
    """
    now = utcnow()
    mine = sa.select(TeamMembership.team_id).where(TeamMembership.user_id == user.id)
    on_it = sa.select(Assignment.shift_id).where(
        Assignment.volunteer_id == user.id, Assignment.status == AssignmentStatus.ASSIGNED
    )
    query = (
        sa.select(*_OPEN_SHIFT_COLUMNS, sa.func.count().over().label("total"))
        .join(PatrolTeam, PatrolTeam.id == Shift.team_id)
        .where(
            Shift.team_id.in_(mine),
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at > now,
            Shift.starts_at < now + dt.timedelta(days=days),
            Shift.assigned_count + Shift.held_count < Shift.max_volunteers,
            Shift.id.not_in(on_it),
        )
        .order_by(Shift.starts_at, Shift.id)
        .limit(per_page)
    )
    page = max(1, page)
    rows = db.session.execute(query.offset((page - 1) * per_page)).all()
    if rows:
        pager = Page(page=page, per_page=per_page, total=rows[0].total)
    elif page == 1:
        pager = Page(page=1, per_page=per_page, total=0)  # nothing open at all: nothing to count
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.limit(None).subquery()))
        pager = Page.clamped(page, per_page, total)
        if total:  # the asked page is past the end (it had no row): read the last one
            rows = db.session.execute(query.offset(pager.offset)).all()
    lang = current_language()
    return [
        OpenShift(
            row.id,
            row.local_date,
            row.starts_at,
            row.ends_at,
            pick(row.area_zh, row.area_en, lang),
            pick(row.name_zh, row.name_en, lang),
            row.assigned_count,
            row.min_volunteers,
            row.max_volunteers,
        )
        for row in rows
    ], pager


def pending_swaps(user_id: int) -> tuple[list[SwapRequest], list[SwapRequest]]:
    """Swap requests waiting for me, and the ones I sent, with shift, team and people."""
    query = (
        sa.select(SwapRequest)
        .where(
            SwapRequest.status == SwapStatus.PENDING,
            sa.or_(SwapRequest.to_user_id == user_id, SwapRequest.from_user_id == user_id),
        )
        .options(
            orm.joinedload(SwapRequest.assignment).joinedload(Assignment.shift).joinedload(Shift.team),
            orm.joinedload(SwapRequest.from_user),
            orm.joinedload(SwapRequest.to_user),
        )
        .order_by(SwapRequest.created_at)
    )
    incoming, outgoing = [], []
    for swap in db.session.scalars(query):
        (incoming if swap.to_user_id == user_id else outgoing).append(swap)
    return incoming, outgoing


def teammates(user_id: int) -> dict[int, list[User]]:
    """For each of my teams, the other active members (to name in a swap request)."""
    mine = sa.select(TeamMembership.team_id).where(TeamMembership.user_id == user_id)
    result: dict[int, list[User]] = defaultdict(list)
    rows = db.session.execute(
        sa.select(TeamMembership.team_id, User)
        .join(User, User.id == TeamMembership.user_id)
        .where(TeamMembership.team_id.in_(mine), User.id != user_id, User.active.is_(True))
        .order_by(User.name, User.id)
    )
    for team_id, user in rows:
        result[team_id].append(user)
    return result


# --- hours -----------------------------------------------------------------------------------


def _credited(year: int):
    return sa.and_(
        Assignment.attendance == Attendance.PRESENT,
        Shift.local_date >= dt.date(year, 1, 1),
        Shift.local_date <= dt.date(year, 12, 31),
    )


def volunteer_hours(user_id: int, year: int) -> float:
    """Hours credited from attendance on shifts dated in `year`."""
    value = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Assignment.hours_credited), 0))
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Assignment.volunteer_id == user_id, _credited(year))
    )
    return float(value or 0)


@dataclass
class HoursTable:
    year: int
    people: list[tuple[User, dict[int, float], float]]  # person, hours by month, year total
    by_month: dict[int, float]
    total: float


def team_hours(team_id: int, year: int) -> HoursTable:
    """Hours per volunteer and per month for one team's shifts in a year (one aggregate query)."""
    month = sa.extract("month", Shift.local_date)
    rows = db.session.execute(
        sa.select(Assignment.volunteer_id, month.label("month"), sa.func.sum(Assignment.hours_credited))
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Shift.team_id == team_id, _credited(year))
        .group_by(Assignment.volunteer_id, month)
    ).all()
    per_person: dict[int, dict[int, float]] = defaultdict(dict)
    by_month: dict[int, float] = defaultdict(float)
    for volunteer_id, m, hours in rows:
        per_person[volunteer_id][int(m)] = float(hours)
        by_month[int(m)] += float(hours)
    users = (
        {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(list(per_person))))}
        if per_person
        else {}
    )
    people = sorted(
        ((users[uid], months, sum(months.values())) for uid, months in per_person.items()),
        key=lambda item: (-item[2], item[0].name),
    )
    return HoursTable(year, people, dict(by_month), sum(by_month.values()))
