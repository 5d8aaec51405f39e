"""The validator queries, run straight through the database driver.

A polling client that already has the current feed costs one of these queries and nothing
else, so they skip what a general query pays for: no ORM session, no pre-ping, no rollback on
return, no statement compilation per request. Each statement is a normal SQLAlchemy Core
select, compiled once per dialect with its parameter types, and executed on a connection
checked out of a small pool kept for this purpose, and returned as soon as the statement has
run: no connection is ever held between requests (a thread per request, as in Werkzeug's
development server, used to keep one each until the application's pool ran dry). A probe
connection never holds a transaction open (SQLite's driver begins none for a SELECT;
PostgreSQL's runs in autocommit), so every probe sees the latest committed data, and it never
blocks a writer or a migration.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import db


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # positional order (qmark) or the named parameters
    positional: bool
    processors: dict[str, Callable[[Any], Any] | None]
    defaults: dict[str, Any]  # literal values bound inside the statement
    # Converted values of the window bounds, which stay the same all day.
    memo: dict = field(default_factory=dict, compare=False)

    def arguments(self, params: dict) -> tuple | dict:
        memo = self.memo

        def value(name: str):
            raw = params[name] if name in params else self.defaults[name]
            processor = self.processors[name]
            if processor is None:
                return raw
            key = (name, raw)
            converted = memo.get(key)
            if converted is None:
                if len(memo) > 256:
                    memo.clear()
                converted = memo[key] = processor(raw)
            return converted

        if self.positional:
            return tuple(value(name) for name in self.names)
        return {name: value(name) for name in self.names}


class ProbeStatement:
    """One validator query; `run(params)` returns its single row as a tuple, or None."""

    def __init__(self, statement: sa.Select):
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            binds = compiled.binds
            positional = bool(compiled.positional)
            names = tuple(compiled.positiontup) if positional else tuple(binds)
            found = self._compiled[dialect.name] = _Compiled(
                sql=compiled.string,
                names=names,
                positional=positional,
                processors={n: binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in set(names)},
                defaults={n: binds[n].value for n in set(names) if binds[n].value is not None},
            )
        return found

    def run(self, params: dict) -> tuple | None:
        engine = db.engine
        compiled = self.compiled(engine.dialect)
        return _execute(engine, compiled.sql, compiled.arguments(params))


class _ProbePool:
    """A small pool of its own beside the application's, for validator queries only.

    Connections are checked out for one statement (or one marker + probe pair) and returned at
    once, so a server that starts a thread per request (Werkzeug's, `python app.py`) holds none
    between requests, and nothing lives outside a pool's accounting: at most POOL_SIZE +
    MAX_OVERFLOW per process, whatever the number of threads. It differs from the
    application's pool only where the probes need no help: no pre-ping (a dropped connection is
    replaced on the spot, see `_execute`), no rollback on return (no transaction is ever open).
    """

    POOL_SIZE = 2  # idle connections kept: gunicorn's threads per worker
    MAX_OVERFLOW = 10  # bursts (a thread per request) open more, closed again on return
    MEMO_SIZE = 20_000

    def __init__(self, engine: Engine) -> None:
        from flask import current_app, has_app_context

        options = {}
        if has_app_context():
            options = current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}) or {}
        self._idle: list = []
        self._lock = threading.Lock()
        self.shared = not isinstance(engine.pool, sa.pool.QueuePool)
        if self.shared:
            # An in-memory SQLite database (one connection for everything): probe through it.
            self.engine = engine
            return
        self.engine = sa.create_engine(
            engine.url,
            poolclass=sa.pool.QueuePool,
            pool_size=self.POOL_SIZE,
            max_overflow=self.MAX_OVERFLOW,
            pool_timeout=10,
            pool_use_lifo=True,  # the warm connection, with its memo, serves the next probe
            pool_pre_ping=False,
            pool_reset_on_return=None,
            pool_recycle=options.get("pool_recycle", -1),
            connect_args=options.get("connect_args", {}),
        )
        if engine.dialect.name == "postgresql":
            sa.event.listen(self.engine, "connect", _autocommit)

    def checkout(self):
        """A connection: an idle one at the cost of a list pop, else one from the engine's pool."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return self.engine.raw_connection()
        except self.engine.dialect.loaded_dbapi.Error as error:
            raise _wrapped(self.engine, None, error) from error

    def checkin(self, fairy) -> None:
        # Up to POOL_SIZE stay checked out of the engine's pool, idle here: returning them through
        # the pool and checking them out again costs more than the probe itself (~18 us a round).
        with self._lock:
            if len(self._idle) < self.POOL_SIZE and not self.shared:
                self._idle.append(fairy)
                return
        fairy.close()

    def discard_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for fairy in idle:
            fairy.invalidate()

    def dispose(self, close: bool = True) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        if close:
            for fairy in idle:
                fairy.close()
        if not self.shared:
            self.engine.dispose(close=close)


