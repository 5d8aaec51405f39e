"""The load benchmark's own machinery: the open-loop schedule and the nginx configuration it runs."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import nginx  # noqa: E402
import openloop  # noqa: E402


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples: list[tuple[str, object, float, bool]] = []

    def add(self, kind, status, seconds, ok, detail=""):
        with self.lock:
            self.samples.append((kind, status, seconds, ok))


class SlowClient:
    """Answers in `service` seconds, measured as bench/load.py's Client does: from `intended` if set."""

    def __init__(self, recorder: Recorder, service: float):
        self.recorder, self.service, self.intended = recorder, service, None

    def step(self, kind, targets):
        started = time.perf_counter() if self.intended is None else self.intended
        time.sleep(self.service)
        self.recorder.add(kind, 200, time.perf_counter() - started, True)

    def close(self):
        pass


def test_a_server_slower_than_the_arrival_rate_shows_its_queue_in_the_latency():
    # 40 arrivals a second for 1 s, one connection, 50 ms each: only 20 a second can be served, so the
    # last request starts about 1 s late. A closed loop would report 50 ms for every request.
    recorder = Recorder()
    elapsed, stats = openloop.run_open_loop(
        lambda n: SlowClient(recorder, 0.05),
        lambda rng: ("page", []),
        recorder,
        rate=40,
        seconds=1,
        connections=1,
        drain=10,
    )
    latencies = sorted(seconds for _, _, seconds, _ in recorder.samples)
    assert stats["scheduled"] == 40 and len(latencies) == 40 and stats["unanswered"] == 0
    assert latencies[0] < 0.2
    assert latencies[-1] > 0.8  # the queueing delay is counted
    assert stats["late_max_ms"] > 700


def test_a_fast_server_keeps_to_the_schedule_and_unanswered_requests_are_errors():
    recorder = Recorder()
    started = time.perf_counter()
    _, stats = openloop.run_open_loop(
        lambda n: SlowClient(recorder, 0.001),
        lambda rng: ("feed", []),
        recorder,
        rate=50,
        seconds=1,
        connections=4,
        drain=5,
    )
    assert 0.9 < time.perf_counter() - started < 3  # paced over the second, not sent at once
    assert len(recorder.samples) == 50 and max(s for _, _, s, _ in recorder.samples) < 0.5

    recorder = Recorder()
    _, stats = openloop.run_open_loop(
        lambda n: SlowClient(recorder, 0.3),
        lambda rng: ("api", []),
        recorder,
        rate=20,
        seconds=1,
        connections=1,
        drain=0.2,
    )
    failed = [sample for sample in recorder.samples if not sample[3]]
    assert stats["unanswered"] > 0 and failed and all(status == "not sent" for _, status, _, _ in failed)
    assert len(recorder.samples) == 20  # every scheduled request is either answered or counted as an error


