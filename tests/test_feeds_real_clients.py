"""Real subscribing clients read every feed whole: vdirsyncer (`http` -> `filesystem`) and khal.

A real server (werkzeug, on a free loopback port, in a thread) serves the demo data set. vdirsyncer
subscribes to every public feed (the three programmes and every community) and to a sample of
private feeds (teams, volunteers); khal then lists what arrived, once in Asia/Shanghai and once in
Europe/Berlin (other offset, daylight saving inside the window). Every event of the database must
arrive with its local times and status; after a cancellation and a move, the next sync must show
both. (vdirsyncer's `http` storage replaces every UID by a hash of the event's content, by design,
so events are compared by their times and status, as a multiset, not by UID.) Parsers accepting a feed is not enough: vdirsyncer kept one event per feed while
the feeds carried a calendar-level UID.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from models import (
    Assignment,
    AssignmentStatus,
    Community,
    HearingNotice,
    Occurrence,
    OccurrenceStatus,
    PatrolTeam,
    Programme,
    ProgrammeKind,
    Role,
    Shift,
    ShiftStatus,
    User,
    db,
)

pytestmark = pytest.mark.slow

ZONES = ("Asia/Shanghai", "Europe/Berlin")
SAMPLED_PRIVATE = 3  # teams and volunteers each


def client_binary(name: str) -> str:
    """The client installed beside this Python (the venv's bin), else on PATH; skip locally without it."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (requirements.txt pins it)")
        pytest.skip(f"{name} is not installed: pip install -r requirements.txt")
    return found


def run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HOME": str(cwd), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
    )
    assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


@pytest.fixture
def server(web_app):
    # One serving thread: feeds/probes.py keeps a connection per thread (the "harden-core" branch
    # bounds that); a thread per request would exhaust the pool. Clients queue, which is fine here.
    httpd = make_server("127.0.0.1", 0, web_app, threaded=False)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


class Subscriber:
    """One vdirsyncer configuration (a pair per feed) and one khal configuration per time zone."""

    def __init__(self, root: Path, base: str, feeds: dict[str, str]):
        self.root, self.feeds = root, feeds
        self.vdirsyncer, self.khal = client_binary("vdirsyncer"), client_binary("khal")
        (root / "status").mkdir(parents=True)
        lines = ["[general]", f'status_path = "{root}/status/"', ""]
        for name, path in feeds.items():
            (root / "cal" / name).mkdir(parents=True)
            lines += [
                f"[pair {name}]",
                f'a = "{name}_remote"',
                f'b = "{name}_local"',
                "collections = null",
                'conflict_resolution = "a wins"',
                "",
                f"[storage {name}_remote]",
                'type = "http"',
                f'url = "{base}{path}"',
                "",
                f"[storage {name}_local]",
                'type = "filesystem"',
                f'path = "{root}/cal/{name}/"',
                'fileext = ".ics"',
                "",
            ]
        (root / "vdirsyncer.conf").write_text("\n".join(lines), encoding="utf-8")
        for zone in ZONES:
            khal = ["[calendars]"]
            for name in feeds:
                khal += [f"[[{name}]]", f"path = {root}/cal/{name}/", "type = calendar"]
            khal += [
                "[locale]",
                f"local_timezone = {zone}",
                f"default_timezone = {zone}",
                "timeformat = %H:%M",
                "dateformat = %Y-%m-%d",
                "longdateformat = %Y-%m-%d",
                "datetimeformat = %Y-%m-%d %H:%M",
                "longdatetimeformat = %Y-%m-%d %H:%M",
                "[sqlite]",
                f"path = {root}/khal-{zone.replace('/', '-')}.db",
            ]
            (root / f"khal-{zone.replace('/', '-')}.conf").write_text("\n".join(khal) + "\n", encoding="utf-8")

    def sync(self) -> None:
        config = str(self.root / "vdirsyncer.conf")
        run([self.vdirsyncer, "-c", config, "discover"], self.root)
        run([self.vdirsyncer, "-c", config, "sync"], self.root)

    def files(self, name: str) -> int:
        return len(list((self.root / "cal" / name).glob("*.ics")))

    def events(self, zone: str, first: dt.date, last: dt.date) -> dict[str, dict[str, tuple]]:
        """khal's list: calendar -> {uid: (local start, local end, status, title)}."""
        config = str(self.root / f"khal-{zone.replace('/', '-')}.conf")
        output = run(
            [
                self.khal,
                "-c",
                config,
                "list",
                "--format",
                "{calendar}\t{uid}\t{start}\t{end}\t{status}\t{title}",
                "--day-format",
                "",
                first.isoformat(),
                last.isoformat(),
            ],
            self.root,
        )
        found: dict[str, dict[str, tuple]] = {name: {} for name in self.feeds}
        for line in output.splitlines():
            if not line.strip():
                continue
            calendar, uid, start, end, status, title = line.split("\t", 5)
            # An event over midnight is listed on each of its days: keyed by UID, it counts once.
            found[calendar][uid] = (start, end, status.strip() or "CONFIRMED", title)
        return found


