"""The roster planner: fill a team's (or every team's) shifts over a date range as a constraint
problem (OR-Tools CP-SAT), store the result as a DRAFT plan, and publish it through the
assignment service in one transaction.

Hard rules (never broken by a plan): the shift's maximum, no overlap, the volunteer's stated
unavailability, weekly hour limits, membership and active accounts, exactly as
services/assignments.py defines them (same week, same hours, same date tests), plus a minimum
rest between two shifts of one person (PLANNER_REST_HOURS, default 10) and what is already
assigned stays; the service's qualification rule (the last places are kept for required holders,
`nonholder_room`). Publishing re-checks the service's rules by booking through `_book`, and the
rest against what was assigned since the draft (`check_rest`).

Goals, as weights far apart (lexicographic in effect): reach every shift's minimum and its
qualification requirements; spread hours evenly within each team (max - min, counting what each
member already has in the period); spread night shifts; prefer the usual volunteers of a
weekday and time (roster_bulk.usual_volunteers) and put usual partners on the same shift
(`usual_partners`: who patrolled together most in the weeks before); then, if asked, fill
towards the maximum.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from models import (
    Assignment,
    AssignmentStatus,
    Attendance,
    PatrolTeam,
    Plan,
    PlanEntry,
    PlanStatus,
    Role,
    Shift,
    ShiftStatus,
    TeamMembership,
    TemplateRequirement,
    Unavailability,
    User,
    VolunteerQualification,
    db,
    record,
    utcnow,
)
from timeutil import to_local

from . import assignments as service
from .errors import RuleViolation
from .roster_bulk import LOOKBACK_WEEKS, MAX_RANGE_DAYS, usual_volunteers

DEFAULT_REST_HOURS = 10

# Objective weights (minimised). One missing place outweighs any spread a team can have.
W_SHORT = 1_000_000
W_HOURS = 1  # per minute of (max - min) hours within a team
W_NIGHTS = 60  # one night of spread counts like an hour
W_USUAL = 5  # per placement of a usual volunteer of that weekday and time
W_PARTNER = 4  # per shift two usual partners share (below minimums and spread, like usual days)
PARTNER_MIN_SHIFTS = 2  # "often": at least this many shifts together in the lookback weeks
PARTNERS_PER_PERSON = 2  # each person's most frequent partners only (keeps the model small)
W_FILL = 300  # per extra place when filling towards the maximum (more than one shift of spread)


def is_night(starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
    """A night shift: starts at or after 22:00 or before 06:00 local time, or runs past midnight."""
    start, end = to_local(starts_at), to_local(ends_at)
    return start.hour >= 22 or start.hour < 6 or end.date() > start.date()


@dataclass
class _Shift:
    id: int
    team_id: int
    template_id: int | None
    local_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    min: int
    max: int
    assigned: int
    minutes: int
    night: bool
    hhmm: str
    held: int = 0  # places held for waiting-list offers: not free for the plan
    on: set[int] = field(default_factory=set)  # already assigned volunteers


@dataclass
class _Person:
    id: int
    limit: int | None
    teams: set[int] = field(default_factory=set)
    busy: list[tuple[dt.datetime, dt.datetime, int]] = field(default_factory=list)  # existing: start, end, shift
    week_minutes: dict[dt.date, int] = field(default_factory=lambda: defaultdict(int))
    base_minutes: int = 0  # already assigned in the period
    base_nights: int = 0
    off_weekdays: set[int] = field(default_factory=set)
    off_days: set[dt.date] = field(default_factory=set)
    quals: dict[int, dt.date | None] = field(default_factory=dict)

    def holds(self, qualification_id: int, day: dt.date) -> bool:
        if qualification_id not in self.quals:
            return False
        until = self.quals[qualification_id]
        return until is None or day <= until


@dataclass
class Problem:
    shifts: list[_Shift]
    people: dict[int, _Person]
    members: dict[int, list[int]]  # team -> volunteers
    requirements: dict[int, list[tuple[int, int]]]  # template -> (qualification, count)
    usual: dict[tuple[int, int, str], set[int]]
    rest: dt.timedelta
    fill_to_max: bool
    partners: set[tuple[int, int]] = field(default_factory=set)  # (a, b), a < b: usual partners


def _minutes(start: dt.datetime, end: dt.datetime) -> int:
    return int((end - start).total_seconds() // 60)


def load_problem(  # noqa: C901 - one pass per table, kept together
    team_ids: list[int], first: dt.date, last: dt.date, *, rest_hours: float, fill_to_max: bool
) -> Problem:
    """Everything the solver needs, in a fixed number of queries (independent of team count but `usual`)."""
    rest = dt.timedelta(hours=rest_hours)
    now = utcnow()
    rows = db.session.execute(
        sa.select(Shift)
        .where(
            Shift.team_id.in_(team_ids),
            Shift.local_date >= first,
            Shift.local_date <= last,
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.ends_at > now,
        )
        .order_by(Shift.starts_at, Shift.id)
    ).scalars()
    shifts = [
        _Shift(
            s.id,
            s.team_id,
            s.template_id,
            s.local_date,
            s.starts_at,
            s.ends_at,
            s.min_volunteers,
            s.max_volunteers,
            s.assigned_count,
            _minutes(s.starts_at, s.ends_at),
            is_night(s.starts_at, s.ends_at),
            service.hhmm(s.starts_at),
            s.held_count,
        )
        for s in rows
    ]
    member_ids = sa.select(TeamMembership.user_id).where(TeamMembership.team_id.in_(team_ids))
    people: dict[int, _Person] = {}
    members: dict[int, list[int]] = defaultdict(list)
    for team_id, user_id, limit in db.session.execute(
        sa.select(TeamMembership.team_id, User.id, User.weekly_hours_limit)
        .join(User, User.id == TeamMembership.user_id)
        .where(TeamMembership.team_id.in_(team_ids), User.active.is_(True))
        .order_by(TeamMembership.team_id, User.id)
    ):
        person = people.setdefault(user_id, _Person(user_id, limit))
        person.teams.add(team_id)
        members[team_id].append(user_id)
    # Existing assignments anywhere (other teams too) in the weeks the range touches, with rest margin.
    week_from = service.week_bounds(first)[0] - dt.timedelta(days=1)
    week_to = service.week_bounds(last)[1] + dt.timedelta(days=1)
    by_id = {s.id: s for s in shifts}
    for vid, shift_id, local_date, starts_at, ends_at in db.session.execute(
        sa.select(
            Assignment.volunteer_id, Assignment.shift_id, Shift.local_date, Assignment.starts_at, Assignment.ends_at
        )
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(
            Assignment.volunteer_id.in_(member_ids),
            Assignment.status == AssignmentStatus.ASSIGNED,
            Shift.local_date >= week_from,
            Shift.local_date < week_to,
        )
    ):
        if shift_id in by_id:
            by_id[shift_id].on.add(vid)
        person = people.get(vid)
        if person is None:
            continue
        minutes = _minutes(starts_at, ends_at)
        person.busy.append((starts_at, ends_at, shift_id))
        person.week_minutes[service.week_bounds(local_date)[0]] += minutes
        if first <= local_date <= last:
            person.base_minutes += minutes
            person.base_nights += is_night(starts_at, ends_at)
    for user_id, weekday, day in db.session.execute(
        sa.select(Unavailability.user_id, Unavailability.weekday, Unavailability.day).where(
            Unavailability.user_id.in_(member_ids)
        )
    ):
        if user_id in people:
            if weekday is not None:
                people[user_id].off_weekdays.add(weekday)
            else:
                people[user_id].off_days.add(day)
    for user_id, qualification_id, expires_on in db.session.execute(
        sa.select(
            VolunteerQualification.user_id, VolunteerQualification.qualification_id, VolunteerQualification.expires_on
        ).where(VolunteerQualification.user_id.in_(member_ids))
    ):
        if user_id in people:
            people[user_id].quals[qualification_id] = expires_on
    requirements: dict[int, list[tuple[int, int]]] = defaultdict(list)
    template_ids = {s.template_id for s in shifts if s.template_id is not None}
    if template_ids:
        for template_id, qualification_id, count in db.session.execute(
            sa.select(
                TemplateRequirement.template_id, TemplateRequirement.qualification_id, TemplateRequirement.count
            ).where(TemplateRequirement.template_id.in_(template_ids))
        ):
            requirements[template_id].append((qualification_id, count))
    usual: dict[tuple[int, int, str], set[int]] = {}
    for team_id in {s.team_id for s in shifts}:
        for (weekday, hhmm), ids in usual_volunteers(team_id, first).items():
            usual[(team_id, weekday, hhmm)] = set(ids[:4])
    partners = usual_partners(team_ids, first)
    return Problem(shifts, people, dict(members), dict(requirements), usual, rest, fill_to_max, partners)


def usual_partners(team_ids: list[int], before: dt.date, weeks: int = LOOKBACK_WEEKS) -> set[tuple[int, int]]:
    """Pairs of volunteers who often patrolled together: on the same shift of these teams at least
    PARTNER_MIN_SHIFTS times in the `weeks` before `before` (no-shows and swapped-away shifts do not
    count), each person keeping their PARTNERS_PER_PERSON most frequent partners. One query."""
    since = before - dt.timedelta(weeks=weeks)
    on: dict[int, list[int]] = defaultdict(list)
    for shift_id, volunteer_id in db.session.execute(
        sa.select(Assignment.shift_id, Assignment.volunteer_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(
            Shift.team_id.in_(team_ids),
            Shift.local_date >= since,
            Shift.local_date < before,
            Assignment.status == AssignmentStatus.ASSIGNED,
            Assignment.attendance != Attendance.NO_SHOW,
        )
    ):
        on[shift_id].append(volunteer_id)
    together: dict[tuple[int, int], int] = defaultdict(int)
    for people in on.values():
        people.sort()
        for i, a in enumerate(people):
            for b in people[i + 1 :]:
                together[(a, b)] += 1
    best: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (a, b), n in together.items():
        if n >= PARTNER_MIN_SHIFTS:
            best[a].append((-n, b))
            best[b].append((-n, a))
    pairs = set()
    for a, ranked in best.items():
        for _n, b in sorted(ranked)[:PARTNERS_PER_PERSON]:
            pairs.add((min(a, b), max(a, b)))
    return pairs


# --- the rules, as the assignment service defines them ----------------------------------------


def static_refusal(problem: Problem, shift: _Shift, person: _Person) -> str | None:
    """Why this person can never take this shift whatever else is planned (a reason code), or None."""
    if person.id in shift.on:
        return "already_assigned"
    if shift.local_date.weekday() in person.off_weekdays or shift.local_date in person.off_days:
        return "unavailable"  # services.assignments.unavailable_reason: weekday or date of the shift
    for start, end, _shift_id in person.busy:
        if start < shift.ends_at and end > shift.starts_at:  # overlapping_assignment
            return "overlap"
        if start < shift.ends_at + problem.rest and end + problem.rest > shift.starts_at:
            return "rest"
    if person.limit is not None:
        week = service.week_bounds(shift.local_date)[0]
        if person.week_minutes[week] + shift.minutes > person.limit * 60:  # _check_weekly_limit
            return "weekly_limit"
    return None


def nonholder_room(problem: Problem, s: _Shift) -> list[tuple[int, int]]:
    """Per unmet requirement of the shift: (qualification, how many more NON-holders the plan may add).

    The assignment service's rule (`assignments._check_qualifications`) in its final-state form:
    until k holders are on the shift, non-holders fill at most max - held - k places. A plan whose
    final state keeps this can be published in any order.
    """
    out = []
    for qualification_id, count in problem.requirements.get(s.template_id, []):
        have = sum(1 for v in s.on if v in problem.people and problem.people[v].holds(qualification_id, s.local_date))
        if have >= count:
            continue
        out.append((qualification_id, max(0, s.max - s.held - count - (len(s.on) - have))))
    return out


def _too_close(problem: Problem, a: _Shift, b: _Shift) -> bool:
    """Two shifts one person cannot both do: they overlap, or the gap between them is under the rest."""
    return a.starts_at < b.ends_at + problem.rest and b.starts_at < a.ends_at + problem.rest


@dataclass
class Solution:
    chosen: list[tuple[int, int]]  # (shift id, volunteer id)
    status: str
    seconds: float
    unfilled: list[dict]


def _components(problem: Problem) -> list[list[int]]:
    """Teams linked by shared members are solved together; the rest independently (much faster)."""
    parent: dict[int, int] = {t: t for t in problem.members}
    for s in problem.shifts:
        parent.setdefault(s.team_id, s.team_id)

    def find(t):
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for person in problem.people.values():
        teams = sorted(person.teams)
        for other in teams[1:]:
            parent[find(other)] = find(teams[0])
    groups: dict[int, list[int]] = defaultdict(list)
    for t in parent:
        groups[find(t)].append(t)
    return [sorted(g) for g in groups.values()]


def solve(problem: Problem, time_limit: float, progress=None, per_component: float = 1.2) -> Solution:
    from ortools.sat.python import cp_model

    began = time.perf_counter()
    components = _components(problem)
    shifts_by_team: dict[int, list[_Shift]] = defaultdict(list)
    for s in problem.shifts:
        shifts_by_team[s.team_id].append(s)
    deadline = began + time_limit
    chosen: list[tuple[int, int]] = []
    unfilled: list[dict] = []
    statuses = set()
    work = [c for c in components if any(shifts_by_team[t] for t in c)]
    for index, teams in enumerate(work):
        left = max(0.05, deadline - time.perf_counter())
        budget = min(per_component, left / (len(work) - index))  # all teams: share the bound fairly
        shifts = [s for t in teams for s in shifts_by_team[t]]
        picked, status = _solve_component(problem, teams, shifts, budget, cp_model)
        statuses.add(status)
        chosen.extend(picked)
        unfilled.extend(_unfilled(problem, shifts, picked))
        if progress:
            progress(index + 1, len(work))
    status = (
        "OPTIMAL"
        if statuses <= {"OPTIMAL"}
        else ("FEASIBLE" if "FEASIBLE" in statuses or "OPTIMAL" in statuses else "GREEDY")
    )
    return Solution(chosen, status, time.perf_counter() - began, unfilled)


def _solve_component(problem: Problem, teams: list[int], shifts: list[_Shift], budget: float, cp_model):  # noqa: C901 - the model reads best in one place
    model = cp_model.CpModel()
    x: dict[tuple[int, int], object] = {}
    by_person: dict[int, list[_Shift]] = defaultdict(list)
    places: dict[int, int] = {}
    room: dict[int, list[tuple[int, int]]] = {}
    for s in shifts:
        room[s.id] = nonholder_room(problem, s)
        cap = s.max - s.assigned - s.held
        need = max(0, s.min - s.assigned)
        qual_need = 0
        for qualification_id, count in problem.requirements.get(s.template_id, []):
            have = sum(
                1 for v in s.on if v in problem.people and problem.people[v].holds(qualification_id, s.local_date)
            )
            qual_need += max(0, count - have)
        places[s.id] = max(0, cap if problem.fill_to_max else min(cap, max(need, qual_need)))
        if places[s.id] == 0:
            continue
        for vid in problem.members.get(s.team_id, []):
            person = problem.people[vid]
            if static_refusal(problem, s, person) is None:
                x[(s.id, vid)] = model.NewBoolVar("")
                by_person[vid].append(s)
    # The greedy start, and every auxiliary variable's value under it: a COMPLETE hint, which
    # CP-SAT takes as its first solution at once (a partial one it may fail to complete in time).
    hint = _greedy(problem, shifts, x, by_person, places, room)
    hinted: dict[int, set[int]] = defaultdict(set)
    for sid, vid in hint:
        hinted[sid].add(vid)
    shorts = []
    for s in shifts:
        vars_ = [x[(s.id, v)] for v in problem.members.get(s.team_id, []) if (s.id, v) in x]
        if vars_:
            model.Add(sum(vars_) <= places[s.id])
        need = max(0, s.min - s.assigned)
        if need:
            short = model.NewIntVar(0, need, "")
            model.Add(sum(vars_) + short >= need)
            model.AddHint(short, max(0, need - len(hinted[s.id])))
            shorts.append(short)
        for qualification_id, count in problem.requirements.get(s.template_id, []):
            have = sum(
                1 for v in s.on if v in problem.people and problem.people[v].holds(qualification_id, s.local_date)
            )
            if have >= count:
                continue
            qualified = [
                x[(s.id, v)]
                for v in problem.members.get(s.team_id, [])
                if (s.id, v) in x and problem.people[v].holds(qualification_id, s.local_date)
            ]
            qshort = model.NewIntVar(0, count - have, "")
            # Hard, as the service enforces it: the last places are kept for holders.
            room_left = dict(room[s.id]).get(qualification_id, 0)
            others = [
                x[(s.id, v)]
                for v in problem.members.get(s.team_id, [])
                if (s.id, v) in x and not problem.people[v].holds(qualification_id, s.local_date)
            ]
            if len(others) > room_left:
                model.Add(sum(others) <= room_left)
            model.Add(sum(qualified) + qshort >= count - have)
            got = sum(1 for v in hinted[s.id] if problem.people[v].holds(qualification_id, s.local_date))
            model.AddHint(qshort, max(0, count - have - got))
            shorts.append(qshort)
    for vid, mine in by_person.items():
        person = problem.people[vid]
        mine.sort(key=lambda s: s.starts_at)
        for i, a in enumerate(mine):
            for b in mine[i + 1 :]:
                if b.starts_at >= a.ends_at + problem.rest:
                    break
                if _too_close(problem, a, b):
                    model.AddBoolOr([x[(a.id, vid)].Not(), x[(b.id, vid)].Not()])
        if person.limit is not None:
            weeks: dict[dt.date, list[_Shift]] = defaultdict(list)
            for s in mine:
                weeks[service.week_bounds(s.local_date)[0]].append(s)
            for week, ws in weeks.items():
                room = person.limit * 60 - person.week_minutes[week]
                if sum(s.minutes for s in ws) > room:
                    model.Add(sum(s.minutes * x[(s.id, vid)] for s in ws) <= room)
    # Spread, per team, over every active member (counting what they already have in the period).
    terms = [W_SHORT * v for v in shorts]
    for team_id in teams:
        team_members = problem.members.get(team_id, [])
        if len(team_members) < 2:
            continue
        hi = model.NewIntVar(0, 10**7, "")
        lo = model.NewIntVar(0, 10**7, "")
        hin = model.NewIntVar(0, 10**5, "")
        lon = model.NewIntVar(0, 10**5, "")
        hint_totals, hint_nights = [], []
        for vid in team_members:
            person = problem.people[vid]
            mine = by_person.get(vid, [])
            hint_totals.append(person.base_minutes + sum(s.minutes for s in mine if (s.id, vid) in hint))
            hint_nights.append(person.base_nights + sum(1 for s in mine if s.night and (s.id, vid) in hint))
            total = person.base_minutes + sum(s.minutes * x[(s.id, vid)] for s in mine)
            nights = person.base_nights + sum(x[(s.id, vid)] for s in mine if s.night)
            model.Add(hi >= total)
            model.Add(lo <= total)
            model.Add(hin >= nights)
            model.Add(lon <= nights)
        for var, value in (
            (hi, max(hint_totals)),
            (lo, min(hint_totals)),
            (hin, max(hint_nights)),
            (lon, min(hint_nights)),
        ):
            model.AddHint(var, value)
        terms += [W_HOURS * (hi - lo), W_NIGHTS * (hin - lon)]
    shift_of = {s.id: s for s in shifts}
    for (sid, vid), var in x.items():
        s = shift_of[sid]
        if vid in problem.usual.get((s.team_id, s.local_date.weekday(), s.hhmm), ()):
            terms.append(-W_USUAL * var)
        if problem.fill_to_max:
            terms.append(-W_FILL * var)
    terms += _partner_terms(problem, teams, shifts, x, model, hint)
    model.Minimize(sum(terms))
    for key, var in x.items():
        model.AddHint(var, 1 if key in hint else 0)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, budget)
    solver.parameters.num_workers = current_app.config.get("PLANNER_WORKERS", 2)
    solver.parameters.random_seed = 1
    code = solver.Solve(model)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return [key for key, var in x.items() if solver.BooleanValue(var)], solver.StatusName(code)
    # No solution in time: the greedy one keeps every hard rule too.
    return sorted(hint), "GREEDY"


def _partner_terms(problem: Problem, teams: list[int], shifts: list[_Shift], x, model, hint) -> list:
    """A reward for each shift two usual partners share (one already on it counts too)."""
    if not problem.partners:
        return []
    in_teams = set(teams)
    pairs_by_team: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for a, b in problem.partners:
        if a in problem.people and b in problem.people:
            for team_id in problem.people[a].teams & problem.people[b].teams & in_teams:
                pairs_by_team[team_id].append((a, b))
    terms = []
    for s in shifts:
        for a, b in pairs_by_team.get(s.team_id, ()):
            xa, xb = x.get((s.id, a)), x.get((s.id, b))
            if xa is not None and xb is not None:
                both = model.NewBoolVar("")
                model.AddImplication(both, xa)
                model.AddImplication(both, xb)
                model.AddHint(both, 1 if (s.id, a) in hint and (s.id, b) in hint else 0)
                terms.append(-W_PARTNER * both)
            elif xa is not None and b in s.on:
                terms.append(-W_PARTNER * xa)
            elif xb is not None and a in s.on:
                terms.append(-W_PARTNER * xb)
    return terms


def _greedy(problem: Problem, shifts: list[_Shift], x, by_person, places, room) -> set[tuple[int, int]]:
    """Least-loaded first, shift by shift: a feasible start for the solver (and its fallback)."""
    load = {vid: problem.people[vid].base_minutes for vid in by_person}
    taken: dict[int, list[_Shift]] = defaultdict(list)
    week_used: dict[tuple[int, dt.date], int] = defaultdict(int)
    picked: set[tuple[int, int]] = set()
    for s in sorted(shifts, key=lambda s: s.starts_at):
        need = max(0, s.min - s.assigned) if not problem.fill_to_max else places.get(s.id, 0)
        need = min(need, places.get(s.id, 0))
        wanted = [q for q, _count in problem.requirements.get(s.template_id, [])]
        # Holders of a required qualification first (then least loaded), so the hint meets requirements too.
        candidates = sorted(
            (v for v in problem.members.get(s.team_id, []) if (s.id, v) in x),
            key=lambda v: (not any(problem.people[v].holds(q, s.local_date) for q in wanted), load[v], v),
        )
        left = dict(room.get(s.id, []))
        for vid in candidates:
            if need <= 0:
                break
            person = problem.people[vid]
            if any(_too_close(problem, s, o) for o in taken[vid]):
                continue
            lacking = [q for q in left if not person.holds(q, s.local_date)]
            if any(left[q] <= 0 for q in lacking):
                continue
            week = service.week_bounds(s.local_date)[0]
            if person.limit is not None and (
                person.week_minutes[week] + week_used[(vid, week)] + s.minutes > person.limit * 60
            ):
                continue
            for q in lacking:
                left[q] -= 1
            picked.add((s.id, vid))
            taken[vid].append(s)
            week_used[(vid, week)] += s.minutes
            load[vid] += s.minutes
            need -= 1
    return picked


def _unfilled(problem: Problem, shifts: list[_Shift], picked: list[tuple[int, int]]) -> list[dict]:  # noqa: C901
    """Shifts still below their minimum or a qualification requirement, with why members could not come."""
    on: dict[int, set[int]] = defaultdict(set)
    planned: dict[int, list[_Shift]] = defaultdict(list)
    shift_of = {s.id: s for s in shifts}
    for sid, vid in picked:
        on[sid].add(vid)
        planned[vid].append(shift_of[sid])
    out = []
    for s in shifts:
        staff = s.on | on[s.id]
        short = max(0, s.min - len(staff))
        missing_quals = []
        for qualification_id, count in problem.requirements.get(s.template_id, []):
            have = sum(
                1 for v in staff if v in problem.people and problem.people[v].holds(qualification_id, s.local_date)
            )
            if have < count:
                missing_quals.append({"qualification_id": qualification_id, "missing": count - have})
        if not short and not missing_quals:
            continue
        reasons: dict[str, int] = defaultdict(int)
        for vid in problem.members.get(s.team_id, []):
            if vid in staff:
                continue
            person = problem.people[vid]
            code = static_refusal(problem, s, person)
            if code is None and any(_too_close(problem, s, o) for o in planned[vid]):
                code = "rest"
            if code is None and person.limit is not None:
                week = service.week_bounds(s.local_date)[0]
                used = sum(o.minutes for o in planned[vid] if service.week_bounds(o.local_date)[0] == week)
                if person.week_minutes[week] + used + s.minutes > person.limit * 60:
                    code = "weekly_limit"
            if code is None and missing_quals:
                code = "not_qualified"
            reasons[code or "other"] += 1
        out.append(
            {
                "shift_id": s.id,
                "team_id": s.team_id,
                "date": s.local_date.isoformat(),
                "times": f"{service.hhmm(s.starts_at)}–{service.hhmm(s.ends_at)}",
                "short": short,
                "missing_quals": missing_quals,
                "members": len(problem.members.get(s.team_id, [])),
                "reasons": dict(reasons),
            }
        )
    return out


def reason_text(code: str, count: int) -> str:
    """The reason, in the reader's language."""
    labels = {
        "already_assigned": ngettext("%(num)s already on it", "%(num)s already on it", count),
        "unavailable": ngettext(
            "%(num)s said they cannot do this date", "%(num)s said they cannot do this date", count
        ),
        "overlap": ngettext("%(num)s on an overlapping shift", "%(num)s on an overlapping shift", count),
        "rest": ngettext(
            "%(num)s too close to another of their shifts (minimum rest)",
            "%(num)s too close to another of their shifts (minimum rest)",
            count,
        ),
        "weekly_limit": ngettext("%(num)s at their weekly hour limit", "%(num)s at their weekly hour limit", count),
        "not_qualified": ngettext(
            "%(num)s lack the required qualification", "%(num)s lack the required qualification", count
        ),
        "other": ngettext("%(num)s other", "%(num)s other", count),
    }
    return labels.get(code, labels["other"])


