"""Benchmark of the iCalendar feeds under gunicorn: python bench/feeds.py

Builds a temporary SQLite database (the demo data plus 121 days of shifts for all 120 teams,
contact days and court days), starts gunicorn with several workers on a free loopback port,
and measures in the same run, with the same load generator:

  bare   GET /feeds/_bare                     the cheapest Flask route of the same app
  304    GET a volunteer's feed with If-None-Match (the steady state of polling clients)
  200    GET the same feed, body served from the worker's cache

Rounds alternate between the three so that noise from other work on the machine hits all of
them alike; the median of the rounds is reported, with the ratios to the bare route. It also
times the cold build of a team feed (probe, query, icalendar, publish) in-process on SQLite.

The load generator is `wrk` when available (Debian package; installed with apt-get when run as
root), else a bounded multi-process Python client on http.client. Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLD_TARGET_MS = 50.0
TARGETS = {"304": 0.8, "200": 0.5}


# --- data ---------------------------------------------------------------------------------------


def build_database(url: str, today: dt.date, horizon: int, journal_mode: str | None = None) -> dict:
    """Demo data plus shifts for the whole feed window, written directly as the scheduler would."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    import demo
    from app import create_app
    from feeds import tokens
    from models import (
        Assignment,
        Community,
        Occurrence,
        PatrolTeam,
        Programme,
        ProgrammeKind,
        Shift,
        ShiftTemplate,
        User,
        Venue,
        VenueKind,
        db,
    )
    from timeutil import span_utc

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        demo.load()
        first = today - dt.timedelta(days=30)
        days = [first + dt.timedelta(days=n) for n in range(30 + horizon + 1)]
        templates = db.session.execute(
            sa.select(
                ShiftTemplate.id,
                ShiftTemplate.team_id,
                ShiftTemplate.local_start,
                ShiftTemplate.local_end,
                ShiftTemplate.area_zh,
                ShiftTemplate.area_en,
            ).order_by(ShiftTemplate.id)
        ).all()
        # The demo already generated some of these shifts (same template and day): add the others.
        existing = set(db.session.execute(sa.select(Shift.template_id, Shift.local_date)).tuples())
        rows = []
        for template_id, team_id, start, end, area_zh, area_en in templates:
            for day in days:
                if (template_id, day) in existing:
                    continue
                starts_at, ends_at = span_utc(day, start, end)
                rows.append(
                    {
                        "uid": f"{template_id:05d}-{day:%Y%m%d}-bench",
                        "team_id": team_id,
                        "template_id": template_id,
                        "local_date": day,
                        "starts_at": starts_at,
                        "ends_at": ends_at,
                        "area_zh": area_zh,
                        "area_en": area_en,
                    }
                )
        # The demo load generates the first weeks of shifts itself: add only the days it left out.
        from scheduler.dbutil import insert_ignoring_conflicts

        db.session.execute(insert_ignoring_conflicts(Shift.__table__, ["template_id", "local_date"]), rows)

        programmes = {p.kind: p for p in db.session.scalars(sa.select(Programme))}
        communities = list(db.session.scalars(sa.select(Community).order_by(Community.id)))
        venue_of = {v.community_id: v.id for v in db.session.scalars(sa.select(Venue)) if v.community_id}
        court = db.session.scalar(sa.select(Venue.id).where(Venue.kind == VenueKind.COURTROOM))
        occurrences = []
        for day in days:
            if day.weekday() == 6 and 8 <= day.day <= 14:
                for community in communities:
                    starts_at, ends_at = span_utc(day, dt.time(9), dt.time(11, 30))
                    occurrences.append(
                        {
                            "uid": f"cd-{community.id}-{day:%Y%m%d}",
                            "starts_at": starts_at,
                            "ends_at": ends_at,
                            "programme_id": programmes[ProgrammeKind.CONTACT_DAY].id,
                            "community_id": community.id,
                            "venue_id": venue_of.get(community.id),
                        }
                    )
            if day.weekday() >= 5:
                starts_at, ends_at = span_utc(day, dt.time(9), dt.time(12))
                occurrences.append(
                    {
                        "uid": f"hc-{day:%Y%m%d}",
                        "starts_at": starts_at,
                        "ends_at": ends_at,
                        "programme_id": programmes[ProgrammeKind.HOLIDAY_COURT].id,
                        "venue_id": court,
                    }
                )
        db.session.execute(sa.insert(Occurrence), occurrences)

        volunteer = db.session.scalar(sa.select(User).where(User.email.like("volunteer0001@%")))
        team = db.session.scalar(sa.select(PatrolTeam).where(PatrolTeam.code == "T001"))
        shifts = list(db.session.scalars(sa.select(Shift).where(Shift.team_id == team.id).order_by(Shift.starts_at)))
        taken = set(db.session.scalars(sa.select(Assignment.shift_id).where(Assignment.volunteer_id == volunteer.id)))
        # Every third day, one shift (about 40 in the window), skipping any the demo data already gave them.
        mine = [s for s in shifts[::6] if s.id not in taken and s.assigned_count < s.max_volunteers]
        db.session.execute(
            sa.insert(Assignment),
            [
                {"shift_id": s.id, "volunteer_id": volunteer.id, "starts_at": s.starts_at, "ends_at": s.ends_at}
                for s in mine
            ],
        )
        db.session.execute(
            sa.update(Shift).where(Shift.id.in_([s.id for s in mine])).values(assigned_count=Shift.assigned_count + 1)
        )
        volunteer_token = tokens.get_or_issue(user=volunteer).token
        team_token = tokens.get_or_issue(team=team).token
        db.session.commit()
        if journal_mode:
            # Persistent in the file: what a multi-worker SQLite deployment would choose.
            db.session.execute(sa.text(f"PRAGMA journal_mode={journal_mode}"))
            db.session.commit()
        counts = {
            "shifts": db.session.scalar(sa.select(sa.func.count()).select_from(Shift)),
            "occurrences": db.session.scalar(sa.select(sa.func.count()).select_from(Occurrence)),
            "team_shifts_in_window": len(shifts),
            "volunteer_shifts": len(mine),
        }
        db.engine.dispose()
    return {"volunteer_token": volunteer_token, "team_token": team_token, "counts": counts}


