"""Load benchmark: gunicorn with 4 workers on PostgreSQL, a realistic request mix on loopback.

    python bench/load.py [--duration 60] [--warmup 10] [--rate 100] [--rate-warmup 30] [--via-nginx] [--quick]
                         [--database-url postgresql+psycopg://postgres@127.0.0.1:5432]

One command, from a fresh clone with the requirements installed and PostgreSQL running:
1. creates a fresh database (dropped again at the end), `flask db upgrade`, `flask demo load`,
   and `flask schedule generate` when that command exists, then ANALYZE (a production database has
   planner statistics from autovacuum; a fresh one would get them mid-run and change its plans);
2. starts gunicorn (gunicorn.conf.py, 4 workers) on a free loopback port, in production mode;
3. measures a bare route of the same server (no database, no template) for the floor;
4. after --warmup seconds of the same mix, not counted (a server that has run a while has imported
   its modules, compiled its templates and filled its caches in every worker), replays for
   --duration seconds a mix of whatever the service offers, found in its URL map:
   calendar-feed polls with If-None-Match (each client a subscriber polling its few feeds), public
   pages (each visitor in one language, as the pages' links keep it), API reads, volunteers'
   sign-ups on their open-shifts page (each client logs in once per 25 sign-ups and keeps
   that session in its own cookie jar, with CSRF tokens; its pages, API reads and feeds are a
   resident's, anonymous) and coordinators' assignments through the API; shifts for two weeks are
   made from the demo teams' templates if the scheduler's generator is not there;
5. then sends the same mix open-loop at a fixed arrival rate (--rate, default 100 req/s, for
   --rate-duration seconds; bench/openloop.py): latency counted from each request's intended start,
   so a stalled server cannot hide its stall (no coordinated omission); its clients first run
   --rate-warmup seconds (default 30) at that rate, not counted, and the p99 of every 5 s window
   is printed, so a start-up backlog and a steady state can be told apart;
6. then the anonymous public pages alone, closed-loop, for their ratio to the bare route;
7. prints throughput, p50/p95/p99 latency, the error count and the ratio to the bare route, for the
   closed loop (the maximum the server takes) and the fixed rate (what a resident feels at that
   rate), the CPU per request of gunicorn's processes and of this load generator for each phase
   (steadier than req/s on a shared machine; a generator near a core's worth is itself the limit),
   and exits non-zero if any request failed. Everything it started is stopped, also on Ctrl-C.

--via-nginx puts nginx in front (deploy/nginx.conf, run by bench/nginx.py as a child process on a
free port, gunicorn with TRUSTED_PROXIES=1) and sends every request, the bare route's too, to it.
--quick: a small, short round (seconds per phase, a 14-day schedule) to check that it works.

Only 127.0.0.1 is ever contacted. Rate limits are off for the run: one client address sends all
the traffic, which a production limiter would (rightly) throttle.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import http.client
import json
import os
import pathlib
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
SIGNUP_ENDPOINT = "volunteer.open_shifts"  # the volunteers' page listing open shifts, with a sign-up form each
# Relative weights of the mix; a kind the service does not offer drops out.
MIX = {"feed": 45, "page": 25, "api": 15, "signup": 10, "write": 5}


# ---------------------------------------------------------------- setup


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_database(server_url: str) -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(sa.engine.make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return name, url


def drop_database(server_url: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(sa.engine.make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def flask(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=900,
    )


def prepare_data(env: dict, horizon_days: int = 90) -> list[str]:
    steps = []
    # The demo data set is refused in production (published passwords); the server runs in production mode.
    env = dict(env, APP_ENV="development")
    flask(env, "db", "upgrade")
    steps.append("db upgrade")
    flask(env, "demo", "load")
    steps.append("demo load")
    if flask(env, "schedule", "generate", "--help", check=False).returncode == 0:
        from timeutil import local_today

        until = (local_today() + dt.timedelta(days=horizon_days)).isoformat()
        flask(env, "schedule", "generate", "--until", until)
        steps.append(f"schedule generate --until {until}")
    # A production database has planner statistics (autovacuum's ANALYZE); a freshly loaded one has
    # none until autovacuum gets to it, mid-run, so the plans would change while we measure.
    import sqlalchemy as sa

    engine = sa.create_engine(env["DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    steps.append("ANALYZE")
    return steps


def build_targets(database_url: str, rng: random.Random) -> dict[str, list[dict]]:
    """Requests the mix can make, found in the URL map and the freshly loaded data."""
    os.environ["DATABASE_URL"] = database_url
    import sqlalchemy as sa

    from api.tokens import issue_token
    from app import create_app
    from demo import DEMO_PASSWORD
    from models import (
        Community,
        FeedKind,
        FeedToken,
        MembershipRole,
        PatrolTeam,
        Shift,
        ShiftTemplate,
        TeamMembership,
        User,
        db,
        utcnow,
    )
    from timeutil import local_today, span_utc

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    targets: dict[str, list[dict]] = collections.defaultdict(list)
    with app.app_context(), app.test_request_context():
        adapter = app.url_map.bind("localhost")
        slugs = list(db.session.scalars(sa.select(Community.slug).order_by(Community.slug)))
        teams = list(db.session.scalars(sa.select(PatrolTeam.id).order_by(PatrolTeam.id).limit(20)))
        volunteers = list(
            db.session.scalars(
                # distinct and ordered: a volunteer in two sample teams gets one feed token, whatever the plan
                sa.select(User.id)
                .join(TeamMembership)
                .where(TeamMembership.team_id.in_(teams), TeamMembership.role == MembershipRole.MEMBER)
                .distinct()
                .order_by(User.id)
            )
        )
        # Private feeds: use the demo's tokens, or make some, as subscribers would have.
        tokens = {
            kind: list(
                db.session.scalars(
                    sa.select(FeedToken.token).where(FeedToken.kind == kind, FeedToken.revoked_at.is_(None)).limit(50)
                )
            )
            for kind in FeedKind
        }
        if not tokens[FeedKind.TEAM]:
            rows = [FeedToken(kind=FeedKind.TEAM, team_id=team_id) for team_id in teams]
            db.session.add_all(rows)
            db.session.flush()
            tokens[FeedKind.TEAM] = [row.token for row in rows]
        if not tokens[FeedKind.VOLUNTEER]:
            rows = [FeedToken(kind=FeedKind.VOLUNTEER, user_id=user_id) for user_id in volunteers[:50]]
            db.session.add_all(rows)
            db.session.flush()
            tokens[FeedKind.VOLUNTEER] = [row.token for row in rows]

        def values_for(rule) -> list[dict]:
            args = sorted(rule.arguments)
            if not args:
                return [{}]
            if args == ["slug"]:
                return [{"slug": s} for s in slugs[:10]]
            if args == ["token"] and "/t/" in rule.rule:
                return [{"token": t} for t in tokens[FeedKind.TEAM]]
            if args == ["token"] and "/v/" in rule.rule:
                return [{"token": t} for t in tokens[FeedKind.VOLUNTEER]]
            return []

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            if rule.rule.startswith("/feeds/"):
                kind = "feed"
            elif rule.endpoint.startswith("public."):
                kind = "page"
            else:
                continue
            for values in values_for(rule):
                for lang in ("zh_CN", "en"):
                    path = adapter.build(rule.endpoint, {**values, "lang": lang})
                    targets[kind].append({"method": "GET", "path": path, "kind": kind})

        for query in ("lang=en&per_page=20", "lang=zh_CN&language=en", "lang=en&per_page=50&page=2"):
            targets["api"].append({"method": "GET", "path": f"/api/v1/occurrences?{query}", "kind": "api"})
        for slug in slugs[:10]:
            targets["api"].append(
                {"method": "GET", "path": f"/api/v1/occurrences?community={slug}&lang=en", "kind": "api"}
            )
        targets["api"] += [
            {"method": "GET", "path": "/api/v1/communities?per_page=100", "kind": "api"},
            {"method": "GET", "path": "/api/v1/venues?kind=liaison_centre", "kind": "api"},
            {"method": "GET", "path": "/api/v1/programmes?lang=en", "kind": "api"},
        ]

        # Shifts for the sample teams' next two weeks, unless the scheduler's generator made them.
        if not db.session.scalar(sa.select(Shift.id).where(Shift.team_id.in_(teams)).limit(1)):
            today = local_today()
            for template in db.session.scalars(sa.select(ShiftTemplate).where(ShiftTemplate.team_id.in_(teams))):
                for offset in range(1, 15):
                    day = today + dt.timedelta(days=offset)
                    starts_at, ends_at = span_utc(day, template.local_start, template.local_end)
                    db.session.add(
                        Shift(
                            team_id=template.team_id,
                            template_id=template.id,
                            local_date=day,
                            starts_at=starts_at,
                            ends_at=ends_at,
                            area_zh=template.area_zh,
                            area_en=template.area_en,
                            min_volunteers=template.min_volunteers,
                            max_volunteers=template.max_volunteers,
                        )
                    )
            db.session.flush()

        # Sign-ups through the volunteers' own page, when the service has one.
        endpoints = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
        signup = endpoints.get(SIGNUP_ENDPOINT)
        if signup is not None and "POST" in signup.methods and "auth.login" in endpoints:
            emails = list(db.session.scalars(sa.select(User.email).where(User.id.in_(volunteers)).order_by(User.id)))
            targets["signup"] = [
                {
                    "kind": "signup",
                    "path": adapter.build(SIGNUP_ENDPOINT, {"lang": "en"}),
                    "login": adapter.build("auth.login"),
                    "volunteers": emails,
                    "password": DEMO_PASSWORD,
                }
            ]

        # Writes: coordinators put their own volunteers on their own teams' coming shifts.
        shifts = db.session.execute(
            sa.select(Shift.id, Shift.team_id)
            .where(Shift.team_id.in_(teams), Shift.starts_at > utcnow() + dt.timedelta(days=3))
            .order_by(Shift.starts_at)
            .limit(400)
        ).all()
        if shifts:
            coordinator_of = dict(
                db.session.execute(
                    sa.select(TeamMembership.team_id, TeamMembership.user_id).where(
                        TeamMembership.team_id.in_(teams), TeamMembership.role == MembershipRole.COORDINATOR
                    )
                ).all()
            )
            members = collections.defaultdict(list)
            for team_id, user_id in db.session.execute(
                sa.select(TeamMembership.team_id, TeamMembership.user_id).where(
                    TeamMembership.team_id.in_(teams), TeamMembership.role == MembershipRole.MEMBER
                )
            ):
                members[team_id].append(user_id)
            api_tokens = {
                team_id: issue_token(db.session.get(User, user_id)) for team_id, user_id in coordinator_of.items()
            }
            for shift_id, team_id in shifts:
                if team_id in api_tokens and members[team_id]:
                    for volunteer_id in rng.sample(members[team_id], min(3, len(members[team_id]))):
                        targets["write"].append(
                            {
                                "method": "POST",
                                "path": f"/api/v1/shifts/{shift_id}/assignments",
                                "kind": "write",
                                "body": json.dumps({"volunteer_id": volunteer_id}),
                                "headers": {
                                    "Authorization": f"Bearer {api_tokens[team_id]}",
                                    "Content-Type": "application/json",
                                },
                            }
                        )
        db.session.commit()
        db.engine.dispose()
    return dict(targets)


# ---------------------------------------------------------------- load


# A rule that says no (shift full, overlap, cut-off) is an answer, not an error.
EXPECTED = {"GET": {200, 304}, "POST": {201, 409, 422}}
SIGNUP_EXPECTED = {303, 403, 409, 422}
FEEDS_PER_SUBSCRIBER = 6
# A volunteer's login lasts this many sign-ups; then the session cookie is dropped and the next
# sign-up logs in again. Logins (scrypt, ~120 ms of CPU each) so recur through a run at a steady
# rate, instead of all at once when the clients start. How many: 3,600 volunteers who each log in
# about once a week (a login lasts a week) make ~510 logins a day; if a sixth of them fall in the
# peak hour, at 10x that peak (the plan) that is ~0.24 logins/s against ~10 sign-up actions/s in
# 100 req/s of this mix, one login per ~40 sign-ups. One per 25 over-counts them, on purpose.
SIGNUPS_PER_VISIT = 25
_CSRF = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*\bvalue="([^"]+)"')
_SHIFT_ID = re.compile(r'name="shift_id" value="([0-9]+)"')


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: collections.Counter = collections.Counter()
        self.errors: list[str] = []
        self.cache: collections.Counter = collections.Counter()  # nginx's X-Cache, by kind (--via-nginx)
        # (when each request ended, its latency): where in a run the slow answers fall.
        self.timeline: list[tuple[float, float]] = []
        self.logins = 0

    def add(self, kind: str, status, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            self.statuses[(kind, status)] += 1
            self.timeline.append((time.perf_counter(), seconds))
            if not ok:
                self.errors.append(f"{kind} {status} {detail}")


class Client:
    """One simulated user agent: a keep-alive connection, its cookies, the ETags of its feeds."""

    def __init__(self, port: int, recorder: Recorder, seed: int):
        self.port, self.recorder, self.seed = port, recorder, seed
        self.rng = random.Random(seed)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        # Two cookie jars: the volunteer's session (sign-ups, logged in once per visit) and the
        # anonymous resident's (pages, API, feeds). Residents far outnumber logged-in volunteers;
        # with one jar every page after a sign-up was a logged-in, never-cached page.
        self.jars: dict[str, dict[str, str]] = {"volunteer": {}, "resident": {}}
        self.cookies = self.jars["resident"]
        self.etags: dict[str, str] = {}
        self.subscriptions: list[dict] | None = None
        # A visitor reads in one language (the pages' links keep it), not a new one at every click:
        # flipping ?lang= each time made every page answer with a Set-Cookie, never shareable.
        self.lang = ("zh_CN", "en")[seed % 2]
        self.signups_this_visit = 0
        # Open loop (bench/openloop.py): the next request's latency counts from its intended start.
        self.intended: float | None = None

    def send(
        self, kind: str, method: str, path: str, expected: set, body: str | None = None, headers: dict | None = None
    ) -> tuple[int | None, str, http.client.HTTPResponse | None]:
        headers = dict(headers or {})
        jar = self.jars["volunteer" if kind == "signup" else "resident"]
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        started = time.perf_counter() if self.intended is None else self.intended
        self.intended = None  # the following requests of a sign-up follow at once: their own start
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            self.recorder.add(kind, type(error).__name__, time.perf_counter() - started, False, path)
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return None, "", None
        self.recorder.add(kind, response.status, time.perf_counter() - started, response.status in expected, path)
        if response.getheader("X-Cache"):
            with self.recorder.lock:
                self.recorder.cache[(kind, response.getheader("X-Cache"))] += 1
        for cookie in response.msg.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            jar[name.strip()] = value
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return response.status, text, response

    def poll_feed(self, feeds: list[dict]) -> None:
        """A calendar app polls the same few feeds again and again, with the ETag it got last time."""
        if self.subscriptions is None:
            self.subscriptions = self.rng.sample(feeds, min(FEEDS_PER_SUBSCRIBER, len(feeds)))
        path = self.rng.choice(self.subscriptions)["path"]
        headers = {"If-None-Match": self.etags[path]} if path in self.etags else {}
        status, _, response = self.send("feed", "GET", path, EXPECTED["GET"], headers=headers)
        if status == 200 and response.getheader("ETag"):
            self.etags[path] = response.getheader("ETag")

    def sign_up(self, target: dict) -> None:
        """A volunteer logs in once per visit, opens the open-shifts page and signs up for a listed shift."""
        if "session" not in self.jars["volunteer"]:
            email = target["volunteers"][self.seed % len(target["volunteers"])]
            status, page, _ = self.send("signup", "GET", target["login"], {200})
            token = _CSRF.search(page) if status == 200 else None
            if token is None:
                return
            form = urllib.parse.urlencode({"email": email, "password": target["password"], "csrf_token": token[1]})
            with self.recorder.lock:
                self.recorder.logins += 1
            self.send(
                "signup", "POST", target["login"], {302}, form, {"Content-Type": "application/x-www-form-urlencoded"}
            )
            return
        status, page, _ = self.send("signup", "GET", target["path"], {200})
        token, shifts = _CSRF.search(page), _SHIFT_ID.findall(page)
        if status != 200 or token is None or not shifts:
            return
        form = urllib.parse.urlencode({"shift_id": self.rng.choice(shifts), "csrf_token": token[1]})
        self.send(
            "signup",
            "POST",
            target["path"],
            SIGNUP_EXPECTED,
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        self.signups_this_visit += 1
        if self.signups_this_visit >= SIGNUPS_PER_VISIT:
            self.signups_this_visit = 0
            self.jars["volunteer"].clear()  # the visit ends; the next sign-up logs in again

    def step(self, kind: str, targets: list[dict]) -> None:
        if kind == "feed":
            self.poll_feed(targets)
        elif kind == "signup":
            self.sign_up(targets[0])
        else:
            if kind == "page":
                targets = [t for t in targets if t["path"].endswith(f"lang={self.lang}")] or targets
            target = self.rng.choice(targets)
            self.send(
                kind,
                target["method"],
                target["path"],
                EXPECTED[target["method"]],
                target.get("body"),
                target.get("headers"),
            )

    def close(self) -> None:
        self.conn.close()


def client_loop(port: int, choose, recorder: Recorder, stop: threading.Event, seed: int) -> None:
    client = Client(port, recorder, seed)
    while not stop.is_set():
        kind, targets = choose(client.rng)
        client.step(kind, targets)
    client.close()


def timeline_windows(timeline: list[tuple[float, float]], width: float = 5.0) -> list[tuple[float, float, int]]:
    """(window start in seconds from the first answer, p99 latency in ms, requests) per `width` seconds."""
    if not timeline:
        return []
    start = min(ended for ended, _ in timeline)
    buckets: dict[int, list[float]] = collections.defaultdict(list)
    for ended, seconds in timeline:
        buckets[int((ended - start) // width)].append(seconds)
    return [(n * width, percentile(sorted(buckets[n]), 99) * 1000, len(buckets[n])) for n in range(max(buckets) + 1)]


def run_load(port: int, choose, seconds: float, clients: int) -> tuple[Recorder, float]:
    recorder = Recorder()
    stop = threading.Event()
    threads = [
        threading.Thread(target=client_loop, args=(port, choose, recorder, stop, n), daemon=True)
        for n in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return recorder, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summary(values: list[float], elapsed: float) -> dict:
    return {
        "requests": len(values),
        "throughput_rps": len(values) / elapsed,
        "p50_ms": percentile(values, 50) * 1000,
        "p95_ms": percentile(values, 95) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
    }


# ---------------------------------------------------------------- CPU accounting


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of a process group (gunicorn's master and workers), from /proc: the live
    processes' own time plus, for each, its reaped children's (a worker recycled by max_requests
    counts in its master's cutime); 0 where /proc is not there."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state ppid pgrp ...
            total += sum(int(value) for value in fields[11:15]) / ticks  # utime stime cutime cstime
    return total


class CpuMeter:
    """CPU per request of the server (gunicorn's processes) and of this load generator, per phase:
    steadier than requests a second on a shared machine, and it shows whether the generator is
    itself the bottleneck."""

    def __init__(self, pgid: int):
        self.pgid = pgid
        self.rows: dict[str, dict] = {}

    @contextlib.contextmanager
    def phase(self, label: str):
        server, generator = group_cpu_seconds(self.pgid), time.process_time()
        box: dict = {}
        yield box
        self.rows[label] = {
            "server_cpu_s": group_cpu_seconds(self.pgid) - server,
            "generator_cpu_s": time.process_time() - generator,
            "requests": box.get("requests", 0),
        }

    def report(self) -> dict:
        out = {}
        for label, row in self.rows.items():
            n = max(row["requests"], 1)
            out[label] = {
                **row,
                "server_cpu_ms_per_request": 1000 * row["server_cpu_s"] / n,
                "generator_cpu_ms_per_request": 1000 * row["generator_cpu_s"] / n,
            }
        return out


# ---------------------------------------------------------------- main


def wait_healthy(port: int, process: subprocess.Popen, log_path: pathlib.Path) -> None:
    for _ in range(150):
        if process.poll() is not None:
            raise SystemExit("gunicorn exited:\n" + log_path.read_text()[-4000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not become healthy:\n" + log_path.read_text()[-4000:])


def _interrupt(*_):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of the mixed load (default 60)")
    parser.add_argument("--bare-duration", type=float, default=15, help="seconds on the bare route (default 15)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=10,
        help="seconds of the mix sent first and not counted (default 10): every worker imports, compiles its "
        "templates and fills its caches once, as a server that has been up a while has",
    )
    parser.add_argument(
        "--rate-warmup",
        type=float,
        default=30,
        help="seconds at the fixed rate sent first and not counted (default 30): its 32 new subscribers' "
        "feeds are rendered once in each worker's cache; after 10 s the first 15 s measured still had "
        "p99 300-370 ms, after 30 s none did",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="PostgreSQL server URL (a fresh database is created on it and dropped)",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client connections (default 16)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument(
        "--rate",
        type=float,
        default=100,
        help="open-loop arrival rate, requests a second (default 100; 0 skips the phase)",
    )
    parser.add_argument("--rate-duration", type=float, default=60, help="seconds at the fixed rate (default 60)")
    parser.add_argument(
        "--connections", type=int, default=32, help="connections the fixed-rate requests share (default 32)"
    )
    parser.add_argument(
        "--page-duration", type=float, default=15, help="seconds of anonymous public pages alone (default 15; 0 skips)"
    )
    parser.add_argument(
        "--via-nginx", action="store_true", help="measure through nginx (deploy/nginx.conf) in front of gunicorn"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small and short (a few seconds per phase), to check that the benchmark runs",
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.bare_duration, args.rate_duration, args.page_duration = 4, 2, 3, 2
        args.warmup = min(args.warmup, 1)
        args.rate_warmup = min(args.rate_warmup, 1)
        args.workers, args.clients = min(args.workers, 2), min(args.clients, 8)
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL server URL")

    rng = random.Random(args.seed)
    name, database_url = create_database(args.database_url)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    log_path = results_dir / "gunicorn.log"
    process = None
    stack = contextlib.ExitStack()  # nginx, when --via-nginx; closed before gunicorn stops
    # Ctrl-C and `kill` both end in the finally below, which stops gunicorn and drops the database.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            APP_ENV="production",
            SECRET_KEY=secrets.token_hex(32),
            RATELIMIT_ENABLED="0",
            HSTS_ENABLED="0",
            LOG_FORMAT="json",
            RUN_SCHEDULER_IN_PROCESS="0",
            TRUSTED_PROXIES="1" if args.via_nginx else "0",
        )
        print(f"database {name}: preparing ...", flush=True)
        t0 = time.perf_counter()
        steps = prepare_data(env, horizon_days=14 if args.quick else 90)
        print(f"  {', '.join(steps)} ({time.perf_counter() - t0:.0f} s)", flush=True)
        targets = build_targets(database_url, rng)

        port = free_port()
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    "--pythonpath",
                    "bench",
                    "-w",
                    str(args.workers),
                    "-b",
                    f"127.0.0.1:{port}",
                    "bench_app:app",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_healthy(port, process, log_path)
        upstream_port = port
        if args.via_nginx:
            from nginx import Nginx

            front = stack.enter_context(Nginx(free_port(), upstream_port))
            port = front.port  # every request of every phase goes through nginx

        # Keep only what answers: a page that needs data the demo lacks is reported, not counted.
        usable: dict[str, list[dict]] = {}
        for kind, items in targets.items():
            kept = []
            for target in items if kind in ("feed", "page", "api") else []:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request(target["method"], target["path"], headers=target.get("headers", {}))
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    kept.append(target)
                else:
                    print(f"  left out of the mix: GET {target['path']} -> {status}")
            usable[kind] = kept if kind in ("feed", "page", "api") else items
        if usable.get("write"):
            probe = usable["write"][0]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", probe["path"], body=probe["body"], headers=probe["headers"])
            status = conn.getresponse().status
            conn.close()
            if status not in EXPECTED["POST"]:
                print(f"  left out of the mix: POST {probe['path']} -> {status} (API writes need services.assignments)")
                usable["write"] = []
        weights = {kind: weight for kind, weight in MIX.items() if usable.get(kind)}
        kinds, kind_weights = list(weights), list(weights.values())

        def choose(r: random.Random) -> tuple[str, list[dict]]:
            kind = r.choices(kinds, kind_weights)[0]
            return kind, usable[kind]

        load_before = os.getloadavg()[0]
        print(
            f"gunicorn: {args.workers} workers x {os.environ.get('GUNICORN_THREADS', '2')} threads on "
            f"127.0.0.1:{upstream_port}; {args.clients} client connections on loopback"
        )
        if args.via_nginx:
            print(f"nginx in front on 127.0.0.1:{port} (deploy/nginx.conf); every request goes through it")
        print(
            "mix: "
            + ", ".join(
                f"{kind} {weight:.0f}% ({len(usable[kind])} distinct requests)"
                for kind, weight in zip(kinds, [100 * w / sum(kind_weights) for w in kind_weights])
            )
        )
        missing = sorted(set(MIX) - set(weights))
        if missing:
            print("not offered by this build, left out: " + ", ".join(missing))

        bare_route = ("bare", [{"method": "GET", "path": "/_bench/bare"}])
        run_load(port, lambda r: bare_route, 3, args.clients)  # warm-up: workers import, connect, cache
        meter = CpuMeter(process.pid)
        print(f"bare route for {args.bare_duration:.0f} s ...", flush=True)
        with meter.phase("bare route") as box:
            bare, bare_elapsed = run_load(port, lambda r: bare_route, args.bare_duration, args.clients)
            box["requests"] = len(bare.latency["bare"])
        if args.warmup > 0:
            print(f"mixed load for {args.warmup:.0f} s to warm up (not counted) ...", flush=True)
            run_load(port, choose, args.warmup, args.clients)
        print(f"mixed load for {args.duration:.0f} s ...", flush=True)
        with meter.phase("mix (closed)") as box:
            mixed, mixed_elapsed = run_load(port, choose, args.duration, args.clients)
            box["requests"] = sum(len(v) for v in mixed.latency.values())
        load_mid = os.getloadavg()[0]
        opened = None
        if args.rate > 0:
            from openloop import run_open_loop

            print(
                f"mixed load at a fixed {args.rate:g} req/s for {args.rate_duration:.0f} s "
                f"({args.connections} connections) ...",
                flush=True,
            )
            # The fixed rate's own clients warm up first at that rate (--rate-warmup), not counted:
            # their volunteers log in, their calendar apps learn their feeds' ETags, every worker
            # renders their feeds once. Measured from a cold start, the 32 logins and first polls of
            # its first seconds left a backlog that took ~20 s to drain (p99 by 5 s window 2532 3333
            # 3017 1580 301 121 ... ms): a start, not a steady rate.
            warm = Recorder()
            open_clients = [Client(port, warm, args.seed + 1000 + n) for n in range(args.connections)]
            if args.rate_warmup > 0:
                print(
                    f"  first {args.rate_warmup:.0f} s at that rate to warm its clients up (not counted) ...",
                    flush=True,
                )
                run_open_loop(
                    lambda n: open_clients[n],
                    choose,
                    warm,
                    args.rate,
                    args.rate_warmup,
                    args.connections,
                    drain=10 if args.quick else 30,
                    seed=args.seed + 1,
                )
            opened = Recorder()
            for client in open_clients:
                client.recorder = opened
            with meter.phase(f"mix at {args.rate:g}/s") as box:
                open_elapsed, open_stats = run_open_loop(
                    lambda n: open_clients[n],
                    choose,
                    opened,
                    args.rate,
                    args.rate_duration,
                    args.connections,
                    drain=10 if args.quick else 30,
                    seed=args.seed,
                )
                box["requests"] = sum(len(v) for v in opened.latency.values())
            load_open = os.getloadavg()[0]
        public = None
        if args.page_duration > 0 and usable.get("page"):
            print(f"anonymous public pages alone for {args.page_duration:.0f} s ...", flush=True)
            pages = ("page", usable["page"])
            with meter.phase("public pages") as box:
                public, public_elapsed = run_load(port, lambda r: pages, args.page_duration, args.clients)
                box["requests"] = len(public.latency["page"])
    finally:
        stack.close()
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        drop_database(args.database_url, name)

    bare_stats = summary(bare.latency["bare"], bare_elapsed)
    all_latency = [v for values in mixed.latency.values() for v in values]
    mixed_stats = summary(all_latency, mixed_elapsed)
    errors = len(mixed.errors) + len(bare.errors)

    def row(label: str, stats: dict) -> str:
        return (
            f"{label:<12} {stats['requests']:>8} {stats['throughput_rps']:>9.1f} {stats['p50_ms']:>8.1f} "
            f"{stats['p95_ms']:>8.1f} {stats['p99_ms']:>8.1f}"
        )

    print()
    print(
        f"machine: {os.cpu_count()} cores; load average {load_before:.1f} before the run, "
        f"{os.getloadavg()[0]:.1f} after (server, database and load generator share the cores)"
    )
    print(f"{'':<12} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    print(row("bare route", bare_stats))
    print(row("mix (all)", mixed_stats))
    for kind in kinds:
        print(row(f"  {kind}", summary(mixed.latency[kind], mixed_elapsed)))
    print()
    print(
        "statuses: "
        + ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(mixed.statuses.items(), key=str))
    )
    print(f"errors: {errors}")
    for line in (mixed.errors + bare.errors)[:10]:
        print(f"  {line}")
    ratio = mixed_stats["throughput_rps"] / bare_stats["throughput_rps"]
    print(
        f"ratio to the bare route: throughput {ratio:.2f}x, p50 latency "
        f"{mixed_stats['p50_ms'] / bare_stats['p50_ms']:.1f}x"
    )
    extra: dict = {"via_nginx": args.via_nginx, "load_average_after_closed_loop": load_mid}
    if opened is not None:
        open_all = [v for values in opened.latency.values() for v in values]
        open_summary = summary(open_all, args.rate_duration)
        print()
        print(
            f"fixed rate {args.rate:g} req/s for {args.rate_duration:.0f} s, latency from each request's "
            f"intended start (load average {load_open:.1f} after):"
        )
        print(f"{'':<12} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
        open_errors = collections.Counter(line.split(" ", 1)[0] for line in opened.errors)
        print(row("mix (all)", open_summary) + f" {len(opened.errors):>7}")
        for kind in kinds:
            print(row(f"  {kind}", summary(opened.latency[kind], args.rate_duration)) + f" {open_errors[kind]:>7}")
        print(
            f"schedule: {open_stats['scheduled']} actions, {open_stats['unanswered']} still queued at the end, "
            f"largest wait for a free connection {open_stats['late_max_ms']:.0f} ms"
        )
        if open_stats["unanswered"] or open_stats["late_max_ms"] > 1000:
            print(
                f"NOT SUSTAINED: the server fell behind the schedule; it does not take {args.rate:g} req/s "
                f"of this mix on this machine at this moment (see the closed-loop maximum above)"
            )
        windows = timeline_windows(opened.timeline)
        print(
            "p99 ms by 5 s window of the run: "
            + " ".join(f"{p99:.0f}" for _, p99, _ in windows)
            + f"; logins in the run: {opened.logins}"
        )
        for line in opened.errors[:10]:
            print(f"  {line}")
        errors += len(opened.errors)
        extra["fixed_rate"] = {
            "rate_rps": args.rate,
            "duration_s": args.rate_duration,
            "connections": args.connections,
            "load_average_after": load_open,
            **open_stats,
            "mix": open_summary,
            "errors": len(opened.errors),
            "by_kind": {
                kind: {**summary(opened.latency[kind], args.rate_duration), "errors": open_errors[kind]}
                for kind in kinds
            },
            "statuses": {f"{kind} {status}": n for (kind, status), n in opened.statuses.items()},
            "p99_ms_by_5s_window": [round(p99, 1) for _, p99, _ in windows],
        }
    for label, recorder in (("closed loop", mixed), ("fixed rate", opened), ("public pages", public)):
        if recorder is not None and recorder.cache:
            print(
                f"nginx cache ({label}): "
                + ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(recorder.cache.items()))
            )
            extra.setdefault("nginx_cache", {})[label] = {f"{k} {s}": n for (k, s), n in recorder.cache.items()}
    if public is not None:
        public_stats = summary(public.latency["page"], public_elapsed)
        public_ratio = public_stats["throughput_rps"] / bare_stats["throughput_rps"]
        print()
        print(f"anonymous public pages alone ({len(usable['page'])} pages, both languages), closed loop:")
        print(
            row("public page", public_stats) + f"   ratio to the bare route {public_ratio:.2f}x, "
            f"errors {len(public.errors)}"
        )
        errors += len(public.errors)
        extra["public_pages"] = {**public_stats, "ratio_to_bare": public_ratio, "errors": len(public.errors)}
    cpu = meter.report()
    print()
    print("CPU per request (gunicorn's processes; this load generator), from /proc and process_time:")
    for label, row in cpu.items():
        print(
            f"  {label:<16} server {row['server_cpu_ms_per_request']:6.2f} ms   "
            f"generator {row['generator_cpu_ms_per_request']:6.2f} ms   ({row['requests']} requests)"
        )
    extra["cpu"] = cpu
    report = {
        "command": " ".join(["python", "bench/load.py", *sys.argv[1:]]),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "workers": args.workers,
        "clients": args.clients,
        "duration_s": args.duration,
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "bare": bare_stats,
        "mix": mixed_stats,
        "by_kind": {kind: summary(mixed.latency[kind], mixed_elapsed) for kind in kinds},
        "statuses": {f"{kind} {status}": n for (kind, status), n in mixed.statuses.items()},
        "errors": errors,
        "throughput_ratio_to_bare": ratio,
        **extra,
    }
    out = "load-nginx.json" if args.via_nginx else "load-quick.json" if args.quick else "load.json"
    (results_dir / out).write_text(json.dumps(report, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
