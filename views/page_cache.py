"""Anonymous public pages: rendered once per data version, revalidated by ETag, shareable briefly.

The public pages are the same for every visitor without a session in a given language, so:
- the rendered body is kept in this process, keyed by the URL, the language and the cookies the
  page reads, and reused while the data it shows has not changed (`data_version()`: one cheap
  statement through the feeds' probe pool, one aggregate when anything was committed since; read
  at most once every `VERSION_REUSE` seconds per process, unless this process changed what the
  pages show) and for at most `TTL` seconds (lists of upcoming sessions move with the clock);
- its ETag is a hash of the body, so it changes exactly when what the page shows does, whichever
  worker rendered it; a matching If-None-Match gets a 304;
- `Cache-Control: public, max-age=MAX_AGE` lets a reverse proxy or CDN hold it, with
  `Vary: Accept-Language, Cookie` (the language and "my community" come from those);
- the gzipped bytes are kept with the body, so a hit costs no compression either.

Never shared: a request carrying a session or remember-me cookie (a logged-in user, flashed
messages, a CSRF token), a response that sets a cookie, anything but a 200. Those are rendered as
before and sent `private, no-cache`.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, make_response, request, session
from flask.wrappers import Response
from sqlalchemy import orm

from http_cache import etag_matches, quoted_etag, wants_gzip
from i18n import current_language
from models import (
    ClinicSlot,
    Community,
    CommunityArea,
    HearingNotice,
    HolidayYear,
    Occurrence,
    Programme,
    SeriesSite,
    Subdistrict,
    User,
    Venue,
    occurrence_officials,
    series_site_officials,
)

MAX_AGE = 60  # browsers and shared caches reuse a page this long, then revalidate (a cheap 304)
TTL = 60  # a body rendered in this process is reused at most this long, even if no data changed
SHARED_CACHE = f"public, max-age={MAX_AGE}"
PRIVATE_CACHE = "private, no-cache"
MAX_BYTES = 32 * 1024 * 1024  # bodies held per process (a crawler walking every month and filter stops here)

# What the public pages show, fingerprinted in one statement: rows added or removed (count, sum of
# ids) and edits (`updated_at`, kept by TimestampMixin on every ORM and Core update).
_FINGERPRINTED = [
    (Occurrence.__table__, "id", "updated_at"),
    (HearingNotice.__table__, "id", "updated_at"),
    (Programme.__table__, "id", "updated_at"),
    (Community.__table__, "id", "updated_at"),
    (CommunityArea.__table__, "id", None),  # areas a community serves (search, the API)
    (Subdistrict.__table__, "id", None),
    (Venue.__table__, "id", "updated_at"),
    (SeriesSite.__table__, "id", "updated_at"),
    (User.__table__, "id", "updated_at"),  # officials' names
    (ClinicSlot.__table__, "booked_count", "updated_at"),  # free places
    (HolidayYear.__table__, "year", "updated_at"),
    (occurrence_officials, "user_id", None),
    (series_site_officials, "user_id", None),
]


def _version_statement() -> sa.Select:
    # One scan per table, not one per aggregate (a third of the database's work when the probe
    # reruns, which is after every commit anywhere): the table's count, sum and latest edit as one
    # text value, compared as a whole.
    columns = []
    for table, summed, changed in _FINGERPRINTED:
        parts = [sa.func.count(), sa.func.coalesce(sa.func.sum(table.c[summed]), 0)]
        if changed:
            parts.append(sa.func.coalesce(sa.cast(sa.func.max(table.c[changed]), sa.String), ""))
        text = sa.cast(parts[0], sa.String)
        for part in parts[1:]:
            text = text + ":" + sa.cast(part, sa.String)
        columns.append(sa.select(text).select_from(table).scalar_subquery())
    return sa.select(*columns)


class _Probe:
    """How the version is read: installed by app.py with the feeds' probe pool (views do not import
    feeds); without it (a bare blueprint in a test) through the request's session."""

    unless_unchanged: Callable[[Hashable, Callable[[], Any]], Any] | None = None
    statement: Any = None


