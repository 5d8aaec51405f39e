"""The database going away mid-request, without restarting it: one backend is cut at a time."""

from __future__ import annotations

import logging
import time

import pytest
import sqlalchemy as sa

from app import create_app
from models import db
from tests.conftest import base_config, requires_postgres


def terminate_backend(database_url: str, pid: int) -> None:
    """What a PostgreSQL restart does to a connection, done to one connection only."""
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # the backend ends asynchronously
            if not conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
                break
            time.sleep(0.05)
    admin.dispose()


@requires_postgres
def test_a_connection_cut_after_the_response_is_built_does_not_fail_the_request(database_url, app):
    """Found by test_prod_pg_restart.py: the ROLLBACK that ends the request used to raise, giving a 500."""
    served = create_app(base_config(database_url))

    @served.route("/_read_then_cut")
    def read_then_cut():
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))  # a transaction is now open
        terminate_backend(database_url, pid)
        return "built"

    client = served.test_client()
    response = client.get("/_read_then_cut")
    assert response.status_code == 200 and response.data == b"built"
    assert client.get("/healthz").status_code == 200  # the pool replaced the dead connection
    with served.app_context():
        db.engine.dispose()


@requires_postgres
def test_a_connection_cut_during_a_query_gives_503(database_url, app):
    served = create_app(base_config(database_url))

    @served.route("/_cut_then_read")
    def cut_then_read():
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        terminate_backend(database_url, pid)
        db.session.execute(sa.text("SELECT 1"))  # on the dead connection
        return "unreachable"

    client = served.test_client()
    page = client.get("/_cut_then_read?lang=en")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert client.get("/api/v1/programmes").status_code == 200
    with served.app_context():
        db.engine.dispose()


# --- the whole database unreachable (SQLite and PostgreSQL): every connection attempt is refused ---


@pytest.fixture
def outage(monkeypatch):
    """Returns `start()`: from then on the driver refuses to connect, as a stopped server does."""
    attempts = []

    def start(app):
        dbapi = db.engine.dialect.loaded_dbapi

        def refuse(*args, **kwargs):
            attempts.append(1)
            raise dbapi.OperationalError("connection refused (test outage)")

        monkeypatch.setattr(dbapi, "connect", refuse)
        with app.app_context():
            db.engine.dispose()  # and the feed probes' pool with it: no connection survives
        return attempts

    return start


def test_during_an_outage_feeds_pages_and_error_pages_answer_503_without_retrying(database_url, app, outage, caplog):
    from feeds import tokens
    from tests.factories import PASSWORD, make_user

    user = make_user(email="outage@test.example")
    token = tokens.get_or_issue(user=user).token
    db.session.commit()
    served = create_app(base_config(database_url, TESTING=False))
    client = served.test_client()
    assert client.post("/login", data={"email": "outage@test.example", "password": PASSWORD}).status_code == 302
    assert client.get("/me/").status_code == 200
    anonymous = served.test_client()
    feeds = ["/feeds/contact-days.ics", "/feeds/legal-clinic.ics", f"/feeds/v/{token}.ics"]
    for path in feeds:
        assert anonymous.get(path).status_code == 200

    attempts = outage(served)
    requests = [(anonymous, path) for path in feeds] + [
        (client, path) for path in (*feeds, "/me/", "/", "/?lang=en", "/no-such-page", "/api/v1/programmes")
    ]
    with caplog.at_level(logging.INFO):
        for who, path in requests:
            before = len(attempts)
            response = who.get(path)
            assert response.status_code == 503, path
            assert response.headers["Retry-After"] == "5", path
            assert b"Traceback" not in response.data
            # One failed attempt to reach the database, then nothing more (no second try in the handler).
            assert len(attempts) - before <= 1, path
    assert token not in caplog.text
    assert "/feeds/v/***.ics" in caplog.text
    with served.app_context():
        db.engine.dispose()
