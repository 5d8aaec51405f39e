"""Real servers for tests: gunicorn in a subprocess on a free loopback port, and a small cookie-keeping client.

Production settings mark cookies Secure; over plain http on the loopback a browser-like cookie jar
would drop them, so the client keeps cookies itself, as a calendar app or a script would.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(log_path: pathlib.Path, workers: int = 2, threads: int = 2, **env_overrides):
    """Yields the base URL of a gunicorn serving wsgi:app with the given environment; stops it after."""
    port = free_port()
    env = dict(
        os.environ,
        APP_ENV="production",
        SECRET_KEY="live-server-test-secret-key",
        HSTS_ENABLED="0",
        LOG_FORMAT="json",
        DB_CONNECT_TIMEOUT="2",
    )
    env.update({key: str(value) for key, value in env_overrides.items()})
    log = open(log_path, "a")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "-w",
            str(workers),
            "--threads",
            str(threads),
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
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError("gunicorn exited:\n" + log_path.read_text())
            try:
                if Client(base).get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("gunicorn did not start:\n" + log_path.read_text())
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


class Client:
    """HTTP/1.1 requests to one base URL (or several: `base` may be changed), keeping cookies."""

    def __init__(self, base: str, cookies: dict | None = None):
        self.base = base
        self.cookies: dict[str, str] = dict(cookies or {})

    def request(
        self, method: str, path: str, form: dict | None = None, headers: dict | None = None, timeout: float = 15
    ) -> tuple[int, dict, str]:
        url = urllib.parse.urlsplit(self.base)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    cookie_value = rest.split(";", 1)[0]
                    if cookie_value and "expires=thu, 01 jan 1970" not in value.lower():
                        self.cookies[key] = cookie_value
                    else:
                        self.cookies.pop(key, None)
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read().decode("utf-8", "replace"),
            )
        finally:
            connection.close()

    def get(self, path: str, headers: dict | None = None, timeout: float = 15):
        return self.request("GET", path, headers=headers, timeout=timeout)

    def csrf_token(self, path: str) -> str:
        status, _, body = self.get(path)
        assert status == 200, (path, status)
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', body
        )
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def post_form(self, path: str, form: dict, csrf_from: str | None = None):
        form = dict(form)
        form.setdefault("csrf_token", self.csrf_token(csrf_from or path))
        return self.request("POST", path, form=form)

    def login(self, email: str, password: str) -> int:
        return self.post_form("/login", {"email": email, "password": password})[0]
