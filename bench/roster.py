"""Benchmark: roster pages and the coverage dashboard at full scale.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_roster python bench/roster.py
    python bench/roster.py                      # SQLite file under /tmp
    python bench/roster.py --rebuild --runs 30
    python bench/roster.py --quick              # smoke run (CI): small data, one run per page

Full scale is the SPEC's: 120 teams x 30 volunteers, two shifts per team per day for a year
(87,600 shifts, half past with attendance, half ahead) and about 300,000 assignments. The data
set is built once (bulk inserts) and reused. Each page is requested through the app's test
client as a logged-in coordinator or admin; the figures are the median server time (routing,
queries, rendering) over the runs after one warm-up request, and the number of SQL statements.
The database's own schema comes from the models (create_all), like the test suite's.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from app import create_app  # noqa: E402
from models import (  # noqa: E402
    Assignment,
    AssignmentStatus,
    Attendance,
    MembershipRole,
    PatrolTeam,
    Role,
    Shift,
    TeamKind,
    TeamMembership,
    User,
    db,
)
from timeutil import local_today, span_utc  # noqa: E402

TEAMS = 120
VOLUNTEERS = 30
DAYS_BACK = 182
DAYS_AHEAD = 183
PASSWORD = "bench-password"
SPANS = [(dt.time(19), dt.time(22)), (dt.time(22), dt.time(2))]  # the second crosses midnight


def build(rebuild: bool) -> None:
    if (
        not rebuild
        and sa.inspect(db.engine).has_table("shifts")
        and db.session.scalar(sa.select(sa.func.count(Shift.id)))
    ):
        return
    started = time.perf_counter()
    db.drop_all()
    db.create_all()
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    users = [
        dict(email="admin@bench.example", name="管理员", name_en="Admin", role=Role.ADMIN, password_hash=password_hash)
    ]
    for t in range(1, TEAMS + 1):
        users.append(
            dict(
                email=f"coord{t:03d}@bench.example",
                name=f"协调员{t}",
                name_en=f"Coordinator {t}",
                role=Role.COORDINATOR,
                password_hash=password_hash,
            )
        )
        for v in range(VOLUNTEERS):
            users.append(
                dict(
                    email=f"v{t:03d}-{v:02d}@bench.example",
                    name=f"志愿者{t}-{v}",
                    name_en=f"Volunteer {t}-{v}",
                    role=Role.VOLUNTEER,
                    password_hash=password_hash,
                )
            )
    db.session.execute(sa.insert(User), users)
    user_ids = dict(db.session.execute(sa.select(User.email, User.id)).all())
    db.session.execute(
        sa.insert(PatrolTeam),
        [
            dict(code=f"T{t:03d}", kind=TeamKind.PUBLIC_SECURITY, name_zh=f"巡逻队{t}", name_en=f"Patrol team {t}")
            for t in range(1, TEAMS + 1)
        ],
    )
    team_ids = dict(db.session.execute(sa.select(PatrolTeam.code, PatrolTeam.id)).all())
    memberships = []
    for t in range(1, TEAMS + 1):
        team_id = team_ids[f"T{t:03d}"]
        memberships.append(
            dict(team_id=team_id, user_id=user_ids[f"coord{t:03d}@bench.example"], role=MembershipRole.COORDINATOR)
        )
        memberships += [
            dict(team_id=team_id, user_id=user_ids[f"v{t:03d}-{v:02d}@bench.example"], role=MembershipRole.MEMBER)
            for v in range(VOLUNTEERS)
        ]
    db.session.execute(sa.insert(TeamMembership), memberships)

    today = local_today()
    days = [today + dt.timedelta(days=n) for n in range(-DAYS_BACK, DAYS_AHEAD)]
    now = dt.datetime.now(dt.UTC)
    shift_rows = []
    for t in range(1, TEAMS + 1):
        for day in days:
            for start, end in SPANS:
                starts_at, ends_at = span_utc(day, start, end)
                shift_rows.append(
                    dict(
                        team_id=team_ids[f"T{t:03d}"],
                        local_date=day,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        min_volunteers=3,
                        max_volunteers=6,
                        assigned_count=0,
                    )
                )
    for chunk in range(0, len(shift_rows), 20000):
        db.session.execute(sa.insert(Shift), shift_rows[chunk : chunk + 20000])
    shifts = db.session.execute(
        sa.select(Shift.id, Shift.team_id, Shift.local_date, Shift.starts_at, Shift.ends_at)
    ).all()
    code_of = {v: k for k, v in team_ids.items()}
    day_index = {day: n for n, day in enumerate(days)}
    assignments, counts = [], []
    for shift in shifts:
        t = int(code_of[shift.team_id][1:])
        n = day_index[shift.local_date]
        night = shift.starts_at.astimezone(dt.UTC).hour == 14  # 22:00 in Shanghai
        # Evening and night draw from different halves of the team: nobody overlaps.
        base = (n * 4 + (15 if night else 0)) % VOLUNTEERS
        # Mostly 3 or 4 people; every ninth upcoming shift is left short, so the dashboard has gaps.
        size = 2 if (n + t) % 9 == 0 and shift.starts_at > now else 3 + (n + t) % 2
        people = [user_ids[f"v{t:03d}-{(base + k) % 15 + (15 if night else 0):02d}@bench.example"] for k in range(size)]
        past = shift.ends_at < now
        for person in people:
            assignments.append(
                dict(
                    shift_id=shift.id,
                    volunteer_id=person,
                    starts_at=shift.starts_at,
                    ends_at=shift.ends_at,
                    status=AssignmentStatus.ASSIGNED,
                    attendance=Attendance.PRESENT if past else Attendance.UNKNOWN,
                    hours_credited=3 if past else 0,
                )
            )
        counts.append(dict(sid=shift.id, n=size))
    for chunk in range(0, len(assignments), 20000):
        db.session.execute(sa.insert(Assignment), assignments[chunk : chunk + 20000])
    table = Shift.__table__
    db.session.execute(
        sa.update(table).where(table.c.id == sa.bindparam("sid")).values(assigned_count=sa.bindparam("n")), counts
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    print(
        f"built {len(shift_rows):,} shifts and {len(assignments):,} assignments "
        f"in {time.perf_counter() - started:.0f} s"
    )


def measure(app, client, path: str, runs: int) -> tuple[float, int]:
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    response = client.get(path)  # warm-up: caches, first connection
    assert response.status_code == 200, (path, response.status_code)
    times = []
    per_request = []
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(runs):
            statements.clear()
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, path
            per_request.append(len(statements))
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return statistics.median(times) * 1000, max(per_request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the data set")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run for CI: 17 teams, 7 weeks, one run each, a temporary SQLite file",
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "sqlite:////tmp/sip-bench-roster.sqlite3")
    if args.quick:
        global TEAMS, DAYS_BACK, DAYS_AHEAD
        TEAMS, DAYS_BACK, DAYS_AHEAD = 17, 7, 42  # team T017 is measured; assign() needs shifts 30+ days ahead
        args.runs, args.rebuild = 1, True
        scratch = tempfile.mkdtemp(prefix="sip-bench-roster-")
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        url = "sqlite:///" + os.path.join(scratch, "quick.sqlite3")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        build(args.rebuild)
        totals = {
            m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (PatrolTeam, User, Shift, Assignment)
        }
    print(f"database: {url.split('@')[-1]}  " + ", ".join(f"{k} {v:,}" for k, v in totals.items()))

    today = local_today()
    monday = today - dt.timedelta(days=today.weekday())
    pages = {
        "coordinator": [
            ("month roster of one team", f"/roster/team/T017?view=month&month={today:%Y-%m}"),
            ("week roster with availability", f"/roster/team/T017?start={monday.isoformat()}"),
            ("printable month roster", f"/roster/team/T017/print?month={today:%Y-%m}"),
            ("team hours for the year", f"/roster/team/T017/hours?year={today.year}"),
        ],
        "admin": [
            ("coverage, 120 teams, 30 days", "/roster/coverage?days=30"),
            ("coverage, 120 teams, 7 days", "/roster/coverage?days=7"),
            ("coverage, 30 days, by next gap", "/roster/coverage?days=30&sort=next_gap"),
        ],
    }
    logins = {"coordinator": "coord017@bench.example", "admin": "admin@bench.example"}
    print(f"{'page':<34} {'median ms':>10} {'queries':>8}")
    for who, items in pages.items():
        client = app.test_client()
        response = client.post("/login", data={"email": logins[who], "password": PASSWORD})
        assert response.status_code == 302, "login failed"
        for label, path in items:
            median_ms, queries = measure(app, client, path, args.runs)
            print(f"{label:<34} {median_ms:>10.1f} {queries:>8}")

    # Booking through the service, rules and locks included: assign a volunteer, then undo it.
    from services import assignments as service

    with app.app_context():
        coordinator = db.session.scalar(sa.select(User).where(User.email == "coord017@bench.example"))
        team_id = db.session.scalar(sa.select(PatrolTeam.id).where(PatrolTeam.code == "T017"))
        spare = db.session.scalar(sa.select(User.id).where(User.email == "v017-14@bench.example"))
        busy = sa.select(Assignment.shift_id).where(
            Assignment.volunteer_id == spare, Assignment.status == AssignmentStatus.ASSIGNED
        )
        shift_ids = db.session.scalars(
            sa.select(Shift.id)
            .where(
                Shift.team_id == team_id,
                Shift.local_date > today + dt.timedelta(days=30),
                Shift.id.not_in(busy),
                Shift.starts_at.not_in(sa.select(Assignment.starts_at).where(Assignment.shift_id.in_(busy))),
                Shift.assigned_count < Shift.max_volunteers,
            )
            .order_by(Shift.starts_at)
            .limit(args.runs)
        ).all()
        times = []
        for shift_id in shift_ids:
            started = time.perf_counter()
            assignment = service.assign(coordinator, shift_id, spare)
            times.append(time.perf_counter() - started)
            service.unassign(coordinator, assignment.id)
        print(f"{'assign() through the rules':<34} {statistics.median(times) * 1000:>10.1f}")


if __name__ == "__main__":
    main()