def _autocommit(dbapi_connection, connection_record) -> None:
    # Every probe sees the latest committed data, and never holds a snapshot a writer waits for.
    dbapi_connection.autocommit = True


def _wrapped(engine: Engine, sql: str | None, error: Exception) -> Exception:
    """The driver's error as SQLAlchemy's (OperationalError, ...): the 503 handler knows those."""
    return sa.exc.DBAPIError.instance(
        sql, None, error, engine.dialect.loaded_dbapi.Error, hide_parameters=True, dialect=engine.dialect
    )


_pools: weakref.WeakKeyDictionary[Engine, _ProbePool] = weakref.WeakKeyDictionary()
_pools_lock = threading.Lock()
_held = threading.local()  # the connection this thread has checked out for the statement(s) in progress
round_trips = 0  # validator statements run in this process (tests count them)


def _pool(engine: Engine) -> _ProbePool:
    found = _pools.get(engine)
    if found is None:
        with _pools_lock:
            found = _pools.get(engine)
            if found is None:
                found = _pools[engine] = _ProbePool(engine)
                sa.event.listen(engine, "engine_disposed", _dispose_for)
    return found


def _dispose_for(engine: Engine) -> None:
    with _pools_lock:
        found = _pools.pop(engine, None)
    if found is not None:
        found.dispose()


def _forget_after_fork() -> None:
    # A forked worker must not share its parent's sockets (gunicorn --preload): drop, do not close.
    for found in list(_pools.values()):
        found.dispose(close=False)
    _held.__dict__.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _enter(engine: Engine) -> bool:
    """Make sure this thread holds a probe connection; True if this call checked it out (and returns it)."""
    if getattr(_held, "fairy", None) is not None and _held.engine is engine:
        return False  # nested: the marker's connection also runs the probe
    _held.engine, _held.fairy = engine, _pool(engine).checkout()
    return True


def _leave(engine: Engine, owned: bool) -> None:
    if owned:
        fairy, _held.fairy, _held.engine = _held.fairy, None, None
        if fairy is not None:  # None: it failed, and was invalidated
            _pool(engine).checkin(fairy)


def _execute(engine: Engine, sql: str, arguments) -> tuple | None:
    global round_trips
    round_trips += 1
    owned = _enter(engine)
    try:
        for attempt in (1, 2):
            try:
                if _held.fairy is None:
                    _held.fairy = _pool(engine).checkout()
                # Both sqlite3 and psycopg connections execute directly (a cursor of their own).
                cursor = _held.fairy.driver_connection.execute(sql, arguments)
                try:
                    row = cursor.fetchone()
                finally:
                    cursor.close()
                return tuple(row) if row is not None else None
            except engine.dialect.loaded_dbapi.Error as error:
                # A dropped connection (server restart, failover): replace it and try once more.
                fairy, _held.fairy = _held.fairy, None
                if fairy is not None:
                    fairy.invalidate()  # closed, and checked back in as a slot to reconnect
                _pool(engine).discard_idle()  # cut by the same restart, most likely: retry on a new one
                if attempt == 2:
                    raise _wrapped(engine, sql, error) from error
        return None
    finally:
        _leave(engine, owned)


def _memo() -> OrderedDict:
    # Markers are per connection (SQLite's data_version): so is the memo, kept with it in the pool.
    info = _held.fairy.info
    memo = info.get("probe_memo")
    if memo is None:
        memo = info["probe_memo"] = OrderedDict()
    return memo


# "Has anything been committed since?" in one cheap statement, exactly:
# - SQLite's data_version changes whenever another connection commits (this one never writes);
# - PostgreSQL's snapshot (xmin:xmax:in-progress xids) changes whenever a writing transaction
#   starts or ends; read-only transactions have no xid and change nothing.
_MARKERS = {
    "sqlite": "PRAGMA data_version",
    "postgresql": "SELECT pg_current_snapshot()::text",
}


def unless_unchanged(key: Hashable, compute: Callable[[], Any]) -> Any:
    """`compute()` (a probe), or its last result for `key` if nothing was committed since.

    The marker is read before the probe runs: a commit landing in between changes the next
    marker, so a result is never reused past a change it did not see.
    """
    engine = db.engine
    sql = _MARKERS.get(engine.dialect.name)
    if sql is None:
        return compute()
    owned = _enter(engine)
    try:
        marker = _execute(engine, sql, ())
        memo = _memo()
        found = memo.get(key)
        if found is not None and found[0] == marker:
            memo.move_to_end(key)
            return found[1]
        value = compute()  # on the same connection (nested checkouts reuse it)
        memo = _memo()  # a connection replaced meanwhile starts afresh
        memo[key] = (marker, value)
        if len(memo) > _ProbePool.MEMO_SIZE:
            memo.popitem(last=False)
        return value
    finally:
        _leave(engine, owned)


def reset() -> None:
    """Close every probe connection (and so forget their memos), as in a new worker."""
    with _pools_lock:
        found = list(_pools.values())
    for probe_pool in found:
        probe_pool.dispose()
