"""The backup and restore of docs/OPERATIONS.md, run for real: pg_dump, pg_restore into an empty database,
`flask db upgrade` on the restored copy, same rows, and the service answers from it."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

import demo
from app import create_app
from models import Community, PatrolTeam, TeamMembership, User, db
from tests.conftest import POSTGRES_URL, base_config

pytestmark = [
    pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)"),
    pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs pg_dump and pg_restore"),
]


def libpq_url(url: sa.engine.URL) -> str:
    """The URL pg_dump understands: the same, without SQLAlchemy's +driver."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def two_databases():
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    names = [f"prod_backup_{uuid.uuid4().hex[:8]}", f"prod_restore_{uuid.uuid4().hex[:8]}"]
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield [sa.engine.make_url(POSTGRES_URL).set(database=name) for name in names]
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Community, PatrolTeam, User, TeamMembership)
    }


def test_pg_dump_and_restore_round_trip(two_databases, tmp_path):
    source, target = two_databases
    source_app = create_app(base_config(source.render_as_string(hide_password=False)))
    with source_app.app_context():
        upgrade()
        demo.load()
        before = counts()
        revision = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        db.engine.dispose()

    dump = tmp_path / "sip.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", libpq_url(source)], check=True, timeout=300
    )
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={libpq_url(target)}", str(dump)],
        check=True,
        timeout=300,
    )

    restored_app = create_app(base_config(target.render_as_string(hide_password=False)))
    with restored_app.app_context():
        upgrade()  # the documented step after a restore: a no-op at the same revision
        assert counts() == before
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == revision
        db.engine.dispose()
    response = restored_app.test_client().get("/api/v1/communities?per_page=1")
    assert response.status_code == 200 and response.get_json()["total"] == before["Community"]
    with restored_app.app_context():
        db.engine.dispose()