# --- cold build ---------------------------------------------------------------------------------


def time_cold_builds(url: str, team_token: str, horizon: int, repeat: int) -> dict:
    """Milliseconds for a team feed built with no cached body: probe + rows + icalendar + publish."""
    from app import create_app
    from feeds import cache
    from feeds.sources import TeamFeed, Window, today
    from models import db

    results = {}
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULE_HORIZON_DAYS": horizon})
    for label, days_ahead in (("window", horizon), ("90 days", 60)):
        window = Window.around(today(), days_ahead)
        timings, cpu = [], []
        size = events = 0
        for n in range(repeat + 1):
            with app.test_request_context("/"):
                cache.bodies.clear()
                started, started_cpu = time.perf_counter(), time.thread_time()
                entry = cache.resolve(TeamFeed(team_token), window, "zh_CN", "http://127.0.0.1/")
                elapsed = (time.perf_counter() - started) * 1000
                elapsed_cpu = (time.thread_time() - started_cpu) * 1000
                size, events = len(entry.body), entry.body.count(b"BEGIN:VEVENT")
                db.session.remove()
            if n == 0 and label == "window":
                results["first in a fresh process"] = elapsed
            else:
                timings.append(elapsed)
                cpu.append(elapsed_cpu)
        # Wall time suffers from whatever else runs on the machine; CPU time of the thread does not.
        results[label] = {
            "median_ms": statistics.median(timings),
            "min_ms": min(timings),
            "cpu_ms": statistics.median(cpu),
            "events": events,
            "bytes": size,
            "days": (window.end - window.start).days,
        }
    with app.app_context():
        db.engine.dispose()
    return results


