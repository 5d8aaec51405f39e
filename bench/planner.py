"""Benchmark: the roster planner against "fill from the usual volunteers" on the same data.

    python bench/planner.py            # 120 teams x 25 volunteers (3,000), January 2027 (7,440 shifts), SQLite
    python bench/planner.py --quick    # 4 teams (CI)
    python bench/planner.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/sip_bench python bench/planner.py
                                       # an existing, EMPTY database (createdb it first); emptied after

Each team has an evening (19:00-22:00) and a night (22:00-02:00) shift a day, 2 to 6 volunteers,
and eight weeks of history in which a few regulars did most shifts (as on T001 in issue 12).
Figures: seconds, shifts at their minimum, spread of January hours within a team (max - min, and
the standard deviation), for one team-month and for all teams; then the same for fill_from_usual.
Targets: one team-month < 2 s, all teams < 60 s, spread at most a third of fill_from_usual's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import sqlalchemy as sa  # noqa: E402

FIRST, LAST = dt.date(2027, 1, 1), dt.date(2027, 1, 31)
HISTORY = dt.date(2026, 11, 6)
MEMBERS = 25


def _seed(db, teams: int) -> None:
    from models import ALL_WEEKDAYS, MembershipRole, PatrolTeam, Role, ShiftTemplate, TeamKind, TeamMembership, User
    from scheduler.shifts import generate_shifts

    db.session.execute(
        sa.insert(PatrolTeam),
        [
            {"code": f"B{n:03d}", "kind": TeamKind.PUBLIC_SECURITY, "name_zh": f"基准队{n}", "name_en": f"Bench {n}"}
            for n in range(1, teams + 1)
        ],
    )
    team_ids = db.session.scalars(sa.select(PatrolTeam.id).order_by(PatrolTeam.id)).all()
    db.session.execute(
        sa.insert(User),
        [{"email": "admin@bench.example", "name": "admin", "role": Role.ADMIN, "password_hash": "x"}]
        + [
            {"email": f"v{t}-{i}@bench.example", "name": f"志愿者{t}-{i}", "role": Role.VOLUNTEER, "password_hash": "x"}
            for t in team_ids
            for i in range(MEMBERS)
        ],
    )
    users = {u.email: u.id for u in db.session.execute(sa.select(User.email, User.id))}
    db.session.execute(
        sa.insert(TeamMembership),
        [
            {"team_id": t, "user_id": users[f"v{t}-{i}@bench.example"], "role": MembershipRole.MEMBER}
            for t in team_ids
            for i in range(MEMBERS)
        ],
    )
    spans = [(dt.time(19), dt.time(22)), (dt.time(22), dt.time(2))]
    db.session.execute(
        sa.insert(ShiftTemplate),
        [
            {
                "team_id": t,
                "name": f"shift {i}",
                "weekdays": ALL_WEEKDAYS,
                "local_start": a,
                "local_end": b,
                "min_volunteers": 2,
                "max_volunteers": 6,
                "valid_from": HISTORY,
            }
            for t in team_ids
            for i, (a, b) in enumerate(spans)
        ],
    )
    generate_shifts(HISTORY, LAST)
    db.session.commit()
    _history(db, users)


def _history(db, users) -> None:
    """Eight weeks in which about 11 regulars per team did the shifts, a few of them most."""
    from models import Assignment, Shift

    rng = random.Random(12)
    by_team: dict[int, list[int]] = {}
    for email, uid in users.items():
        if email.startswith("v"):
            by_team.setdefault(int(email[1:].split("-")[0]), []).append(uid)
    rows = []
    for sid, team_id, starts_at, ends_at in db.session.execute(
        sa.select(Shift.id, Shift.team_id, Shift.starts_at, Shift.ends_at).where(Shift.local_date < FIRST)
    ):
        regulars = sorted(by_team[team_id])[:11]
        for vid in set(rng.choices(regulars, weights=range(11, 0, -1), k=2)):
            rows.append({"shift_id": sid, "volunteer_id": vid, "starts_at": starts_at, "ends_at": ends_at})
    db.session.execute(sa.insert(Assignment), rows)
    db.session.commit()


def _spread(db, team_ids, plan_id=None) -> tuple[float, float, int]:
    """Max - min January hours within a team (worst team), their std dev (mean over teams), shifts at minimum."""
    from models import Assignment, AssignmentStatus, PlanEntry, Shift, TeamMembership

    hours: dict[int, float] = {}
    if plan_id is None:
        q = (
            sa.select(Assignment.volunteer_id, Shift.id, Shift.starts_at, Shift.ends_at)
            .join(Shift, Shift.id == Assignment.shift_id)
            .where(Assignment.status == AssignmentStatus.ASSIGNED, Shift.local_date >= FIRST)
        )
    else:
        q = (
            sa.select(PlanEntry.volunteer_id, Shift.id, Shift.starts_at, Shift.ends_at)
            .join(Shift, Shift.id == PlanEntry.shift_id)
            .where(PlanEntry.plan_id == plan_id)
        )
    per_shift: dict[int, int] = {}
    for vid, sid, a, b in db.session.execute(q):
        hours[vid] = hours.get(vid, 0) + (b - a).total_seconds() / 3600
        per_shift[sid] = per_shift.get(sid, 0) + 1
    members: dict[int, list[int]] = {}
    for t, u in db.session.execute(sa.select(TeamMembership.team_id, TeamMembership.user_id)):
        if t in team_ids:
            members.setdefault(t, []).append(u)
    spreads, stds = [], []
    for us in members.values():
        values = [hours.get(u, 0.0) for u in us]
        spreads.append(max(values) - min(values))
        stds.append(statistics.pstdev(values))
    shifts = db.session.execute(
        sa.select(Shift.id, Shift.min_volunteers).where(Shift.team_id.in_(team_ids), Shift.local_date >= FIRST)
    ).all()
    at_min = sum(1 for sid, m in shifts if per_shift.get(sid, 0) >= m)
    return max(spreads), statistics.mean(stds), at_min


def run(url: str, label: str, teams: int, keep_schema: bool = True) -> None:
    from app import create_app
    from models import PatrolTeam, Role, User, db
    from services import planner
    from services.roster_bulk import fill_from_usual

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context(), app.test_request_context():
        if not keep_schema and sa.inspect(db.engine).get_table_names():
            raise SystemExit(f"{url}: the database is not empty; give an empty one (createdb a new one).")
        db.create_all()
        _seed(db, teams)
        admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
        team_ids = list(db.session.scalars(sa.select(PatrolTeam.id).order_by(PatrolTeam.id)))
        total = len(team_ids) * 62

        began = time.perf_counter()
        one = planner.make_plan(admin, team_ids[0], FIRST, LAST)
        one_s = time.perf_counter() - began
        spread, std, at_min = _spread(db, [team_ids[0]], one.id)
        print(
            f"{label} planner, one team-month: {one_s:.2f} s, {at_min}/62 shifts at minimum, "
            f"spread {spread:.1f} h, std dev {std:.2f} h, usual partners together on "
            f"{one.summary['partner_shifts']} shifts, solver {one.summary['status']}"
        )

        began = time.perf_counter()
        every = planner.make_plan(admin, None, FIRST, LAST)
        all_s = time.perf_counter() - began
        p_spread, p_std, p_min = _spread(db, team_ids, every.id)
        print(
            f"{label} planner, {len(team_ids)} teams: {all_s:.2f} s, {p_min}/{total} shifts at minimum, "
            f"worst team spread {p_spread:.1f} h, mean std dev {p_std:.2f} h, "
            f"usual partners together on {every.summary['partner_shifts']} shifts, solver {every.summary['status']}"
        )

        began = time.perf_counter()
        for t in team_ids:
            fill_from_usual(admin, t, FIRST, LAST)
        usual_s = time.perf_counter() - began
        u_spread, u_std, u_min = _spread(db, team_ids)
        print(
            f"{label} fill_from_usual, {len(team_ids)} teams: {usual_s:.2f} s, {u_min}/{total} shifts at minimum, "
            f"worst team spread {u_spread:.1f} h, mean std dev {u_std:.2f} h"
        )
        ratio = p_spread / u_spread if u_spread else 0
        print(
            f"{label} spread ratio planner/usual: {ratio:.2f} (target <= 0.33); "
            f"one team {'OK' if one_s < 2 else 'SLOW'} (< 2 s), all teams {'OK' if all_s < 60 else 'SLOW'} (< 60 s)"
        )
        db.session.remove()
        if keep_schema is False:
            db.drop_all()
        db.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 teams (CI)")
    parser.add_argument("--postgres", help="PostgreSQL server URL (a temporary database is created and dropped)")
    args = parser.parse_args()
    teams = 4 if args.quick else 120
    given = os.environ.get("BENCH_DATABASE_URL")
    if given:
        label = "PostgreSQL" if given.startswith("postgresql") else "SQLite"
        run(given, label, teams, keep_schema=False)
    elif args.postgres:
        name = f"bench_planner_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            run(args.postgres.rsplit("/", 1)[0] + "/" + name, "PostgreSQL", teams)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", "SQLite", teams)
    return 0


if __name__ == "__main__":
    sys.exit(main())
