"""The database going away mid-request, without restarting it: one backend is cut at a time."""
from __future__ import annotations

import time

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
