"""Response times and query counts of the public pages at the source's scale.

    python bench/public_pages.py            # a temporary SQLite database
    DATABASE_URL=postgresql+psycopg://... python bench/public_pages.py   # an EMPTY database of yours
    python bench/public_pages.py --quick    # smoke run (CI): two months of sessions, one request per page

A year of sessions: 40 communities x 12 contact days, 2 court sessions and 4 clinic sessions on each
of ~120 court days, 1,587 suggestions (the source's count to the end of 2013). Prints the median of
20 requests per page and the number of SQL statements each request runs, rendered and from the
anonymous page cache.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from dateutil.rrule import MONTHLY, SU, rrule  # noqa: E402

from app import create_app  # noqa: E402
from models import Community, Occurrence, Programme, ProgrammeKind, Suggestion, SuggestionStatus, db  # noqa: E402
from services import clinic  # noqa: E402
from timeutil import local_today, span_utc  # noqa: E402

PAGES = [
    "/",
    "/?community=jinhu",
    "/contact-days",
    "/contact-days?view=month",
    "/contact-days?community=jinhu",
    "/holiday-court",
    "/legal-clinic",
    "/communities/jinhu",
    "/search?q=hu",
    "/legal-clinic/book/{clinic}",
]


def build(months: int = 12, court_days_wanted: int = 120, suggestions: int = 1587) -> int:
    import demo

    demo.load()  # places, people, programmes (no sessions: those come from the scheduler)
    programmes = {p.kind: p for p in db.session.scalars(sa.select(Programme))}
    communities = list(db.session.scalars(sa.select(Community).order_by(Community.slug)))
    today = local_today()
    rows = []
    for day in rrule(MONTHLY, byweekday=SU(2), dtstart=dt.datetime.combine(today, dt.time(0)), count=months):
        for community in communities:
            start, end = span_utc(day.date(), dt.time(9), dt.time(11, 30))
            venue = community.venues[0] if community.venues else None
            rows.append(
                {
                    "programme_id": programmes[ProgrammeKind.CONTACT_DAY].id,
                    "community_id": community.id,
                    "venue_id": venue.id if venue else None,
                    "rule_date": day.date(),
                    "starts_at": start,
                    "ends_at": end,
                }
            )
    day, court_days = today, 0
    while court_days < court_days_wanted:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            continue
        court_days += 1
        for kind, count in ((ProgrammeKind.HOLIDAY_COURT, 2), (ProgrammeKind.LEGAL_CLINIC, 4)):
            for n in range(count):
                start, end = span_utc(day, dt.time(9 + 4 * (n % 2)), dt.time(12 + 4 * (n % 2)))
                rows.append(
                    {
                        "programme_id": programmes[kind].id,
                        "rule_date": day,
                        "starts_at": start + dt.timedelta(seconds=n),
                        "ends_at": end,
                        "capacity": 8,
                        "bilingual": n == 0,
                    }
                )
    for row in rows:
        row.setdefault("uid", os.urandom(16).hex())
    db.session.execute(sa.insert(Occurrence), rows)
    now = dt.datetime.now(dt.UTC)
    db.session.execute(
        sa.insert(Suggestion),
        [
            {
                "tracking_number": f"B{n:09d}",
                "content": "sample",
                "status": SuggestionStatus.CLOSED,
                "created_at": now - dt.timedelta(days=n % 700),
                "answered_at": now - dt.timedelta(days=n % 700 - 9),
            }
            for n in range(suggestions)
        ],
    )
    first_clinic = db.session.scalar(
        sa.select(Occurrence)
        .where(Occurrence.programme_id == programmes[ProgrammeKind.LEGAL_CLINIC].id)
        .order_by(Occurrence.starts_at)
        .limit(1)
    )
    clinic.ensure_slots(first_clinic)
    db.session.commit()
    return first_clinic.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run for CI: small data, one request per page")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
    if args.quick:  # never the DATABASE_URL of a real run
        url = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
    rounds = 1 if args.quick else 20
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        db.create_all()
        clinic_id = build(2, 8, 50) if args.quick else build()
        engine = db.engine
    client = app.test_client()
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    print(f"database: {engine.dialect.name}")
    # "rendered": every request renders (the page cache off); "cached": an anonymous repeat, served
    # by views/page_cache.py (its data-version probe runs on the feeds' probe pool, not counted here).
    print(f"{'page':<42} {'rendered ms':>11} {'queries':>8} {'cached ms':>10} {'queries':>8}")
    for path in PAGES:
        path = path.format(clinic=clinic_id)
        for lang in ("zh", "en"):
            full = f"{path}{'&' if '?' in path else '?'}lang={lang}"
            row = []
            for cached in (False, True):
                app.config["PAGE_CACHE_ENABLED"] = cached
                client.get(full)
                times = []
                for _ in range(rounds):
                    statements.clear()
                    start = time.perf_counter()
                    response = client.get(full)
                    times.append((time.perf_counter() - start) * 1000)
                    assert response.status_code == 200, (full, response.status_code)
                row.append((statistics.median(times), len(statements)))
            (rendered, queries), (hit, hit_queries) = row
            print(f"{full:<42} {rendered:>11.1f} {queries:>8} {hit:>10.1f} {hit_queries:>8}")


if __name__ == "__main__":
    main()
