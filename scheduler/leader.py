"""Leader election: exactly one scheduler process runs the jobs; a second one waits.

PostgreSQL: a session-level advisory lock held on a dedicated connection for the life of the
process; it is released by the server when that connection ends, also when the process dies.
SQLite: an exclusive lock on a file next to the database file (`<db>.scheduler.lock`), released
by the operating system when the process ends.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# A fixed 64-bit key for pg_advisory_lock, the same in every process of this service.
ADVISORY_KEY = 0x5C4ED01E  # "sched"


class LeaderLock:
    def __init__(self, database_url: str, lock_dir: str | None = None, key: int = ADVISORY_KEY):
        self.url = sa.engine.make_url(database_url)
        self.key = key
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None
        self._file = None
        if self.url.get_backend_name() == "sqlite":
            database = self.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                self.path = os.path.abspath(database) + ".scheduler.lock"
            else:
                self.path = os.path.join(lock_dir or os.getcwd(), "scheduler.lock")

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None

    def _try_postgres(self) -> bool:
        if self._engine is None:
            # Outside the pool: the pool may recycle or reset connections, which would drop the lock.
            self._engine = sa.create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        conn = self._engine.connect()
        if conn.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}):
            self._conn = conn
            return True
        conn.close()
        return False

    def _try_file(self) -> bool:
        handle = open(self.path, "a+")
        try:
            _lock_file(handle)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.url.get_backend_name() == "postgresql":
            return self._try_postgres()
        return self._try_file()

    def acquire(
        self, timeout: float | None = None, poll: float = 2.0, on_wait: Callable[[], None] | None = None
    ) -> bool:
        """Wait until this process is the leader (or `timeout` seconds pass). Returns whether it is."""
        deadline = None if timeout is None else time.monotonic() + timeout
        waited = False
        while not self.try_acquire():
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic())))
        return True

    def still_held(self) -> bool:
        """False when the lock was lost (PostgreSQL: the connection holding it is gone)."""
        if self._file is not None:
            return True
        if self._conn is None:
            return False
        try:
            self._conn.scalar(sa.text("SELECT 1"))
            return True
        except sa.exc.DBAPIError:
            self._conn = None
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._conn.close()
            except sa.exc.DBAPIError:
                pass
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._file is not None:
            _unlock_file(self._file)
            self._file.close()
            self._file = None


if os.name == "nt":  # pragma: no cover - developers on Windows
    import msvcrt

    def _lock_file(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock_file(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock_file(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_file(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