def unfilled_text(item: dict) -> str:
    parts = [reason_text(code, n) for code, n in sorted(item["reasons"].items())]
    head = _(
        "%(date)s %(times)s: %(short)s short of the minimum",
        date=item["date"],
        times=item["times"],
        short=item["short"],
    )
    if item["missing_quals"]:
        head += " " + _("(qualification missing)")
    if not item["members"]:
        return head + " — " + _("the team has no active members")
    return head + " — " + "; ".join(parts)


# --- the service interface --------------------------------------------------------------------


def _teams_for(actor: User, team_id: int | None) -> list[int]:
    if team_id is None:
        if actor.role is not Role.ADMIN:
            raise service.forbidden(_("Only an admin can plan every team at once."))
        return list(db.session.scalars(sa.select(PatrolTeam.id).where(PatrolTeam.active.is_(True))))
    if db.session.get(PatrolTeam, team_id) is None:
        raise service.not_found(_("This team does not exist."))
    if not service.can_manage_team(actor, team_id):
        raise service.forbidden()
    return [team_id]


def validate_range(first: dt.date, last: dt.date) -> None:
    if last < first:
        raise RuleViolation(_("The last date is before the first date."), "bad_range", 400)
    if (last - first).days >= MAX_RANGE_DAYS:
        raise RuleViolation(_("Choose at most %(days)s days at a time.", days=MAX_RANGE_DAYS), "bad_range", 400)