def _fmt(value: dt.datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def expected(rows, zone: ZoneInfo, cancelled, kind_of=lambda row: None) -> Counter:
    """(start, end, status) of each row; court and clinic days of an unconfirmed year are TENTATIVE."""
    from scheduler.holiday_years import ConfirmedYears
    from timeutil import to_local

    years = ConfirmedYears()

    def status(row) -> str:
        if row.status is cancelled:
            return "CANCELLED"
        kind = kind_of(row)
        if kind is not None and years.provisional(kind, to_local(row.starts_at).date()):
            return "TENTATIVE"
        return "CONFIRMED"

    return Counter((_fmt(row.starts_at, zone), _fmt(row.ends_at, zone), status(row)) for row in rows)


def occurrence_kind(row):
    return row.programme.kind


def times(events: dict[str, tuple]) -> Counter:
    return Counter(event[:3] for event in events.values())


def in_window(model, window):
    return sa.and_(model.starts_at < window.end, model.ends_at > window.start)


def database_events(zone: ZoneInfo, plan: dict[str, tuple]) -> dict[str, Counter]:
    """What each feed must hold, straight from the rows (the feed code is not asked)."""
    from feeds.sources import current_window

    public, private = current_window(public=True), current_window(public=False)
    db.session.expire_all()
    result = {}
    for name, (kind, owner) in plan.items():
        if kind == "programme":
            rows = db.session.scalars(
                sa.select(Occurrence).join(Programme).where(Programme.kind == owner, in_window(Occurrence, public))
            ).all()
            found = expected(rows, zone, OccurrenceStatus.CANCELLED, occurrence_kind)
            if owner is ProgrammeKind.HOLIDAY_COURT:
                notices = db.session.scalars(sa.select(HearingNotice).where(in_window(HearingNotice, public))).all()
                found += expected(notices, zone, OccurrenceStatus.CANCELLED, lambda row: ProgrammeKind.HOLIDAY_COURT)
        elif kind == "community":
            rows = db.session.scalars(
                sa.select(Occurrence)
                .join(Programme)
                .where(
                    Occurrence.community_id == owner,
                    Programme.kind != ProgrammeKind.PATROL,
                    in_window(Occurrence, public),
                )
            ).all()
            found = expected(rows, zone, OccurrenceStatus.CANCELLED, occurrence_kind)
        elif kind == "team":
            rows = db.session.scalars(sa.select(Shift).where(Shift.team_id == owner, in_window(Shift, private))).all()
            found = expected(rows, zone, ShiftStatus.CANCELLED)
        else:
            rows = db.session.scalars(
                sa.select(Shift)
                .join(Assignment)
                .where(
                    Assignment.volunteer_id == owner,
                    Assignment.status == AssignmentStatus.ASSIGNED,
                    in_window(Shift, private),
                )
            ).all()
            found = expected(rows, zone, ShiftStatus.CANCELLED)
        result[name] = found
    return result


def test_vdirsyncer_and_khal_get_every_event_and_every_change(app, server, tmp_path):
    import demo
    from feeds import tokens
    from feeds.sources import current_window
    from scheduler.occurrences import cancel_occurrence, move_occurrence
    from timeutil import local_today, to_local

    demo.load()
    db.session.commit()
    feeds = {
        "contact_days": "/feeds/contact-days.ics",
        "holiday_court": "/feeds/holiday-court.ics",
        "legal_clinic": "/feeds/legal-clinic.ics",
    }
    plan: dict[str, tuple] = {
        "contact_days": ("programme", ProgrammeKind.CONTACT_DAY),
        "holiday_court": ("programme", ProgrammeKind.HOLIDAY_COURT),
        "legal_clinic": ("programme", ProgrammeKind.LEGAL_CLINIC),
    }
    for community in db.session.scalars(sa.select(Community).order_by(Community.id)):
        name = f"community_{community.slug.replace('-', '_')}"
        feeds[name], plan[name] = f"/feeds/communities/{community.slug}.ics", ("community", community.id)
    teams = db.session.scalars(
        sa.select(PatrolTeam).join(Shift).group_by(PatrolTeam.id).order_by(PatrolTeam.id).limit(SAMPLED_PRIVATE)
    ).all()
    volunteers = db.session.scalars(
        sa.select(User)
        .join(Assignment, Assignment.volunteer_id == User.id)
        .where(User.role == Role.VOLUNTEER, Assignment.status == AssignmentStatus.ASSIGNED)
        .group_by(User.id)
        .order_by(sa.func.count(Assignment.id).desc(), User.id)
        .limit(SAMPLED_PRIVATE)
    ).all()
    for team in teams:
        feeds[f"team_{team.id}"] = f"/feeds/t/{tokens.get_or_issue(team=team).token}.ics"
        plan[f"team_{team.id}"] = ("team", team.id)
    for volunteer in volunteers:
        feeds[f"volunteer_{volunteer.id}"] = f"/feeds/v/{tokens.get_or_issue(user=volunteer).token}.ics"
        plan[f"volunteer_{volunteer.id}"] = ("volunteer", volunteer.id)
    db.session.commit()
    assert len(teams) == len(volunteers) == SAMPLED_PRIVATE and len(feeds) > 3 + 2 * SAMPLED_PRIVATE

    public = current_window(public=True)
    first, last = to_local(public.start).date(), to_local(public.end).date() + dt.timedelta(days=1)
    subscriber = Subscriber(tmp_path, server, feeds)
    subscriber.sync()

    def check(label: str) -> dict[str, dict[str, tuple]]:
        arrived = {}
        for zone_name in ZONES:
            zone = ZoneInfo(zone_name)
            want = database_events(zone, plan)
            got = subscriber.events(zone_name, first, last)
            for name in feeds:
                total = sum(want[name].values())
                assert subscriber.files(name) == total, (label, name)  # one file per event
                assert len(got[name]) == total, (label, zone_name, name)
                assert times(got[name]) == want[name], (
                    label,
                    zone_name,
                    name,
                    (want[name] - times(got[name])),
                    (times(got[name]) - want[name]),
                )
            arrived[zone_name] = got
        return arrived

    arrived = check("first sync")
    sizes = {name: len(events) for name, events in arrived["Asia/Shanghai"].items()}
    for events in arrived["Asia/Shanghai"].values():  # titles name the place once
        for _start, _end, _status, title in events.values():
            parts = [part.strip() for part in title.replace("·", " · ").split(" · ") if part.strip()]
            assert len(parts) == len(set(parts)), title
    assert sizes["contact_days"] >= 100 and sizes["holiday_court"] > 20 and sizes["legal_clinic"] > 20, sizes
    assert all(sizes[f"team_{team.id}"] > 50 for team in teams), sizes
    # The same moment in two zones: contact days at 09:00 in Shanghai are 01:00 or 02:00 in Berlin.
    assert {e[0][-5:] for e in arrived["Asia/Shanghai"]["contact_days"].values()} == {"09:00"}
    # (02:00 in winter, 01:00 in summer; the Counter comparison above checked each one.)
    assert {e[0][-5:] for e in arrived["Europe/Berlin"]["contact_days"].values()} <= {"01:00", "02:00"}

    # A cancellation and a move, then the next sync.
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN).limit(1))
    upcoming = db.session.scalars(
        sa.select(Occurrence)
        .join(Programme)
        .where(
            Programme.kind == ProgrammeKind.CONTACT_DAY,
            Occurrence.status == OccurrenceStatus.SCHEDULED,
            Occurrence.rule_date > local_today() + dt.timedelta(days=7),
        )
        .order_by(Occurrence.starts_at, Occurrence.id)
        .limit(2)
    ).all()
    cancelled, moved = upcoming
    old_start = f"{to_local(moved.starts_at):%Y-%m-%d %H:%M}"
    cancel_occurrence(cancelled, admin, reason="test")
    new_day = to_local(moved.starts_at).date() + dt.timedelta(days=7)
    move_occurrence(moved, new_day, dt.time(14, 0), dt.time(16, 30), admin, note="test")
    db.session.commit()
    subscriber.sync()
    arrived = check("after a cancellation and a move")
    # In each community's own feed: the cancelled session is still there, marked cancelled, and
    # the moved one is at its new time only.
    gone = arrived["Asia/Shanghai"][f"community_{cancelled.community.slug.replace('-', '_')}"]
    assert [e[2] for e in gone.values() if e[0] == f"{to_local(cancelled.starts_at):%Y-%m-%d %H:%M}"] == ["CANCELLED"]
    there = arrived["Asia/Shanghai"][f"community_{moved.community.slug.replace('-', '_')}"]
    starts = [e[0] for e in there.values()]
    assert f"{new_day} 14:00" in starts and old_start not in starts
    assert [e[:3] for e in there.values() if e[0] == f"{new_day} 14:00"] == [
        (f"{new_day} 14:00", f"{new_day} 16:30", "CONFIRMED")
    ]
