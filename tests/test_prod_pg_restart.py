"""PostgreSQL restarted under load: the requests in flight fail cleanly, then full service, nothing half-written.

Destructive: it restarts the local PostgreSQL cluster, cutting every connection on the machine.
It runs only on PostgreSQL with SIP_DESTRUCTIVE_PG_TESTS=1 (CI sets it), never beside other suites.
"""

from __future__ import annotations

import collections
import datetime as dt
import http.client
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from api.tokens import issue_token
from feeds import tokens
from models import Assignment, AssignmentStatus, Role, Shift, db
from ops import mask_path
from tests.conftest import POSTGRES_URL
from tests.factories import PASSWORD, make_community, make_team, make_user
from tests.live_server import Client
from timeutil import local_to_utc, local_today

ROOT = pathlib.Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)"),
    pytest.mark.skipif(
        os.environ.get("SIP_DESTRUCTIVE_PG_TESTS") != "1", reason="restarts PostgreSQL: set SIP_DESTRUCTIVE_PG_TESTS=1"
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def restart_postgres(action: str = "restart") -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            version,
            "main",
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )


def postgres_is_ready() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0


def request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    """(status, body) or (exception class name, '') for a connection that failed."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        return type(error).__name__, ""


@pytest.fixture
def seeded(app):
    make_community(slug="east")
    coordinator = make_user(Role.COORDINATOR, email="coord@test.example")
    volunteers = [make_user(Role.VOLUNTEER) for _ in range(40)]
    team = make_team(coordinator=coordinator, members=volunteers)
    day = local_today()
    shifts = []
    for n in range(20):
        local_date = day + dt.timedelta(days=20 + n)
        start = local_to_utc(local_date, dt.time(19))
        shift = Shift(
            team_id=team.id,
            local_date=local_date,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=3),
            max_volunteers=3,
        )
        db.session.add(shift)
        shifts.append(shift)
    token = issue_token(coordinator)
    feed_token = tokens.get_or_issue(user=volunteers[0]).token
    db.session.flush()
    seeded = {
        "token": token,
        "shift_ids": [s.id for s in shifts],
        "volunteer_ids": [v.id for v in volunteers],
        "feed_token": feed_token,
        "volunteer_email": volunteers[0].email,
    }
    db.session.commit()
    db.session.close()  # hold no connection across the restart
    return seeded


@pytest.fixture
def server(seeded, tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=POSTGRES_URL,
        APP_ENV="production",
        SECRET_KEY="restart-test-secret-key",
        RATELIMIT_ENABLED="0",
        HSTS_ENABLED="0",
        LOG_FORMAT="json",
        DB_CONNECT_TIMEOUT="2",
    )
    log = open(tmp_path / "gunicorn.log", "w")  # read by the tests: no token may appear in it
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "-w",
            "2",
            "--threads",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if request(base + "/healthz")[0] == 200:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text())
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_postgres_restart_during_requests(server, seeded, app):
    token = seeded["token"]
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    reads = [
        "/api/v1/occurrences?lang=en",
        "/api/v1/communities",
        "/healthz",
        "/",
        "/communities/east?lang=en",
        "/api/v1/me",
    ]
    results: list[tuple[str, object, str]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def reader(offset: int):
        n = offset
        while not stop.is_set():
            path = reads[n % len(reads)]
            status, body = request(server + path, headers=auth if path.startswith("/api/v1/me") else None)
            with lock:
                results.append((path, status, body))
            n += 1

    def writer():
        n = 0
        while not stop.is_set():
            shift_id = seeded["shift_ids"][n % len(seeded["shift_ids"])]
            volunteer_id = seeded["volunteer_ids"][n % len(seeded["volunteer_ids"])]
            status, body = request(
                f"{server}/api/v1/shifts/{shift_id}/assignments",
                "POST",
                f'{{"volunteer_id": {volunteer_id}}}'.encode(),
                auth,
            )
            with lock:
                results.append(("POST assignment", status, body))
            n += 1

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(3)]
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        before_restart = len(results)
        restart_postgres()
        # Back to full service: the pool replaces its dead connections (pool_pre_ping).
        deadline = time.monotonic() + 60
        while request(server + "/healthz")[0] != 200:
            assert time.monotonic() < deadline, "no recovery within 60 s"
            time.sleep(0.2)
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    tally = collections.Counter((path if path.startswith("POST") else "GET", status) for path, status, _ in results)
    print(f"\n{len(results)} requests ({before_restart} before the restart): {dict(sorted(tally.items(), key=str))}")
    # In flight during the outage: 503 with Retry-After, or a refused connection; never a 500 or a trace.
    statuses = {status for _, status, _ in results}
    assert 500 not in statuses
    allowed = {
        200,
        201,
        409,
        503,
        "URLError",
        "ConnectionResetError",
        "RemoteDisconnected",
        "TimeoutError",
        "IncompleteRead",
    }
    assert statuses <= allowed, statuses
    assert not any("Traceback" in body for _, _, body in results)

    # Full service afterwards, on every kind of request.
    for path in reads:
        status, _ = request(server + path, headers=auth if path.startswith("/api/v1/me") else None)
        assert status == 200, path

    # Nothing half-written: every shift's count matches its active assignments, none over capacity.
    db.session.close()  # a pooled connection of this process may have been cut too; the pool replaces it
    active = dict(
        db.session.execute(
            sa.select(Assignment.shift_id, sa.func.count(Assignment.id))
            .where(Assignment.status == AssignmentStatus.ASSIGNED)
            .group_by(Assignment.shift_id)
        ).all()
    )
    for shift in db.session.scalars(sa.select(Shift)):
        assert shift.assigned_count == active.get(shift.id, 0) <= shift.max_volunteers
    created = sum(1 for path, status, _ in results if path.startswith("POST") and status == 201)
    unanswered = sum(1 for path, status, _ in results if path.startswith("POST") and status not in (201, 409))
    # A commit whose answer was lost in the restart may exist without its 201, never the other way round.
    assert created <= sum(active.values()) <= created + unanswered


def test_while_postgres_is_stopped_feeds_and_logged_in_pages_answer_503(server, seeded, app, tmp_path):
    """Every kind of request a logged-in volunteer and a calendar app make, with the server stopped."""
    feed_token = seeded["feed_token"]
    feeds = ["/feeds/contact-days.ics", "/feeds/legal-clinic.ics", f"/feeds/v/{feed_token}.ics"]
    volunteer = Client(server)
    assert volunteer.login(seeded["volunteer_email"], PASSWORD) == 302
    assert volunteer.get("/me/")[0] == 200
    calendar_app = Client(server)
    etags = {}
    for path in feeds:
        status, headers, _ = calendar_app.get(path)
        assert status == 200, path
        etags[path] = headers["etag"]

    answers = []
    try:
        restart_postgres("stop")
        for client, path, headers in [
            *[(calendar_app, path, None) for path in feeds],
            *[(calendar_app, path, {"If-None-Match": etags[path]}) for path in feeds],
            *[(volunteer, path, None) for path in ("/me/", "/", "/?lang=en", "/no-such-page", *feeds)],
        ]:
            status, response_headers, body = client.get(path, headers=headers)
            answers.append((mask_path(path), status, response_headers.get("retry-after"), "Traceback" in body))
    finally:
        restart_postgres("start")
        deadline = time.monotonic() + 60
        while not postgres_is_ready():
            assert time.monotonic() < deadline, "PostgreSQL did not come back"
            time.sleep(0.5)
    print("\n" + "\n".join(map(str, answers)))
    assert all(status == 503 and retry == "5" and not trace for _, status, retry, trace in answers), answers

    # Back to service, and the logs of the whole run never carry the private feed token.
    deadline = time.monotonic() + 60
    while volunteer.get("/me/")[0] != 200:
        assert time.monotonic() < deadline, "no recovery within 60 s"
        time.sleep(0.5)
    log = (tmp_path / "gunicorn.log").read_text()
    assert "database unavailable" in log
    assert "/feeds/v/***.ics" in log
    assert feed_token not in log
    db.session.close()