def make_plan(
    actor: User,
    team_id: int | None,
    first: dt.date,
    last: dt.date,
    *,
    fill_to_max: bool = False,
    rest_hours: float | None = None,
    time_limit: float | None = None,
    progress=None,
) -> Plan:
    """Solve and store a DRAFT plan (nothing is assigned until it is published)."""
    validate_range(first, last)
    team_ids = _teams_for(actor, team_id)
    config = current_app.config
    rest_hours = config.get("PLANNER_REST_HOURS", DEFAULT_REST_HOURS) if rest_hours is None else rest_hours
    if not 0 <= rest_hours <= 48:
        raise RuleViolation(_("Choose a rest between 0 and 48 hours."), "bad_input", 400)
    if time_limit is None:
        time_limit = config.get("PLANNER_TIME_LIMIT", 1.2 if team_id is not None else 45.0)
    began = time.perf_counter()
    problem = load_problem(team_ids, first, last, rest_hours=rest_hours, fill_to_max=fill_to_max)
    loaded = time.perf_counter() - began
    solution = solve(problem, time_limit, progress)
    summary = _figures(problem, solution)
    summary.update(loaded_seconds=round(loaded, 3), fill_to_max=fill_to_max, rest_hours=rest_hours)

    def work():
        plan = Plan(team_id=team_id, first_day=first, last_day=last, created_by_id=actor.id, summary=summary)
        db.session.add(plan)
        db.session.flush()
        if solution.chosen:
            db.session.execute(
                sa.insert(PlanEntry),
                [
                    {"plan_id": plan.id, "shift_id": s, "volunteer_id": v, "created_at": utcnow()}
                    for s, v in solution.chosen
                ],
            )
        record(
            actor,
            "plan.create",
            "plan",
            plan.id,
            team_id=team_id,
            first=first.isoformat(),
            last=last.isoformat(),
            entries=len(solution.chosen),
            unfilled=len(solution.unfilled),
        )
        return plan

    return service.in_transaction(work)


