"""The service starts, migrates and loads demo data on an empty database."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

import demo
from app import create_app
from models import Community, PatrolTeam, Role, Subdistrict, TeamMembership, User, Venue, VenueKind, db
from tests.conftest import POSTGRES_URL, base_config


def test_home_page_serves(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "text/html" in response.content_type


def test_demo_load_has_the_source_scale_and_is_idempotent(app, runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "admin@" in result.output

    def counts():
        return {
            model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Subdistrict, Community, Venue, PatrolTeam, User, TeamMembership)
        }

    first = counts()
    assert first["Subdistrict"] == 4
    assert first["Community"] >= 40
    assert first["PatrolTeam"] >= 112
    liaison = db.session.scalar(sa.select(sa.func.count()).where(Venue.kind == VenueKind.LIAISON_CENTRE))
    assert liaison >= 8
    volunteers = db.session.scalar(sa.select(sa.func.count()).where(User.role == Role.VOLUNTEER))
    assert volunteers >= 112 * 20
    for role in Role:
        assert db.session.scalar(sa.select(sa.func.count()).where(User.role == role)) >= 1
    assert db.session.scalar(sa.select(sa.func.count()).where(Community.is_sample.is_(False))) == 0

    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0
    assert "nothing added" in result.output
    assert counts() == first


def test_demo_logins_work(app, client):
    demo.load()
    for role, email in demo.DEMO_LOGINS:
        response = client.post("/login", data={"email": email, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, (role, email)
        client.post("/logout")


def test_pages_say_demo_data_is_sample(app, client):
    demo.load()
    from views import template_helpers

    template_helpers._sample_cache["checked"] = 0.0
    assert "Demonstration data" in client.get("/?lang=en").get_data(as_text=True)


def test_create_admin_command(app, runner):
    result = runner.invoke(args=["users", "create-admin", "Boss@Test.Example", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "boss@test.example"))
    assert user.role is Role.ADMIN and user.check_password("a-long-password")
    result = runner.invoke(args=["users", "create-admin", "x@test.example", "--password", "short"])
    assert result.exit_code != 0


@pytest.fixture
def empty_database_url(tmp_path):
    """A database nobody has touched: a temporary SQLite file, or a new PostgreSQL database."""
    if not POSTGRES_URL:
        yield "sqlite:///" + str(tmp_path / "empty.sqlite3")
        return
    name = f"migr_{uuid.uuid4().hex[:12]}"
    admin_engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


def test_migrations_build_the_models_schema_and_go_down_again(empty_database_url):
    app = create_app(base_config(empty_database_url))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        demo.load()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PatrolTeam)) >= 112
        db.session.remove()
        downgrade(revision="base")
        with db.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()
