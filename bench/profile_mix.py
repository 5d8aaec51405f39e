"""CPU time per request, by kind of the load mix, in-process (Flask test client) on PostgreSQL.

    python bench/profile_mix.py [--quick] [--n 200] [--top 25] [--database-url postgresql+psycopg://...]

Loads a fresh database exactly as bench/load.py does (db upgrade, demo load, schedule generate,
then ANALYZE as autovacuum would), builds the same targets, and for each kind (feed, page, api,
signup, write) replays --n requests through the test client in production mode, measuring
process CPU time (time.process_time) per request: on a noisy shared machine this is steadier than
wall-clock throughput (measured once without and once under cProfile, whose own cost per call inflates it); and the Python calls per request, which do not depend on the machine's load. Prints ms of CPU per request and the top cProfile entries per kind.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import secrets
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", load.DEFAULT_SERVER))
    parser.add_argument("--n", type=int, default=200, help="requests per kind (default 200)")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--kinds", default="feed,page,api,signup,write")
    parser.add_argument("--sort", default="tottime", help="pstats order: tottime (own time) or cumulative")
    parser.add_argument("--sql", action="store_true", help="also list the SQL statements of one more action per kind")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n, args.top = 20, 5
    rng = random.Random(20260101)
    name, url = load.create_database(args.database_url)
    try:
        env = dict(os.environ, DATABASE_URL=url, APP_ENV="production", SECRET_KEY=secrets.token_hex(32))
        load.prepare_data(env, horizon_days=14 if args.quick else 90)
        targets = load.build_targets(url, rng)
        os.environ.update(APP_ENV="production", RATELIMIT_ENABLED="0", HSTS_ENABLED="0", SECRET_KEY=env["SECRET_KEY"])
        os.environ.update(RUN_SCHEDULER_IN_PROCESS="0", LOG_FORMAT="json")
        from app import create_app

        # The test client speaks http: production's Secure cookies would never come back (login 400).
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False}
        )
        import logging

        logging.disable(logging.WARNING)
        for kind in args.kinds.split(","):
            if not targets.get(kind):
                continue
            client = app.test_client()
            # Production checks a POST's Referer (Flask-WTF's SSL-strict CSRF); a browser sends one.
            client.environ_base["HTTP_REFERER"] = "https://localhost/"
            etags: dict[str, str] = {}
            subs = rng.sample(targets["feed"], min(6, len(targets["feed"]))) if kind == "feed" else None
            if kind == "signup":
                t = targets["signup"][0]
                page = client.get(t["login"]).get_data(as_text=True)
                token = load._CSRF.search(page)[1]
                login = client.post(
                    t["login"], data={"email": t["volunteers"][0], "password": t["password"], "csrf_token": token}
                )
                print(f"signup: logged in once ({login.status_code}), then page + POST per action")

            def one(kind=kind, client=client, subs=subs, etags=etags):
                if kind == "feed":
                    path = rng.choice(subs)["path"]
                    r = client.get(path, headers={"If-None-Match": etags[path]} if path in etags else {})
                    if r.status_code == 200 and r.headers.get("ETag"):
                        etags[path] = r.headers["ETag"]
                elif kind == "signup":
                    t = targets["signup"][0]
                    r = client.get(t["path"])
                    html = r.get_data(as_text=True)
                    tok, shifts = load._CSRF.search(html), load._SHIFT_ID.findall(html)
                    if tok and shifts:
                        client.post(
                            t["path"],
                            data=urllib.parse.urlencode({"shift_id": rng.choice(shifts), "csrf_token": tok[1]}),
                            content_type="application/x-www-form-urlencoded",
                        )
                else:
                    t = rng.choice(targets[kind])
                    r = client.open(t["path"], method=t["method"], data=t.get("body"), headers=t.get("headers", {}))
                    r.get_data()

            for _ in range(30):
                one()  # warm-up: templates compiled, the subscribed feeds built once
            # CPU without the profiler first: cProfile's own cost per call would inflate it.
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(args.n):
                one()
            bare_cpu, bare_wall = time.process_time() - c0, time.perf_counter() - w0
            prof = cProfile.Profile()
            c0, w0 = time.process_time(), time.perf_counter()
            prof.enable()
            for _ in range(args.n):
                one()
            prof.disable()
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            # A sign-up action is two requests (page + POST).
            out = io.StringIO()
            stats = pstats.Stats(prof, stream=out)
            # Python calls per action: the same on a busy machine as on an idle one, unlike CPU time.
            print(
                f"\n== {kind}: {1000 * bare_cpu / args.n:.2f} ms CPU per action ({1000 * bare_wall / args.n:.2f} ms "
                f"wall; under the profiler {1000 * cpu / args.n:.2f} ms CPU, {1000 * wall / args.n:.2f} ms wall), "
                f"{stats.total_calls / args.n:,.0f} Python calls per action"
            )
            stats.sort_stats(args.sort).print_stats(args.top)
            print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
            if args.sql:
                import sqlalchemy as sa

                from models import db

                statements: list[str] = []

                def before(conn, cursor, statement, parameters, context, executemany, sink=statements):
                    sink.append(" ".join(statement.split())[:140])

                with app.app_context():
                    engine = db.engine
                sa.event.listen(engine, "before_cursor_execute", before)
                try:
                    one()
                finally:
                    sa.event.remove(engine, "before_cursor_execute", before)
                print(f"-- {len(statements)} SQL statements in one more {kind} action:")
                for statement in statements:
                    print(f"   {statement}")
        with app.app_context():
            from models import db

            db.engine.dispose()
    finally:
        load.drop_database(args.database_url, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