def _figures(problem: Problem, solution: Solution) -> dict:
    minutes: dict[int, int] = {vid: p.base_minutes for vid, p in problem.people.items()}
    shift_of = {s.id: s for s in problem.shifts}
    for sid, vid in solution.chosen:
        minutes[vid] += shift_of[sid].minutes
    spreads = []
    for team_members in problem.members.values():
        values = [minutes[v] / 60 for v in team_members]
        if values:
            spreads.append(max(values) - min(values))
    needed = sum(max(0, s.min - s.assigned) for s in problem.shifts)
    on: dict[int, set[int]] = {s.id: set(s.on) for s in problem.shifts}
    for sid, vid in solution.chosen:
        on[sid].add(vid)
    partner_shifts = sum(1 for people in on.values() for a, b in problem.partners if a in people and b in people)
    return {
        "shifts": len(problem.shifts),
        "places_needed": needed,
        "places_planned": len(solution.chosen),
        "shifts_at_minimum": sum(1 for s in problem.shifts) - sum(1 for u in solution.unfilled if u["short"]),
        "max_spread_hours": round(max(spreads, default=0), 2),
        "partner_shifts": partner_shifts,
        "status": solution.status,
        "solve_seconds": round(solution.seconds, 3),
        "unfilled": solution.unfilled,
    }


