"""Benchmark: a year of patrol shifts for 120 teams (about 87,600 rows), on SQLite and PostgreSQL.

    python bench/generate.py                      # SQLite (a temporary file)
    python bench/generate.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

For each database it creates its own schema (a temp SQLite file; a temp PostgreSQL database,
dropped afterwards), then measures in the same run:
  1. `generate_shifts` for the year, including its existing-key reads and commit;
  2. a plain Core bulk insert (executemany) of exactly the same rows into the emptied table;
and prints both times (best of --repeat interleaved rounds), rows per second and the ratio
(target: generation within 3x of the plain insert).
A second generation run is timed too: it must create nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import sqlalchemy as sa  # noqa: E402

TEAMS = 120
START = dt.date(2027, 1, 1)


def _seed(db, teams: int) -> None:
    from models import ALL_WEEKDAYS, PatrolTeam, ShiftTemplate, TeamKind

    db.session.execute(
        sa.insert(PatrolTeam),
        [
            {
                "code": f"B{n:03d}",
                "kind": TeamKind.PUBLIC_SECURITY,
                "name_zh": f"基准队{n}",
                "name_en": f"Bench team {n}",
                "is_sample": True,
            }
            for n in range(1, teams + 1)
        ],
    )
    team_ids = db.session.scalars(sa.select(PatrolTeam.id).order_by(PatrolTeam.id)).all()
    spans = [(dt.time(19, 0), dt.time(22, 0)), (dt.time(22, 0), dt.time(2, 0))]  # the second crosses midnight
    db.session.execute(
        sa.insert(ShiftTemplate),
        [
            {
                "team_id": team_id,
                "name": f"shift {i}",
                "weekdays": ALL_WEEKDAYS,
                "local_start": start,
                "local_end": end,
                "area_zh": "示例区域",
                "area_en": "Sample area",
                "min_volunteers": 2,
                "max_volunteers": 6,
                "valid_from": START,
            }
            for team_id in team_ids
            for i, (start, end) in enumerate(spans)
        ],
    )
    db.session.commit()


def _clear(db) -> None:
    from models import Shift

    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("TRUNCATE shifts RESTART IDENTITY CASCADE"))
        db.session.commit()
    else:
        db.session.execute(sa.delete(Shift))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM"))


def run(url: str, label: str, teams: int, repeat: int) -> dict:
    from app import create_app
    from models import Shift, db
    from scheduler.shifts import generate_shifts

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    until = START + dt.timedelta(days=364)
    with app.app_context():
        db.create_all()
        _seed(db, teams)

        # Warm-up run: fills caches (holiday-free here, but zoneinfo, statements) and gives the rows.
        generate_shifts(START, until)
        db.session.commit()
        columns = [c for c in Shift.__table__.columns if c.name != "id"]
        rows = [dict(row._mapping) for row in db.session.execute(sa.select(*columns))]
        _clear(db)

        # Interleaved rounds, best of each: the machine may be shared, and noise only ever adds time.
        plain, generated = float("inf"), float("inf")
        for _round in range(repeat):
            began = time.perf_counter()
            db.session.execute(sa.insert(Shift.__table__), rows)
            db.session.commit()
            plain = min(plain, time.perf_counter() - began)
            _clear(db)

            began = time.perf_counter()
            result = generate_shifts(START, until)
            db.session.commit()
            generated = min(generated, time.perf_counter() - began)
            if _round < repeat - 1:
                _clear(db)

        began = time.perf_counter()
        again = generate_shifts(START, until)
        db.session.commit()
        second = time.perf_counter() - began
        count = db.session.scalar(sa.select(sa.func.count(Shift.id)))
        db.session.remove()
        db.engine.dispose()
    assert result.created == len(rows) == count and again.created == 0, (result, again, count)
    figures = {"label": label, "rows": result.created, "generate": generated, "plain": plain, "second": second}
    print(
        f"{label:<10} {result.created:>7,} shifts  generate {generated:6.2f} s ({result.created / generated:9,.0f} rows/s)"
        f"  plain insert {plain:6.2f} s ({len(rows) / plain:9,.0f} rows/s)  ratio {generated / plain:4.2f}x"
        f"  second run {second:5.2f} s, {again.created} created"
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="a PostgreSQL server URL (any existing database); a temp database is created on it",
    )
    parser.add_argument("--teams", type=int, default=TEAMS)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best time of each kind is reported")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke run for CI: 4 teams, one round")
    args = parser.parse_args()
    if args.quick:
        args.teams, args.repeat = 4, 1

    print(
        f"{args.teams} teams x 2 templates x 365 days from {START}, best of {args.repeat} rounds;"
        " target: generate within 3x of plain insert"
    )
    results = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run("sqlite:///" + os.path.join(tmp, "bench.sqlite3"), "SQLite", args.teams, args.repeat))
    if args.postgres:
        server = sa.engine.make_url(args.postgres)
        name = f"bench_generate_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            results.append(
                run(
                    server.set(database=name).render_as_string(hide_password=False),
                    "PostgreSQL",
                    args.teams,
                    args.repeat,
                )
            )
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return 0 if all(r["generate"] <= 3 * r["plain"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
