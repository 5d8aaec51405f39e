"""The validator queries, run straight through the database driver.

A polling client that already has the current feed costs one of these queries and nothing
else, so they skip what a general query pays for: no ORM session, no pool checkout with its
pre-ping, no statement compilation per request. Each statement is a normal SQLAlchemy Core
select, compiled once per dialect with its parameter types, and executed on a connection each
worker thread keeps for this purpose. That connection never holds a transaction open
(SQLite's driver begins none for a SELECT; PostgreSQL's runs in autocommit), so every probe
sees the latest committed data, and it never blocks a writer or a migration.
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


class _State:
    """A thread's probe connection to one engine, and what it has already validated."""

    MEMO_SIZE = 20_000

    def __init__(self, fairy) -> None:
        self.fairy = fairy
        self.memo: OrderedDict[Hashable, tuple] = OrderedDict()


class _ThreadStates(threading.local):
    def __init__(self) -> None:
        self.by_engine: weakref.WeakKeyDictionary[Engine, _State] = weakref.WeakKeyDictionary()


_local = _ThreadStates()


def _forget_after_fork() -> None:
    # A forked worker must not share its parent's sockets (gunicorn --preload).
    _local.by_engine = weakref.WeakKeyDictionary()


os.register_at_fork(after_in_child=_forget_after_fork)
# Every probe connection of every thread, so that disposing an engine closes them.
_all: weakref.WeakKeyDictionary[Engine, list] = weakref.WeakKeyDictionary()
_all_lock = threading.Lock()
round_trips = 0  # validator statements run in this process (tests count them)


def _state(engine: Engine) -> _State:
    state = _local.by_engine.get(engine)
    if state is not None and state.fairy.is_valid:
        return state
    fairy = engine.raw_connection()  # pool "connect" events run (SQLite pragmas); kept, never returned
    if engine.dialect.name == "postgresql":
        fairy.driver_connection.autocommit = True
    state = _local.by_engine[engine] = _State(fairy)
    with _all_lock:
        _all.setdefault(engine, []).append(fairy)
        if not sa.event.contains(engine, "engine_disposed", _close_all):
            sa.event.listen(engine, "engine_disposed", _close_all)
    return state


def _execute(engine: Engine, sql: str, arguments) -> tuple | None:
    global round_trips
    round_trips += 1
    for attempt in (1, 2):
        connection = _state(engine).fairy.driver_connection
        try:
            # Both sqlite3 and psycopg connections execute directly (a cursor of their own).
            cursor = connection.execute(sql, arguments)
            try:
                row = cursor.fetchone()
            finally:
                cursor.close()
            return tuple(row) if row is not None else None
        except engine.dialect.loaded_dbapi.Error:
            # A dropped connection (server restart, failover): replace it and try once more.
            state = _local.by_engine.pop(engine, None)
            if state is not None:
                state.fairy.invalidate()
            if attempt == 2:
                raise
    return None


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
    marker = _execute(engine, sql, ())
    memo = _state(engine).memo  # markers are per connection: so is the memo
    found = memo.get(key)
    if found is not None and found[0] == marker:
        memo.move_to_end(key)
        return found[1]
    value = compute()
    memo[key] = (marker, value)
    if len(memo) > _State.MEMO_SIZE:
        memo.popitem(last=False)
    return value


def reset() -> None:
    """Close this thread's probe connections (and forget their memos), as in a new worker."""
    for state in list(_local.by_engine.values()):
        if state.fairy.is_valid:
            state.fairy.invalidate()
    _local.by_engine = weakref.WeakKeyDictionary()


def _close_all(engine: Engine) -> None:
    with _all_lock:
        fairies = _all.pop(engine, [])
    for fairy in fairies:
        if fairy.is_valid:
            fairy.invalidate()  # closes the driver connection; it never goes back to the pool