# --- server -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=url,
        BENCH_BARE_ROUTE="1",
        SECRET_KEY="bench-only",
        RATELIMIT_ENABLED="0",
        APP_ENV="development",
    )
    # --max-requests 0: gunicorn.conf.py recycles workers every ~2000 requests, which would lose the
    # recycled workers' CPU time from the per-request figures (and rebuild their caches mid-round).
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--max-requests",
        "0",
        "--log-level",
        os.environ.get("GUNICORN_LOG_LEVEL", "warning"),
        "--error-logfile",
        str(log),
        "app:create_app()",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited early; see {log}:\n{log.read_text()}")
        try:
            status, _, _ = request(port, "/feeds/_bare")
            if status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise SystemExit("gunicorn did not answer within 30 s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the session we started, nothing else
        process.wait()


def request(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def server_cpu_seconds(master: int) -> float:
    """User + system CPU of gunicorn's workers (Linux /proc), to cost a request whatever else runs."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master or int(entry) == master:  # fields[1] is the parent pid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


# --- load generators ----------------------------------------------------------------------------


def find_wrk(allow_install: bool) -> str | None:
    wrk = shutil.which("wrk")
    if wrk or not allow_install:
        return wrk
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing the load generator: apt-get install -y wrk", flush=True)
        done = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            capture_output=True,
            text=True,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )
        if done.returncode == 0:
            return shutil.which("wrk")
        print(f"  apt-get failed ({done.stderr.strip()[:200]}); using the Python load generator", flush=True)
    return None


def run_wrk(wrk: str, port: int, path: str, headers: dict, seconds: float, connections: int, threads: int) -> dict:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.+)", output)
    p50 = re.search(r"50%\s+([\d.]+\w+)", output)
    return {
        "rps": rps,
        "requests": total,
        "bad": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "p50": p50.group(1) if p50 else "?",
    }


def _python_worker(args) -> tuple[int, int]:
    port, path, headers, seconds, threads, expected = args
    done = [0]
    bad = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop():
        n = wrong = 0
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                n += 1
                wrong += response.status != expected
            except OSError:
                wrong += 1
            finally:
                connection.close()
        with lock:
            done[0] += n
            bad[0] += wrong

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return done[0], bad[0]


def run_python(
    port: int, path: str, headers: dict, seconds: float, connections: int, threads: int, expected: int
) -> dict:
    processes = max(1, threads)
    per_process = max(1, connections // processes)
    started = time.monotonic()
    with multiprocessing.Pool(processes) as pool:
        results = pool.map(_python_worker, [(port, path, headers, seconds, per_process, expected)] * processes)
    elapsed = time.monotonic() - started
    total = sum(n for n, _ in results)
    return {
        "rps": total / elapsed,
        "requests": total,
        "bad": sum(b for _, b in results),
        "socket_errors": "",
        "p50": "?",
    }


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one measurement (default 4)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of bare/304/200 (default 6)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="load-generator threads or processes (default 2)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument("--cold-repeat", type=int, default=15, help="cold builds to time (default 15)")
    parser.add_argument(
        "--journal-mode",
        default="wal",
        choices=["wal", "delete"],
        help="SQLite journal mode of the benchmark database (default wal)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run for CI: the same steps, one short round, 2 workers (well under a minute)",
    )
    args = parser.parse_args()
    if args.quick:
        args.workers, args.seconds, args.rounds, args.cold_repeat = 2, 1.0, 1, 2
        args.connections, args.no_install = 8, True

    horizon = 90
    with tempfile.TemporaryDirectory(prefix="feeds-bench-") as tmp:
        url = "sqlite:///" + str(Path(tmp) / "bench.sqlite3")
        from timeutil import local_today

        started = time.perf_counter()
        data = build_database(url, local_today(), horizon, args.journal_mode)
        print(
            f"database: {data['counts']} in {time.perf_counter() - started:.1f} s "
            f"(SQLite, journal_mode={args.journal_mode}, {url})"
        )

        cold = time_cold_builds(url, data["team_token"], horizon, args.cold_repeat)
        print("\ncold build of a team feed (no cached body; probe + query + icalendar + publish), SQLite:")
        print(f"  first build in a fresh process: {cold.pop('first in a fresh process'):.1f} ms")
        for label, figures in cold.items():
            verdict = "ok" if figures["median_ms"] < COLD_TARGET_MS else "OVER TARGET"
            print(
                f"  {label:>8}: {figures['days']} days, {figures['events']} events, {figures['bytes']:,} bytes: "
                f"median {figures['median_ms']:.1f} ms (min {figures['min_ms']:.1f}, CPU {figures['cpu_ms']:.1f}) "
                f"(target < {COLD_TARGET_MS:.0f} ms: {verdict})"
            )

        wrk = None if args.loadgen == "python" else find_wrk(not args.no_install)
        if args.loadgen == "wrk" and wrk is None:
            raise SystemExit("wrk not available")
        port = free_port()
        log = Path(tmp) / "gunicorn.log"
        server = start_gunicorn(url, port, args.workers, log)
        try:
            feed = f"/feeds/v/{data['volunteer_token']}.ics"
            status, headers, body = request(port, feed)
            assert status == 200, status
            etag = headers["ETag"]
            status, _, _ = request(port, feed, {"If-None-Match": etag})
            assert status == 304, status
            scenarios = {
                "bare": ("/feeds/_bare", {}, 200),
                "304": (feed, {"If-None-Match": etag}, 304),
                "200": (feed, {}, 200),
            }
            for path, headers_, _ in scenarios.values():  # every worker builds and caches first
                for _ in range(args.workers * 8):
                    request(port, path, headers_)
            generator = f"wrk ({wrk})" if wrk else "Python (http.client, one connection per request)"
            print(
                f"\ngunicorn: {args.workers} sync workers on 127.0.0.1:{port}; load: {generator}, "
                f"{args.connections} connections, {args.rounds} rounds x {args.seconds:.0f} s each"
            )
            print(f"volunteer feed: {len(body):,} bytes, {body.count(b'BEGIN:VEVENT')} events")
            results: dict[str, list[dict]] = {name: [] for name in scenarios}
            for round_ in range(args.rounds):
                names = list(scenarios)
                order = names[round_ % 3 :] + names[: round_ % 3]  # each scenario takes each place in turn
                for name in order:
                    path, headers_, expected = scenarios[name]
                    cpu_before = server_cpu_seconds(server.pid)
                    if wrk:
                        result = run_wrk(wrk, port, path, headers_, args.seconds, args.connections, args.threads)
                    else:
                        result = run_python(
                            port, path, headers_, args.seconds, args.connections, args.threads, expected
                        )
                    result["cpu_us"] = (server_cpu_seconds(server.pid) - cpu_before) / result["requests"] * 1e6
                    results[name].append(result)
                    errors = f"  socket errors: {result['socket_errors']}" if result["socket_errors"] else ""
                    print(
                        f"  round {round_ + 1} {name:>4}: {result['rps']:8.0f} req/s  p50 {result['p50']:>8}  "
                        f"server CPU {result['cpu_us']:6.0f} us/request  bad {result['bad']}{errors}",
                        flush=True,
                    )
            median = {name: statistics.median(r["rps"] for r in runs) for name, runs in results.items()}
            cpu = {name: statistics.median(r["cpu_us"] for r in runs) for name, runs in results.items()}
            print("\nrequests per second (median of rounds), and the server CPU each request costs:")
            print(f"  {'':24}{'req/s':>8}  {'ratio':>5}   {'CPU us/req':>10}  {'CPU ratio':>9}  target")
            for name, label in (
                ("bare", "bare Flask route"),
                ("304", "volunteer feed, 304"),
                ("200", "volunteer feed, 200"),
            ):
                target = f">= {TARGETS[name]}" if name in TARGETS else ""
                print(
                    f"  {label:24}{median[name]:8.0f}  {median[name] / median['bare']:5.2f}   {cpu[name]:10.0f}  "
                    f"{cpu['bare'] / cpu[name]:9.2f}  {target}"
                )
            print("  (ratio: throughput against the bare route in the same run; CPU ratio: the same from the")
            print("   workers' own CPU time per request, which other load on the machine does not distort)")
            bad = sum(r["bad"] for runs in results.values() for r in runs)
            if bad:
                print(f"  WARNING: {bad} responses with an unexpected status")
        finally:
            stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