_probe = _Probe()


def install(unless_unchanged: Callable[[Hashable, Callable[[], Any]], Any], statement_type) -> None:
    """Use `unless_unchanged` (feeds/probes.py) and its ProbeStatement for the version query."""
    _probe.unless_unchanged = unless_unchanged
    _probe.statement = statement_type(_version_statement())


# A version read is trusted this long in a process, so every worker's pages follow another
# worker's commit within it; a commit of this process to a table the pages show ends it at once.
# Without it, under a steady stream of sign-ups the fingerprint above ran again for two thirds of
# the page and API requests (every commit anywhere changes the marker): the database's largest
# single cost in the load mix. Shared caches may keep a page MAX_AGE anyway.
VERSION_REUSE = 1.0
_SHOWN = frozenset(table.name for table, _summed, _changed in _FINGERPRINTED)
_CHANGED = "public_pages_changed"  # Session.info flag: this transaction wrote a table in _SHOWN


class _Commits:
    """This process's commits that changed what public pages show."""

    count = 0


def _mark_flushed(session, _context) -> None:
    # Still the pre-flush state here: new, changed and deleted objects (collections included).
    for obj in (*session.new, *session.dirty, *session.deleted):
        if any(table.name in _SHOWN for table in sa.inspect(obj).mapper.tables):
            session.info[_CHANGED] = True
            return


def _mark_executed(state) -> None:
    # Core and bulk DML through the session (UPDATE ... WHERE, INSERT ... ON CONFLICT).
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        if getattr(table, "name", None) in _SHOWN or table is None:
            state.session.info[_CHANGED] = True
    elif isinstance(statement, sa.TextClause) and not statement.text.lstrip().upper().startswith("SELECT"):
        state.session.info[_CHANGED] = True  # raw SQL: assume it may


def _counted(session) -> None:
    # after_commit: the data is visible now, so a version read after this bump sees it.
    if session.info.pop(_CHANGED, False):
        _Commits.count += 1  # a lost increment under a race still changes the count: all we compare


def _forgotten(session, *_args) -> None:
    session.info.pop(_CHANGED, None)


sa.event.listen(orm.Session, "after_flush", _mark_flushed)
sa.event.listen(orm.Session, "do_orm_execute", _mark_executed)
sa.event.listen(orm.Session, "after_commit", _counted)
sa.event.listen(orm.Session, "after_rollback", _forgotten)
_recent: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> (version, until, commits then)
_clock = time.monotonic  # tests move it


def data_version() -> str:
    """Changes whenever anything a public page shows is committed (seen within VERSION_REUSE)."""
    from models import db

    if _probe.unless_unchanged is None:
        row = tuple(db.session.execute(_version_statement()).one())
        return hashlib.sha256(repr(row).encode()).hexdigest()[:16]
    engine = db.engine
    now = _clock()
    commits = _Commits.count
    value, until, commits_then = _recent.get(engine, ("", 0.0, -1))
    if now < until and commits == commits_then:
        return value
    row = _probe.unless_unchanged(("public_pages",), lambda: _probe.statement.run({}))
    value = hashlib.sha256(repr(row).encode()).hexdigest()[:16]
    # Under the count from before the read: a commit of ours landing meanwhile (the value may
    # predate it) makes the next call read again.
    _recent[engine] = (value, now + current_app.config.get("PAGE_VERSION_REUSE", VERSION_REUSE), commits)
    return value


@dataclass
class Entry:
    version: str
    expires: float  # time.monotonic()
    body: bytes
    mimetype: str
    etag: str = field(init=False)
    _gzipped: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.etag = hashlib.sha256(self.body).hexdigest()[:32]

    def gzipped(self, level: int) -> bytes:
        if self._gzipped is None:  # two threads may both compress once: the same bytes (mtime=0)
            self._gzipped = gzip.compress(self.body, compresslevel=level, mtime=0)
        return self._gzipped