def test_the_bench_runs_the_deployed_nginx_configuration(tmp_path):
    text = nginx.site_config(18080, 18000, tmp_path / "cache")
    production = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "listen 127.0.0.1:18080;" in text and "server 127.0.0.1:18000;" in text
    assert "ssl_certificate" not in text and "return 301" not in text
    # Everything else is the deployed file, line for line.
    kept = [
        line
        for line in production.splitlines()
        if line.strip()
        and "ssl" not in line
        and "443" not in line
        and "8000" not in line
        and "/srv/sip" not in line
        and "/var/cache" not in line
    ]
    missing = [line for line in kept if line not in text.splitlines()]
    assert len(missing) <= 4, missing  # only the port-80 redirect server's lines
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not pathlib.Path(binary).exists():
        pytest.skip("nginx is not installed (apt-get install nginx)")
    server = nginx.Nginx(18080, 18000)
    try:
        conf = server.tmp / "nginx.conf"
        conf.write_text(server.config())
        (server.tmp / "cache").mkdir()
        check = subprocess.run([binary, "-t", "-p", str(server.tmp), "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
    finally:
        server._cleanup()


class Upstream:
    """A stand-in for gunicorn: counts the requests that reach it and echoes what it was sent."""

    def __init__(self):
        import http.server

        owner = self
        self.hits = 0
        self.seen: list[dict] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                owner.hits += 1
                owner.seen.append(dict(self.headers))
                body = f"answer {owner.hits}".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-cache")  # the app's default today; nginx holds it anyway
                if "set-cookie" in self.path:
                    self.send_header("Set-Cookie", "session=new; HttpOnly")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _get(port, path, headers=None):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read().decode("utf-8", "replace")
    conn.close()
    return response, body


@pytest.fixture
def front():
    if not pathlib.Path(nginx.NGINX).exists():
        pytest.skip("nginx is not installed (apt-get install nginx)")
    import socket

    upstream = Upstream()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        with nginx.Nginx(port, upstream.port) as server:
            yield server.port, upstream
    finally:
        upstream.close()


def test_nginx_holds_anonymous_pages_but_not_private_feeds_or_logged_in_requests(front):
    port, upstream = front
    first, body1 = _get(port, "/contact-days?lang=en")
    second, body2 = _get(port, "/contact-days?lang=en")
    assert first.getheader("X-Cache") == "MISS" and second.getheader("X-Cache") == "HIT" and body1 == body2
    # Another language without ?lang= is another entry (the key has the lang cookie and Accept-Language).
    _, zh = _get(port, "/contact-days", {"Accept-Language": "zh-CN"})
    _, en = _get(port, "/contact-days", {"Accept-Language": "en"})
    assert zh != en
    # Logged in: straight to the app, and the answer is not stored for anyone else.
    logged_in, body3 = _get(port, "/contact-days?lang=en", {"Cookie": "session=abc"})
    assert logged_in.getheader("X-Cache") == "BYPASS" and body3 != body1
    remembered, _ = _get(port, "/contact-days?lang=en", {"Cookie": "lang=en; remember_token=x"})
    assert remembered.getheader("X-Cache") == "BYPASS"
    assert _get(port, "/contact-days?lang=en")[1] == body1
    # A response that sets a cookie is never stored.
    _get(port, "/communities?set-cookie=1")
    again, _ = _get(port, "/communities?set-cookie=1")
    assert again.getheader("X-Cache") == "MISS"
    # Private feeds: every poll reaches the app; public feeds are held.
    before = upstream.hits
    _get(port, "/feeds/t/secret.ics"), _get(port, "/feeds/v/secret.ics"), _get(port, "/feeds/t/secret.ics")
    assert upstream.hits == before + 3
    _get(port, "/feeds/contact-days.ics?lang=en")
    held, _ = _get(port, "/feeds/contact-days.ics?lang=en")
    assert held.getheader("X-Cache") == "HIT" and upstream.hits == before + 4
    # The API is never cached.
    _get(port, "/api/v1/programmes"), _get(port, "/api/v1/programmes")
    assert upstream.hits == before + 6


def test_nginx_forwards_the_client_and_serves_static_files_itself(front):
    port, upstream = front
    _get(port, "/api/v1/me")
    headers = {k.lower(): v for k, v in upstream.seen[-1].items()}
    assert headers["x-forwarded-for"] == "127.0.0.1" and headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"].startswith("127.0.0.1") and "x-forwarded-port" in headers
    before = upstream.hits
    css, body = _get(port, "/static/site.css", {"Accept-Encoding": "gzip"})
    assert css.status == 200 and upstream.hits == before
    assert css.getheader("Cache-Control") == "public, max-age=3600"
    assert css.getheader("Content-Encoding") == "gzip"
    fingerprinted, _ = _get(port, "/static/site.css?v=0123456789abcdef")
    assert fingerprinted.getheader("Cache-Control") == "public, max-age=31536000, immutable"


def test_the_p99_by_window_tells_a_start_up_backlog_from_the_steady_state():
    import load

    # 10 s of answers, one every 10 ms: slow (800 ms) only during the first 2 s.
    timeline = [(t / 100, 0.8 if t < 200 else 0.01) for t in range(1000)]
    windows = load.timeline_windows(timeline, width=5.0)
    assert [start for start, _, _ in windows] == [0.0, 5.0]
    assert [count for _, _, count in windows] == [500, 500]
    assert windows[0][1] == pytest.approx(800, rel=0.01) and windows[1][1] == pytest.approx(10, rel=0.01)
    assert load.timeline_windows([]) == []
