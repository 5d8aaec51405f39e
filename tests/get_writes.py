"""Fails any test in which a GET or HEAD request writes to the database (docs/ARCHITECTURE.md).

Reading a page must never change data: crawlers, prefetching browsers and link previews send
GETs nobody meant. Every INSERT, UPDATE or DELETE sent while a GET/HEAD request is being
handled is recorded, whatever thread serves it, and the test fails with the statements.
Two tables are allowed, each a record of serving rather than data people own:
- feed_snapshots: the feeds' Last-Modified per body, shared by every worker (feeds/cache.py);
- api_tokens: an API token's last_used_at stamp, written at most every few minutes (api/tokens.py).
"""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa
from flask import request, request_started, request_tearing_down

ALLOWED_TABLES = {"feed_snapshots", "api_tokens"}
_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)

_lock = threading.Lock()
_seen: list[str] = []
# Set while a request is being served (not in a test's own test_request_context), per thread.
_serving = threading.local()


def written_table(statement: str) -> str | None:
    """The table an INSERT/UPDATE/DELETE statement writes, or None for anything else."""
    match = _WRITE.match(statement)
    return match.group(1).lower() if match else None


def _started(sender, **extra):
    _serving.method = request.method


def _ended(sender, **extra):
    _serving.method = None


def _before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
    if getattr(_serving, "method", None) not in ("GET", "HEAD"):
        return
    table = written_table(statement)
    if table is not None and table not in ALLOWED_TABLES:
        with _lock:
            _seen.append(f"{request.method} {request.path}: {statement.strip()[:200]}")


@pytest.fixture(autouse=True)
def _no_writes_on_get():
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", _before_cursor_execute)
    request_started.connect(_started)
    request_tearing_down.connect(_ended)
    try:
        yield
    finally:
        request_tearing_down.disconnect(_ended)
        request_started.disconnect(_started)
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", _before_cursor_execute)
        _serving.method = None
        with _lock:
            found, _seen[:] = list(_seen), []
    assert not found, "database writes during GET/HEAD requests:\n" + "\n".join(found)
