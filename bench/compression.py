"""Compressed sizes and gzip CPU cost of feeds, pages and CSS: python bench/compression.py

Builds the demo data set in a temporary SQLite database, fetches every public feed, every team
feed and the main pages (public ones, and an admin's) through the test client with and without
`Accept-Encoding: gzip`, and prints, for the largest feeds and for each page: the body size, the
size sent to a gzip client, and the CPU time of one gzip compression (level 6, as served).
Feeds compress each body once per change and worker (feeds/cache.py); pages on every response.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = [
    "/",
    "/contact-days",
    "/contact-days?view=month",
    "/holiday-court",
    "/legal-clinic",
    "/communities",
    "/static/site.css",
    "/static/public.css",
]
ADMIN_PAGES = ["/roster/coverage", "/roster/", "/feeds/tokens", "/admin/people/users", "/admin/holidays/"]


def main() -> None:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    import demo
    from app import create_app
    from feeds import tokens
    from models import Community, PatrolTeam, db

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3", "WTF_CSRF_ENABLED": False})
        with app.app_context():
            upgrade()
            demo.load()
            feeds = ["/feeds/contact-days.ics", "/feeds/holiday-court.ics", "/feeds/legal-clinic.ics"]
            feeds += [f"/feeds/communities/{slug}.ics" for slug in db.session.scalars(sa.select(Community.slug))]
            feeds += [
                f"/feeds/t/{tokens.get_or_issue(team=team).token}.ics"
                for team in db.session.scalars(sa.select(PatrolTeam).order_by(PatrolTeam.id))
            ]
            db.session.commit()
            db.engine.dispose()
        client = app.test_client()

        def body(response) -> bytes:
            return b"".join(response.response) if response.is_streamed else response.get_data()

        def measure(path: str) -> tuple:
            plain = body(client.get(path))
            packed = client.get(path, headers={"Accept-Encoding": "gzip"})
            start, repeat = time.process_time(), 50
            for _ in range(repeat):
                gzip.compress(plain, 6)
            cpu_ms = (time.process_time() - start) / repeat * 1000
            return path, len(plain), len(body(packed)), packed.headers.get("Content-Encoding", "-"), cpu_ms

        def show(rows) -> None:
            for path, plain, packed, encoding, cpu_ms in rows:
                print(f"  {path[:44]:44} {plain:>9,} -> {packed:>7,} bytes  {encoding:5} {cpu_ms:5.2f} ms CPU")

        feed_rows = sorted((measure(path) for path in feeds), key=lambda row: -row[1])
        print(f"feeds ({len(feed_rows)}), the five largest:")
        show(feed_rows[:5])
        print(f"  all feeds: {sum(r[1] for r in feed_rows):,} -> {sum(r[2] for r in feed_rows):,} bytes")
        print("public pages and CSS:")
        show([measure(path) for path in PAGES])
        client.post("/login", data={"email": "admin@demo.sip.example", "password": demo.DEMO_PASSWORD})
        print("pages of a logged-in admin:")
        show([measure(path) for path in ADMIN_PAGES])


if __name__ == "__main__":
    main()
