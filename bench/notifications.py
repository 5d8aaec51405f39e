"""Benchmark: the notification outbox — delivery rate to a local SMTP server, and the cost to the request.

    python bench/notifications.py                 # SQLite file under a temporary directory
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_notify python bench/notifications.py
    python bench/notifications.py --quick         # smoke run (CI): 300 messages, 40 rounds

1. Delivery: N messages (default 10,000; each an email with text, HTML and an iMIP part, rendered
   at send time) queued, then `send_due()` delivers them to a local aiosmtpd server over one SMTP
   connection, committing each outcome: messages per second.
2. Cost to the request: `services.assignments.assign` (a coordinator puts a volunteer on a shift,
   one unit of work, committed) timed alternately with NOTIFICATIONS_ENABLED on and off; the
   difference of the medians is what a notification adds to the request that causes it (noisy on
   a shared machine: run with more --rounds). One assign() per arm is also run with its SQL
   statements listed, to show which ones the notification adds (one INSERT into the outbox).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from models import (  # noqa: E402
    MembershipRole,
    OutboxMessage,
    PatrolTeam,
    Role,
    Shift,
    TeamKind,
    TeamMembership,
    User,
    db,
    utcnow,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delivery(app, messages: int, outcome_batch: int = 1) -> None:
    from scheduler import notify_sender
    from services import notify

    # The SMTP server runs in its own process: in this one it would compete for the GIL.
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    app.config["NOTIFY_OUTCOME_BATCH"] = outcome_batch
    try:
        with app.app_context():
            start = utcnow() + dt.timedelta(days=3)
            context = {
                "place_zh": "社区联系点",
                "place_en": "Community liaison point",
                "start": notify.iso(start),
                "end": notify.iso(start + dt.timedelta(hours=2)),
                "ical": notify.ical_context("bench-uid@sip", 2, start, start + dt.timedelta(hours=2), method="CANCEL"),
            }
            began = time.perf_counter()
            db.session.execute(sa.delete(OutboxMessage))
            for first in range(0, messages, 1000):
                recipients = [
                    notify.Recipient.resident(email=f"r{i}@bench.example", locale="en" if i % 2 else "zh_CN")
                    for i in range(first, min(first + 1000, messages))
                ]
                notify.enqueue("contact_day_cancelled", f"bench:{first}", recipients, context)
            db.session.commit()
            queued = time.perf_counter() - began
            began = time.perf_counter()
            result = notify_sender.send_due()
            took = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait()
    assert result.sent == messages, result
    print(f"queue {messages:,} messages (batches of 1,000 rows, one INSERT each): {queued:.2f} s")
    print(
        f"deliver {messages:,} emails (text+HTML+iMIP) to local aiosmtpd, outcome commit every {outcome_batch}: "
        f"{took:.1f} s = {messages / took:,.0f} messages/s"
    )


def request_cost(app, rounds: int) -> None:
    from services import assignments, notify_events

    inside: list[float] = []
    emit = notify_events.shift_assigned

    def timed(*args, **kw):
        # The audit row the service added would be flushed by the outbox INSERT's autoflush and
        # counted here; it is written either way (at commit without notifications), so flush it first.
        db.session.flush()
        began = time.perf_counter()
        try:
            return emit(*args, **kw)
        finally:
            if app.config.get("NOTIFICATIONS_ENABLED", True):  # the rounds without return at once
                inside.append(time.perf_counter() - began)

    notify_events.shift_assigned = timed
    with app.app_context():
        team = PatrolTeam(code="BENCH", kind=TeamKind.PUBLIC_SECURITY, name_zh="基准队", name_en="Bench team")
        coordinator = User(email="c@bench.example", name="协调员", role=Role.COORDINATOR, password_hash="x")
        volunteers = [
            User(email=f"v{i}@bench.example", name=f"志愿者{i}", role=Role.VOLUNTEER, password_hash="x", locale="en")
            for i in range(rounds)
        ]
        db.session.add_all([team, coordinator, *volunteers])
        db.session.flush()
        db.session.add(TeamMembership(team_id=team.id, user_id=coordinator.id, role=MembershipRole.COORDINATOR))
        db.session.add_all(
            TeamMembership(team_id=team.id, user_id=v.id, role=MembershipRole.MEMBER) for v in volunteers
        )
        base = utcnow().replace(hour=11, minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
        shifts = []
        for i in range(rounds):
            start = base + dt.timedelta(days=i)
            shifts.append(
                Shift(
                    team_id=team.id,
                    local_date=(start + dt.timedelta(hours=8)).date(),
                    starts_at=start,
                    ends_at=start + dt.timedelta(hours=3),
                    area_zh="片区",
                    area_en="Area",
                    min_volunteers=0,
                    max_volunteers=5,
                )
            )
        db.session.add_all(shifts)
        db.session.commit()
        coordinator_id = coordinator.id
        pairs = [(s.id, v.id) for s, v in zip(shifts, volunteers, strict=True)]
        timings: dict[bool, list[float]] = {True: [], False: []}
        statements = {True: [], False: []}
        db.session.expunge_all()  # both arms start like a new request
        for enabled, (shift_id, volunteer_id) in zip((True, False), pairs[-2:], strict=True):
            # One assign() per arm with its statements listed (not timed): what a notification adds.
            app.config["NOTIFICATIONS_ENABLED"] = enabled

            def seen(conn, cursor, statement, params, context, executemany, into=statements[enabled]):
                into.append(" ".join(statement.split())[:70])

            sa.event.listen(db.engine, "before_cursor_execute", seen)
            try:
                assignments.assign(db.session.get(User, coordinator_id), shift_id, volunteer_id)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", seen)
            db.session.expunge_all()
        pairs = pairs[:-2]
        for i, (shift_id, volunteer_id) in enumerate(pairs):
            enabled = i % 2 == 0
            app.config["NOTIFICATIONS_ENABLED"] = enabled
            actor = db.session.get(User, coordinator_id)
            began = time.perf_counter()
            assignments.assign(actor, shift_id, volunteer_id)
            timings[enabled].append(time.perf_counter() - began)
            db.session.expunge_all()  # each round starts like a new request
        app.config["NOTIFICATIONS_ENABLED"] = True
        rows = db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.kind == "volunteer_assigned"))
    notify_events.shift_assigned = emit
    on, off = (statistics.median(timings[k][1:]) * 1000 for k in (True, False))
    # Each round with notifications against the round without right after it: the machine's load
    # drifts less between neighbours than over the whole run.
    paired = statistics.median(a - b for a, b in zip(timings[True][1:], timings[False][1:], strict=False)) * 1000
    emitted = statistics.median(inside[1:]) * 1000
    print(
        f"notification work inside the request (shift_assigned: context + one INSERT), median: {emitted:.2f} ms, "
        f"p95 {sorted(inside)[int(len(inside) * 0.95)] * 1000:.2f} ms"
    )
    added = list(statements[True])
    for statement in statements[False]:
        if statement in added:
            added.remove(statement)
    print(
        f"statements of one assign(): {len(statements[True])} with notifications, {len(statements[False])} without; "
        f"added: {added}"
        + (f"\n  with: {statements[True]}\n  without: {statements[False]}" if os.environ.get("BENCH_VERBOSE") else "")
    )
    print(
        f"assign() median over {len(timings[True])} and {len(timings[False])} rounds: with notifications {on:.2f} ms, without {off:.2f} ms, "
        f"added {on - off:.2f} ms "
        f"(median of neighbouring pairs: {paired:.2f} ms; target < 2 ms); {rows} rows queued"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--quick", action="store_true", help="smoke run for CI: 300 messages, 40 rounds")
    parser.add_argument("--request-only", action="store_true", help="only the cost to the request")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.rounds = 300, 40
    scratch = tempfile.mkdtemp(prefix="sip-bench-notify-")
    try:
        url = os.environ.get("BENCH_DATABASE_URL") or "sqlite:///" + os.path.join(scratch, "bench.sqlite3")
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False}
        )
        with app.app_context():
            db.drop_all()
            db.create_all()
        print(f"database: {url.split('@')[-1]}")
        # Each outcome committed (the default; a commit per message is the fsync rate of the disk)
        # on at most 1,000 messages, then all of them with outcomes committed 50 at a time.
        if not args.request_only:
            delivery(app, min(args.messages, 1000), 1)
            delivery(app, args.messages, 50)
        request_cost(app, args.rounds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
