"""An independent check of a published roster, straight from the database (no planner code):
every hard rule the planner promises, recomputed from the raw rows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa

from models import db


def check_roster(
    first: dt.date, last: dt.date, rest_hours: float = 10, rest_since: dt.datetime | None = None
) -> list[str]:
    """Return every broken rule (empty list: all hold) for the shifts dated first..last.

    Rest is checked between pairs where at least one assignment was created at/after `rest_since`
    (the planner's own), since people may have booked close shifts themselves before.
    """
    problems: list[str] = []
    conn = db.session.connection()
    shifts = {
        r.id: r
        for r in conn.execute(
            sa.text(
                "SELECT id, team_id, template_id, local_date, starts_at, ends_at, min_volunteers, max_volunteers,"
                " assigned_count, status FROM shifts"
            )
        )
    }
    rows = conn.execute(
        sa.text(
            "SELECT id, shift_id, volunteer_id, starts_at, ends_at, created_at FROM assignments WHERE status = 'assigned'"
        )
    ).all()
    members = {(r.team_id, r.user_id) for r in conn.execute(sa.text("SELECT team_id, user_id FROM team_memberships"))}
    users = {r.id: r for r in conn.execute(sa.text("SELECT id, active, weekly_hours_limit FROM users"))}
    off = conn.execute(sa.text("SELECT user_id, weekday, day FROM unavailabilities")).all()
    per_shift = defaultdict(list)
    per_person = defaultdict(list)

    def as_date(v):
        return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10])

    def as_dt(v):
        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v)
        return v.replace(tzinfo=None) if v.tzinfo is None else v.astimezone(dt.UTC).replace(tzinfo=None)

    for a in rows:
        per_shift[a.shift_id].append(a)
        per_person[a.volunteer_id].append(a)
    for sid, items in per_shift.items():
        s = shifts[sid]
        if len(items) > s.max_volunteers:
            problems.append(f"shift {sid}: {len(items)} > max {s.max_volunteers}")
        if len(items) != s.assigned_count:
            problems.append(f"shift {sid}: assigned_count {s.assigned_count} != {len(items)}")
        if len({a.volunteer_id for a in items}) != len(items):
            problems.append(f"shift {sid}: a volunteer twice")
    for vid, items in per_person.items():
        items.sort(key=lambda a: as_dt(a.starts_at))
        for a in items:
            s = shifts[a.shift_id]
            day = as_date(s.local_date)
            if not first <= day <= last:
                continue
            if (s.team_id, vid) not in members:
                problems.append(f"volunteer {vid} on shift {s.id} of a team they are not in")
            if not users[vid].active:
                problems.append(f"inactive volunteer {vid} on shift {s.id}")
            for uid, weekday, d in off:
                if uid == vid and (weekday == day.weekday() or (d is not None and as_date(d) == day)):
                    problems.append(f"volunteer {vid} unavailable on {day} but on shift {s.id}")
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                a_end, b_start = as_dt(a.ends_at), as_dt(b.starts_at)
                if b_start < a_end:
                    problems.append(f"volunteer {vid}: shifts {a.shift_id} and {b.shift_id} overlap")
                elif b_start - a_end < dt.timedelta(hours=rest_hours) and (
                    rest_since is None or max(as_dt(a.created_at), as_dt(b.created_at)) >= as_dt(rest_since)
                ):
                    problems.append(f"volunteer {vid}: under {rest_hours} h rest between {a.shift_id} and {b.shift_id}")
        limit = users[vid].weekly_hours_limit
        if limit is not None:
            weeks = defaultdict(float)
            for a in items:
                day = as_date(shifts[a.shift_id].local_date)
                weeks[day - dt.timedelta(days=day.weekday())] += (
                    as_dt(a.ends_at) - as_dt(a.starts_at)
                ).total_seconds() / 3600
            for week, hours in weeks.items():
                if hours > limit:
                    problems.append(f"volunteer {vid}: {hours} h in week of {week} > limit {limit}")
    return problems


def unmet_requirements(first: dt.date, last: dt.date) -> list[int]:
    """Shifts in the range whose template requires a qualification fewer holders (valid that day) have."""
    conn = db.session.connection()
    out = []
    reqs = conn.execute(sa.text("SELECT template_id, qualification_id, count FROM template_requirements")).all()
    for template_id, qualification_id, count in reqs:
        for sid, local_date in conn.execute(
            sa.text("SELECT id, local_date FROM shifts WHERE template_id = :t AND status = 'scheduled'"),
            {"t": template_id},
        ):
            day = local_date if isinstance(local_date, dt.date) else dt.date.fromisoformat(str(local_date))
            if not first <= day <= last:
                continue
            holders = conn.execute(
                sa.text(
                    "SELECT count(*) FROM assignments a JOIN volunteer_qualifications q ON q.user_id = a.volunteer_id"
                    " WHERE a.shift_id = :s AND a.status = 'assigned' AND q.qualification_id = :q"
                    " AND (q.expires_on IS NULL OR q.expires_on >= :d)"
                ),
                {"s": sid, "q": qualification_id, "d": day},
            ).scalar()
            if holders < count:
                out.append(sid)
    return out
