"""Feed bodies cached per process, validators shared by every worker through the database.

The steady state for thousands of clients polling every 15 minutes: one small statement
("was anything committed since this feed was last probed?"), else the source's aggregate probe;
its fingerprint matches the cached entry, and the answer is a 304 or the cached bytes. A body
is built only when the fingerprint changes, once per worker. The ETag is a hash of the
body, so it changes exactly when the content does, whichever worker built it; Last-Modified is
the time the stored ETag last changed (table feed_snapshots), the same on every worker.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from werkzeug.http import http_date

from models import FeedSnapshot, db, utcnow

from .calendar import render
from .probes import unless_unchanged
from .sources import Links, Probe, Window

DEFAULT_CACHE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    fingerprint: str
    etag: str  # without quotes
    changed_at: dt.datetime  # whole seconds, UTC
    body: bytes | None  # None: validators only (from the shared snapshot)
    last_modified: str = field(init=False)  # changed_at as an HTTP date, formatted once
    quoted_etag: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "last_modified", http_date(self.changed_at))
        object.__setattr__(self, "quoted_etag", f'"{self.etag}"')
        object.__setattr__(self, "_gzipped", None)

    def gzipped(self, level: int = 6) -> bytes:
        """The body gzipped, once per entry (polling clients would otherwise pay it on every 200).

        mtime=0: the same body gives the same bytes on every worker.
        """
        found = self._gzipped
        if found is None:  # two threads may both compress once; either result is the same bytes
            found = gzip.compress(self.body or b"", compresslevel=level, mtime=0)
            object.__setattr__(self, "_gzipped", found)
        return found


class BodyCache:
    """A least-recently-used map bounded by the bytes it holds (threads of one worker share it)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: Entry, limit: int) -> None:
        size = len(entry.body or b"")
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body or b"")
            if size > limit:
                return
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > limit:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body or b"")

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        return self._bytes


bodies = BodyCache()


@functools.lru_cache(maxsize=4096)
def snapshot_key(feed_key: str, lang: str, base_url: str) -> str:
    # The address goes in: URLs inside the body depend on it.
    return hashlib.sha256(f"{feed_key}|{lang}|{base_url}".encode()).hexdigest()


def body_etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def _insert(values: dict):
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(FeedSnapshot).values(**values).on_conflict_do_nothing(index_elements=["key"])


def _read_snapshot(key: str):
    return db.session.execute(
        sa.select(FeedSnapshot.fingerprint, FeedSnapshot.etag, FeedSnapshot.changed_at).where(FeedSnapshot.key == key)
    ).first()


def publish(key: str, fingerprint: str, etag: str) -> dt.datetime | None:
    """Record the body's ETag as the feed's current version; return its Last-Modified.

    Concurrent workers publishing the same body agree on one `changed_at` (the first writer's).
    Returns None when another worker published a different body meanwhile.
    """
    now = utcnow().replace(microsecond=0)
    row = _read_snapshot(key)
    if row is None:
        db.session.execute(_insert({"key": key, "fingerprint": fingerprint, "etag": etag, "changed_at": now}))
    elif row.etag != etag:
        # Whole seconds, strictly later than before: If-Modified-Since must see the change.
        changed_at = max(now, row.changed_at + dt.timedelta(seconds=1))
        db.session.execute(
            sa.update(FeedSnapshot)
            .where(FeedSnapshot.key == key, FeedSnapshot.etag == row.etag)
            .values(etag=etag, fingerprint=fingerprint, changed_at=changed_at)
        )
    elif row.fingerprint != fingerprint:
        db.session.execute(
            sa.update(FeedSnapshot)
            .where(FeedSnapshot.key == key, FeedSnapshot.etag == etag)
            .values(fingerprint=fingerprint)
        )
    db.session.commit()
    stored = _read_snapshot(key)
    if stored is None or stored.etag != etag:
        return None
    return stored.changed_at


def build_body(source, probe: Probe, window: Window, lang: str, base_url: str) -> tuple[Probe, bytes] | None:
    """Build the body, and make sure it matches the fingerprint it will be cached under."""
    links = Links(base_url, lang)
    for _attempt in range(3):
        with force_locale("en" if lang == "en" else "zh_CN"):
            meta, events = source.build(probe.owner, window, lang, links)
        body = render(meta, events)
        after = source.probe(window)
        if after is None:
            return None
        if after == probe:
            return probe, body
        probe = after  # the data changed while building: build again from the newer state
    return probe, body


def resolve(
    source,
    window: Window,
    lang: str,
    base_url: str,
    not_modified: Callable[[str, dt.datetime], bool] | None = None,
) -> Entry | None:
    """The feed's current entry; None when the feed does not exist (unknown or revoked token).

    With `not_modified` (the request's conditional headers), an entry with `body=None` may
    come back: the caller answers 304 without anything being built.
    """
    probe = unless_unchanged((source.memo_key, window.tag), lambda: source.probe(window))
    if probe is None:
        return None
    key = snapshot_key(source.cache_key(probe.owner), lang, base_url)
    entry = bodies.get(key)
    if entry is not None and entry.fingerprint == probe.fingerprint:
        return entry
    if not_modified is not None:
        # Another worker (or this one before a restart) published this state already.
        row = _read_snapshot(key)
        if row is not None and row.fingerprint == probe.fingerprint and not_modified(row.etag, row.changed_at):
            return Entry(row.fingerprint, row.etag, row.changed_at, None)
    built = build_body(source, probe, window, lang, base_url)
    if built is None:
        return None
    probe, body = built
    etag = body_etag(body)
    changed_at = publish(key, probe.fingerprint, etag)
    if changed_at is None:
        # Lost a race with a newer body: serve this one, cache nothing.
        return Entry(probe.fingerprint, etag, utcnow().replace(microsecond=0), body)
    entry = Entry(probe.fingerprint, etag, changed_at, body)
    bodies.put(key, entry, current_app.config.get("FEEDS_CACHE_BYTES", DEFAULT_CACHE_BYTES))
    return entry
