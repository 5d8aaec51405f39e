"""Guards found missing by the security review: production demo data, request size, access, CSV injection."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from app import create_app
from models import Role, User, db
from services.exports import roster_csv
from tests.conftest import base_config
from tests.factories import aware, make_assignment, make_shift, make_team, make_user


def test_demo_data_is_refused_in_production(database_url, app):
    production = create_app(base_config(database_url, APP_ENV="production"))
    with production.app_context():  # on top of the test's own context, as `flask` would run it
        result = production.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code != 0
    assert "refused" in result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_an_oversized_request_is_refused_with_413(client):
    response = client.post("/login?lang=en", data={"email": "x" * (6 * 1024 * 1024), "password": "p"})
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.VOLUNTEER, Role.STAFF])
def test_only_admins_manage_users_and_passwords(client, auth, app, role):
    target = make_user(Role.VOLUNTEER, email="target@test.example")
    make_user(role, email="someone@test.example")
    db.session.commit()
    auth.login("someone@test.example")
    assert client.get("/admin/people/users").status_code == 403
    assert client.get(f"/admin/people/users/{target.id}/password").status_code == 403
    response = client.post(
        f"/admin/people/users/{target.id}/password",
        data={"password": "a-new-long-password", "confirm": "a-new-long-password"},
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert not db.session.get(User, target.id).check_password("a-new-long-password")


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.COORDINATOR, Role.OFFICIAL])
def test_only_staff_and_admins_cancel_hearing_notices(client, auth, app, role):
    make_user(role, email="someone@test.example")
    db.session.commit()
    auth.login("someone@test.example")
    assert client.post("/admin/schedule/hearings/1/cancel").status_code == 403


def test_roster_export_neutralises_spreadsheet_formulas(app):
    volunteer = make_user(Role.VOLUNTEER, name='=HYPERLINK("http://evil.example")', name_en="+cmd|' /C calc'!A0")
    team = make_team(members=[volunteer])
    shift = make_shift(team, aware(2026, 3, 10, 11), area_zh="@SUM(A1:A9)")
    make_assignment(shift, volunteer)
    db.session.commit()
    rows = list(csv.reader(io.StringIO(roster_csv(team, 2026, 3).lstrip("\ufeff"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert cells, "the export has the shift"
    assert not any(cell[:1] in ("=", "+", "@") for cell in cells)
    assert '\'=HYPERLINK("http://evil.example")' in cells and "'@SUM(A1:A9)" in cells