class PageCache:
    """Least recently used, bounded by the bytes of the bodies it holds (a gzipped copy, made on
    demand, is about a fifth more); shared by the threads of one worker."""

    def __init__(self, limit: int = MAX_BYTES) -> None:
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.limit = limit
        self.size = 0
        self.hits = 0
        self.renders = 0

    def get(self, key: tuple) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: Entry) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= len(old.body)
            if len(entry.body) > self.limit:
                return
            self._entries[key] = entry
            self.size += len(entry.body)
            while self.size > self.limit:
                _, evicted = self._entries.popitem(last=False)
                self.size -= len(evicted.body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0

    def __len__(self) -> int:
        return len(self._entries)


def pages() -> PageCache:
    """This application's cache (one per app: tests build many apps in one process)."""
    return current_app.extensions.setdefault("sip_page_cache", PageCache())


def anonymous() -> bool:
    """No session and no remember-me cookie: nobody is logged in and nothing personal is shown."""
    if request.method not in ("GET", "HEAD"):
        return False
    cookies = request.cookies
    config = current_app.config
    return (
        config.get("SESSION_COOKIE_NAME", "session") not in cookies
        and config.get("REMEMBER_COOKIE_NAME", "remember_token") not in cookies
    )


def _private(response) -> Response:
    response = make_response(response)
    response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


def _respond(entry: Entry, vary: str = "Accept-Language, Cookie, Accept-Encoding") -> Response:
    config = current_app.config
    gzipped = wants_gzip() and len(entry.body) >= config.get("COMPRESS_MIN_SIZE", 500)
    etag = quoted_etag(entry.etag, gzipped)
    g.shared_page = True  # feeds/http.py turns it private if a cookie is set after all (?lang=)
    if etag_matches(entry.etag):
        response = Response(status=304)
        response.headers.update({"ETag": etag, "Cache-Control": SHARED_CACHE, "Vary": vary})
        del response.headers["Content-Type"]  # a 304 has no body
        return response
    body = entry.gzipped(config.get("COMPRESS_LEVEL", 6)) if gzipped else entry.body
    response = Response(body, mimetype=entry.mimetype)
    response.headers.update({"ETag": etag, "Cache-Control": SHARED_CACHE, "Vary": vary})
    if gzipped:  # done here, once per body: Flask-Compress leaves an encoded response alone
        response.headers["Content-Encoding"] = "gzip"
    return response


def cached_page(cookies: tuple[str, ...] = (), whoever_asks: bool = False):
    """Serve the view's page from this process's cache for anonymous visitors (see the module doc).

    `cookies`: the cookies besides the language that the page reads (they go into the key).
    `whoever_asks`: the view never reads the session (the public API), so a caller's session cookie
    does not make it private, and the shared copy does not vary on Cookie.
    """
    vary = "Accept-Language, Accept-Encoding" if whoever_asks else "Accept-Language, Cookie, Accept-Encoding"

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            shareable = request.method in ("GET", "HEAD") if whoever_asks else anonymous()
            if not shareable or not current_app.config.get("PAGE_CACHE_ENABLED", True):
                response = view(*args, **kwargs)
                return response if whoever_asks else _private(response)  # the API sets its own headers
            key = (
                request.host_url,
                request.full_path,
                current_language(),
                *(request.cookies.get(name) for name in cookies),
            )
            version = data_version()
            now = time.monotonic()
            cache = pages()
            entry = cache.get(key)
            if entry is None or entry.version != version or now >= entry.expires:
                response = make_response(view(*args, **kwargs))
                if (
                    response.status_code != 200
                    or response.is_streamed
                    or session.modified
                    or "Set-Cookie" in response.headers
                ):
                    return _private(response)  # an error page, a form, "my community" remembered
                entry = Entry(version, now + TTL, response.get_data(), response.mimetype)
                cache.put(key, entry)
                cache.renders += 1
            else:
                cache.hits += 1
            return _respond(entry, vary)

        return wrapper

    return decorate
