"""Test fixtures: a fresh schema per run, clean tables per test, on SQLite or on TEST_DATABASE_URL."""

from __future__ import annotations

import contextlib
import os

import pytest
import sqlalchemy as sa

from app import create_app
from models import db
from tests.factories import PASSWORD
from tests.get_writes import _no_writes_on_get  # noqa: F401  (autouse: no database writes on GET)

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


def is_postgres() -> bool:
    return bool(POSTGRES_URL)


requires_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


def base_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def _schema(database_url):
    app = create_app(base_config(database_url))
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    yield


def clean_tables() -> None:
    """Empty every table. DELETE, child tables first: on the few rows a test writes it is far
    cheaper than PostgreSQL's TRUNCATE, which rewrites every table's files."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(scope="session")
def _test_app(database_url, _schema):
    return create_app(base_config(database_url))


@pytest.fixture
def app(_test_app):
    """The test's app, with an app context open for the whole test. Built once per session; its
    settings are restored after each test (tests may change app.config), its context is new."""
    settings = dict(_test_app.config)
    try:
        with _test_app.app_context():
            yield _test_app
            db.session.rollback()
            clean_tables()
            db.session.remove()
            db.engine.dispose()
    finally:
        _test_app.config.clear()
        _test_app.config.update(settings)


@pytest.fixture(scope="session")
def _served_app(database_url, _schema):
    """Built once per session: the app holds no per-test state (every request opens its own
    context and database session; the tables are emptied after each test), and building it
    (blueprints, URL map, Jinja's compiled templates) for every test was a third of the suite's time."""
    return create_app(base_config(database_url))


@pytest.fixture
def web_app(_served_app, app):
    """A second app on the same database, with no context held open, serving the test client.

    Requests to `app` itself would reuse the test's app context (and its `g`, session and
    cached locale); a separate instance makes every request start clean, as in production.
    Tests that need other settings build their own app with create_app(base_config(...)).
    """
    # Per-process caches live on the app: a test starts with none of the previous test's pages.
    _served_app.extensions.pop("sip_page_cache", None)
    settings = dict(_served_app.config)  # a test may change them (PAGE_CACHE_ENABLED): not the next one
    try:
        yield _served_app
        with _served_app.app_context():
            db.engine.dispose()  # no pooled connection outlives the test (PostgreSQL restart tests)
    finally:
        _served_app.config.clear()
        _served_app.config.update(settings)


@pytest.fixture
def client(web_app):
    return web_app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def make_client(web_app):
    """More clients (another browser, another person) on the same server."""
    return web_app.test_client


@pytest.fixture
def auth(client):
    return AuthActions(client)


@contextlib.contextmanager
def recorded_statements(engine):
    """The SQL statements run inside the block, in order, whitespace collapsed."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


@contextlib.contextmanager
def count_queries(engine):
    """Count the SQL statements run inside the block: `with count_queries(db.engine) as n: ...; n()`."""
    with recorded_statements(engine) as statements:
        yield lambda: len(statements)
