"""`python app.py` on a fresh machine: one screen of output that ends with the address and the logins.

It used to print ~660 lines "SMTP_URL is not set; email not sent" (one per demo reminder, with
Chinese subjects) after the logins, which scrolled out of view.
"""

from __future__ import annotations

import http.client
import os
import pathlib
import sqlite3
import subprocess
import sys
import time
import unicodedata

import pytest

from app import boxed, console_language

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCREEN_ROWS, SCREEN_COLUMNS = 24, 80
DEMO_EMAILS = [
    "admin@demo.sip.example",
    "coordinator001@demo.sip.example",
    "volunteer0001@demo.sip.example",
    "official01@demo.sip.example",
    "staff@demo.sip.example",
]


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_the_box_is_square_also_around_chinese():
    box = boxed(["SIP 排班服务已启动：http://127.0.0.1:5000/", "", "  admin        admin@demo.sip.example"])
    rows = box.splitlines()
    assert len(rows) == 5 and rows[0] == rows[-1] and set(rows[0]) == {"+", "-"}
    assert len({columns(row) for row in rows}) == 1
    assert all(row.startswith("| ") and row.endswith(" |") for row in rows[1:-1])


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_TW.UTF-8"}, "zh_CN"),
        ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "fr_FR"}, "en"),
    ],
)
def test_console_language_follows_the_locale_variables(monkeypatch, environ, expected):
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert console_language() == expected


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path: pathlib.Path, database: pathlib.Path, **environ: str):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "LOG_LEVEL", "SMTP_URL", "SECRET_KEY", "APP_ENV")
    }
    env.update(DATABASE_URL=f"sqlite:///{database}", PORT=str(port), HOST="127.0.0.1", **environ)
    log_path = tmp_path / f"out-{port}.txt"
    log = open(log_path, "w")
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while True:
        assert process.poll() is None, log_path.read_text()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "python app.py did not start:\n" + log_path.read_text()
        time.sleep(0.5)
    return process, log, log_path, port


def stop(process, log) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def screen_rows(text: str) -> int:
    return sum(max(1, -(-columns(line) // SCREEN_COLUMNS)) for line in text.splitlines())


@pytest.mark.slow
def test_a_first_start_fits_one_screen_and_ends_with_the_url_and_logins(tmp_path):
    database = tmp_path / "first.sqlite3"
    process, log, log_path, port = start(tmp_path, database)  # the in-process scheduler on, as by default
    try:
        # Wait for the scheduler's first reminder run: the demo has hundreds of reminders due.
        deadline = time.monotonic() + 120
        while True:
            with sqlite3.connect(database) as conn:
                sent = conn.execute("SELECT count(*) FROM outbox_messages WHERE status = 'sent'").fetchone()[0]
            if sent > 100 or time.monotonic() > deadline:
                break
            time.sleep(1)
        time.sleep(2)  # the rest of that run, and the understaffing alerts
    finally:
        stop(process, log)
    output = log_path.read_text()
    assert sent > 100, output
    # The server's own request lines (this test's /healthz polls) come after, as a visitor's would.
    output = "\n".join(line for line in output.splitlines() if "[werkzeug]" not in line)
    lines = [line for line in output.splitlines() if line.strip()]
    assert screen_rows(output) <= SCREEN_ROWS, output
    assert "email not sent" not in output  # not one line per message
    assert [line for line in lines if "SMTP_URL" in line] == [
        "Email: SMTP_URL is not set, so no email is sent; each one is logged instead (LOG_LEVEL=DEBUG shows them)."
    ]
    # The last thing on the screen is the box: the address, then every demo login.
    box_top = max(i for i, line in enumerate(lines[:-1]) if line == lines[-1])
    box = "\n".join(lines[box_top:])
    assert lines[-1].startswith("+-") and box_top < len(lines) - 1
    assert f"http://127.0.0.1:{port}/" in lines[box_top + 1]
    for email in DEMO_EMAILS:
        assert email in box
    assert "demo-password" in box

    # A second start in a Chinese console: schema already there, no demo loading, the same box in Chinese.
    process, log, log_path, port = start(tmp_path, database, LANG="zh_CN.UTF-8", RUN_SCHEDULER_IN_PROCESS="0")
    stop(process, log)
    output = "\n".join(line for line in log_path.read_text().splitlines() if "[werkzeug]" not in line)
    assert "结构已是最新" in output and "正在加载演示数据" not in output
    assert f"SIP 排班服务已启动：http://127.0.0.1:{port}/" in output
    assert "演示账号" in output and all(email in output for email in DEMO_EMAILS)
    assert screen_rows(output) <= SCREEN_ROWS, output