def get_plan(actor: User, plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise service.not_found(_("This plan does not exist."))
    if plan.team_id is None:
        if actor.role is not Role.ADMIN:
            raise service.forbidden()
    elif not service.can_manage_team(actor, plan.team_id):
        raise service.forbidden()
    return plan


def _draft(actor: User, plan_id: int) -> Plan:
    plan = get_plan(actor, plan_id)
    db.session.refresh(plan)
    if plan.status is not PlanStatus.DRAFT:
        raise RuleViolation(_("This plan has already been published or discarded."), "plan_closed")
    return plan


def remove_entry(actor: User, plan_id: int, entry_id: int) -> None:
    def work():
        plan = _draft(actor, plan_id)
        entry = db.session.get(PlanEntry, entry_id)
        if entry is None or entry.plan_id != plan.id:
            raise service.not_found(_("This entry does not exist."))
        db.session.delete(entry)
        record(actor, "plan.remove_entry", "plan", plan.id, shift_id=entry.shift_id, volunteer_id=entry.volunteer_id)

    service.in_transaction(work)


def add_entry(actor: User, plan_id: int, shift_id: int, volunteer_id: int) -> PlanEntry:  # noqa: C901
    """Add a person to a shift of the draft: the service's rules against the roster, and no clash
    (overlap, rest, weekly limit, place) with the rest of the draft."""

    def work():
        plan = _draft(actor, plan_id)
        shift = db.session.get(Shift, shift_id)
        if shift is None or not plan.first_day <= shift.local_date <= plan.last_day:
            raise service.not_found(_("This shift does not exist."))
        if plan.team_id is not None and shift.team_id != plan.team_id:
            raise service.forbidden()
        volunteer = service._volunteer(volunteer_id)
        service._check_bookable(shift, volunteer, self_service=False)
        entries = db.session.execute(
            sa.select(PlanEntry.shift_id, PlanEntry.volunteer_id).where(PlanEntry.plan_id == plan.id)
        ).all()
        if (shift.id, volunteer.id) in {tuple(e) for e in entries}:
            raise RuleViolation(_("This volunteer is already on this shift."), "already_assigned")
        if shift.assigned_count + sum(1 for s, _v in entries if s == shift.id) >= shift.max_volunteers:
            raise RuleViolation(_("This shift is already full."), "shift_full")
        rest = dt.timedelta(hours=plan.summary.get("rest_hours", DEFAULT_REST_HOURS))
        mine = [s for s, v in entries if v == volunteer.id]
        week = service.week_bounds(shift.local_date)
        week_minutes = 0
        for other in db.session.scalars(sa.select(Shift).where(Shift.id.in_(mine))) if mine else []:
            if other.starts_at < shift.ends_at + rest and shift.starts_at < other.ends_at + rest:
                raise RuleViolation(
                    _("%(name)s would have too little rest between two planned shifts.", name=volunteer.display_name),
                    "rest",
                )
            if week[0] <= other.local_date < week[1]:
                week_minutes += _minutes(other.starts_at, other.ends_at)
        if volunteer.weekly_hours_limit is not None:
            hours = (
                service.hours_in_week(volunteer.id, shift.local_date)
                + (week_minutes + _minutes(shift.starts_at, shift.ends_at)) / 60
            )
            if hours > volunteer.weekly_hours_limit:
                raise RuleViolation(
                    _("%(name)s would be above their weekly hour limit.", name=volunteer.display_name), "weekly_limit"
                )
        entry = PlanEntry(plan_id=plan.id, shift_id=shift.id, volunteer_id=volunteer.id)
        db.session.add(entry)
        db.session.flush()
        record(actor, "plan.add_entry", "plan", plan.id, shift_id=shift.id, volunteer_id=volunteer.id)
        return entry

    return service.in_transaction(work)


def check_rest(booked: Assignment, rest: dt.timedelta) -> None:
    """Refuse (code "rest") when the person has another active assignment less than `rest` before
    or after this one: what was assigned since the draft was made counts, as do the plan's
    entries already booked in this transaction. The message names both shifts."""
    other = db.session.scalar(
        sa.select(Assignment)
        .where(
            Assignment.volunteer_id == booked.volunteer_id,
            Assignment.status == AssignmentStatus.ASSIGNED,
            Assignment.id != booked.id,
            Assignment.starts_at < booked.ends_at + rest,
            Assignment.ends_at > booked.starts_at - rest,
        )
        .order_by(Assignment.starts_at)
        .limit(1)
    )
    if other is None:
        return
    shift, theirs = booked.shift, other.shift
    raise RuleViolation(
        _(
            "%(name)s would have less than %(hours)s hours of rest between the %(times)s shift of %(team)s "
            "on %(date)s and the %(other_times)s shift of %(other_team)s on %(other_date)s; "
            "nothing was published.",
            name=booked.volunteer.display_name,
            hours=f"{rest.total_seconds() / 3600:g}",
            times=service.shift_times(shift),
            team=service._team_label(shift.team),
            date=service._date_label(shift.local_date),
            other_times=service.shift_times(theirs),
            other_team=service._team_label(theirs.team),
            other_date=service._date_label(theirs.local_date),
        ),
        "rest",
    )


def publish(actor: User, plan_id: int) -> int:
    """Book every entry through the assignment service in ONE transaction: all of them, or none
    (the first refusal rolls everything back and names the shift and person).

    Besides the service's rules (`_book`), the planner's minimum rest (the plan's `rest_hours`,
    PLANNER_REST_HOURS, default 10) is re-checked against everything assigned now, since people
    may have been booked after the draft was made (`check_rest`)."""

    def work():
        plan = _draft(actor, plan_id)
        entries = db.session.execute(
            sa.select(PlanEntry.shift_id, PlanEntry.volunteer_id, Shift.team_id)
            .join(Shift, Shift.id == PlanEntry.shift_id)
            .where(PlanEntry.plan_id == plan.id)
            .order_by(Shift.starts_at, PlanEntry.id)
        ).all()
        for team_id in {t for _s, _v, t in entries}:
            if not service.can_manage_team(actor, team_id):
                raise service.forbidden()
        service.lock_users(*{v for _s, v, _t in entries})  # all at once, in id order: no deadlock cycle
        rest = dt.timedelta(hours=plan.summary.get("rest_hours", DEFAULT_REST_HOURS))
        for shift_id, volunteer_id, _team in entries:
            booked = service._book(actor, shift_id, volunteer_id, self_service=False, locked=True)
            check_rest(booked, rest)
        plan.status = PlanStatus.PUBLISHED
        plan.published_at = utcnow()
        record(actor, "plan.publish", "plan", plan.id, team_id=plan.team_id, assignments=len(entries))
        return len(entries)

    return service.in_transaction(work)


def discard(actor: User, plan_id: int) -> None:
    def work():
        plan = _draft(actor, plan_id)
        plan.status = PlanStatus.DISCARDED
        record(actor, "plan.discard", "plan", plan.id)

    service.in_transaction(work)


def summary_lines(plan: Plan) -> list[str]:
    s = plan.summary
    lines = [
        _(
            "Plan %(id)s (draft) %(first)s – %(last)s: %(shifts)s shifts, %(planned)s of %(needed)s places "
            "to the minimum planned, %(ok)s shifts reach their minimum; spread %(spread)s h; solver %(status)s "
            "in %(seconds)s s.",
            id=plan.id,
            first=plan.first_day.isoformat(),
            last=plan.last_day.isoformat(),
            shifts=s.get("shifts", 0),
            planned=s.get("places_planned", 0),
            needed=s.get("places_needed", 0),
            ok=s.get("shifts_at_minimum", 0),
            spread=s.get("max_spread_hours", 0),
            status=s.get("status", ""),
            seconds=s.get("solve_seconds", 0),
        )
    ]
    unfilled = s.get("unfilled", [])
    if unfilled:
        lines.append(_("Cannot be filled (%(n)s):", n=len(unfilled)))
        lines += ["  " + unfilled_text(u) for u in unfilled]
    return lines


@dataclass
class Review:
    people: list[dict]  # per person: user, shifts, hours, nights (already assigned + planned)
    shifts: list[dict]  # per shift: shift, already on it, planned entries
    unfilled: list[str]


def review(plan: Plan) -> Review:
    """What the coordinator reviews, in a fixed number of queries: per person and per shift."""
    shift_rows = db.session.scalars(
        sa.select(Shift)
        .where(
            Shift.local_date >= plan.first_day,
            Shift.local_date <= plan.last_day,
            Shift.status == ShiftStatus.SCHEDULED,
            *([Shift.team_id == plan.team_id] if plan.team_id is not None else []),
        )
        .order_by(Shift.starts_at, Shift.id)
    ).all()
    shift_ids = [s.id for s in shift_rows]
    entries = db.session.execute(
        sa.select(PlanEntry.id, PlanEntry.shift_id, PlanEntry.volunteer_id).where(PlanEntry.plan_id == plan.id)
    ).all()
    existing = (
        db.session.execute(
            sa.select(Assignment.shift_id, Assignment.volunteer_id).where(
                Assignment.shift_id.in_(shift_ids), Assignment.status == AssignmentStatus.ASSIGNED
            )
        ).all()
        if shift_ids
        else []
    )
    user_ids = {v for _e, _s, v in entries} | {v for _s, v in existing}
    if plan.team_id is not None:
        user_ids |= set(
            db.session.scalars(sa.select(TeamMembership.user_id).where(TeamMembership.team_id == plan.team_id))
        )
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    by_id = {s.id: s for s in shift_rows}
    per_shift = {s.id: {"shift": s, "on": [], "planned": []} for s in shift_rows}
    per_person = {uid: {"user": u, "shifts": 0, "hours": 0.0, "nights": 0, "planned": 0} for uid, u in users.items()}
    for sid, vid in existing:
        per_shift[sid]["on"].append(users[vid])
    for entry_id, sid, vid in entries:
        if sid in per_shift:
            per_shift[sid]["planned"].append((entry_id, users[vid]))
            per_person[vid]["planned"] += 1
    for sid, vid in list(existing) + [(s, v) for _e, s, v in entries]:
        s = by_id.get(sid)
        if s is None or vid not in per_person:
            continue
        row = per_person[vid]
        row["shifts"] += 1
        row["hours"] += _minutes(s.starts_at, s.ends_at) / 60
        row["nights"] += is_night(s.starts_at, s.ends_at)
    people = sorted(per_person.values(), key=lambda r: (-r["hours"], r["user"].name, r["user"].id))
    return Review(people, list(per_shift.values()), [unfilled_text(u) for u in plan.summary.get("unfilled", [])])
