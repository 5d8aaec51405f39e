"""`python app.py` (Werkzeug's threaded server: a new thread per request) under polling calendar clients.

It used to stop answering after 15 feed requests: each request thread kept a pooled connection for
the feed probes and never gave it back, until the application's pool (5 + 10 overflow) ran dry.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
POLLS = 1000
CLIENTS = 8

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None, timeout: float = 20) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def dev_server(tmp_path):
    port = free_port()
    database = tmp_path / "dev.sqlite3"
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{database}",
        PORT=str(port),
        HOST="127.0.0.1",
        APP_ENV="development",
        RUN_SCHEDULER_IN_PROCESS="0",
    )
    env.pop("SECRET_KEY", None)
    log_path = tmp_path / "app.log"
    log = open(log_path, "w")
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # schema, then the demo data
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if get(port, "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "python app.py did not start:\n" + log_path.read_text()
            time.sleep(0.5)
        yield port, database, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def volunteer_feed_path(database: pathlib.Path) -> str:
    """A private feed of a demo volunteer, issued straight in the server's database."""
    import sqlalchemy as sa

    from app import create_app
    from feeds import tokens
    from models import User, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "dev-server-test"})
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "volunteer0001@demo.sip.example"))
        token = tokens.get_or_issue(user=user)
        db.session.commit()
        path = f"/feeds/v/{token.token}.ics"
        db.engine.dispose()
    return path


def test_the_development_server_keeps_serving_after_a_thousand_feed_polls(dev_server):
    port, database, log_path = dev_server
    paths = ["/feeds/contact-days.ics", "/feeds/legal-clinic.ics", volunteer_feed_path(database)]
    etags = {}
    for path in paths:
        status, headers, _ = get(port, path)
        assert status == 200, path
        etags[path] = headers["ETag"]

    def poll(n: int):
        path = paths[n % len(paths)]
        conditional = n % 2 == 0  # half as a calendar app that has the feed, half without
        status, _, _ = get(port, path, {"If-None-Match": etags[path]} if conditional else None)
        return conditional, status

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as clients:
        results = list(clients.map(poll, range(POLLS)))
    elapsed = time.monotonic() - started
    print(f"\n{POLLS} polls from {CLIENTS} clients in {elapsed:.1f} s")
    assert [status for conditional, status in results if conditional] == [304] * (POLLS // 2)
    assert [status for conditional, status in results if not conditional] == [200] * (POLLS // 2)

    # Then the rest of the service still answers, at once (a starved pool waits 30 s, then fails).
    status, _, body = get(port, "/?lang=en", timeout=10)
    assert status == 200 and b"<html" in body
    status, _, body = get(port, "/healthz", timeout=10)
    assert status == 200
    log = log_path.read_text()
    assert "QueuePool limit" not in log
    # Werkzeug logs every request line: the private feed's token is masked there too.
    assert "/feeds/v/***.ics" in log and paths[2] not in log
