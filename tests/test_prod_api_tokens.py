"""API tokens: issued once by the CLI, stored as SHA-256 only, revocable; bearer auth needs no CSRF token."""

from __future__ import annotations

import sqlalchemy as sa

from api.tokens import issue_token
from app import create_app
from models import ApiToken, Role, db
from tests.conftest import base_config
from tests.factories import make_team, make_user


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_cli_issues_a_token_printed_once_and_stores_only_its_digest(app, runner, client):
    coordinator = make_user(Role.COORDINATOR, email="coord@test.example")
    make_team(coordinator=coordinator, code="T001")
    db.session.commit()
    result = runner.invoke(args=["users", "api-token", "Coord@Test.Example", "--label", "roster script"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    assert len(token) >= 40
    stored = db.session.scalars(sa.select(ApiToken)).all()
    assert len(stored) == 1
    assert stored[0].token_sha256 == ApiToken.digest(token) and token not in stored[0].token_sha256
    assert stored[0].label == "roster script"
    me = client.get("/api/v1/me?lang=en", headers=bearer(token))
    assert me.status_code == 200
    assert me.get_json()["email"] == "coord@test.example"
    assert [(t["code"], t["role"]) for t in me.get_json()["teams"]] == [("T001", "coordinator")]
    assert me.headers["Cache-Control"] == "no-store"


def test_cli_refuses_unknown_users_and_revokes(app, runner, client):
    user = make_user(Role.COORDINATOR, email="coord@test.example")
    token = issue_token(user)
    db.session.commit()
    assert runner.invoke(args=["users", "api-token", "nobody@test.example"]).exit_code != 0
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    result = runner.invoke(args=["users", "api-token", "coord@test.example", "--revoke"])
    assert result.exit_code == 0 and "revoked 1" in result.output
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_requests_without_a_valid_token_get_401(client, app):
    user = make_user(Role.COORDINATOR, active=False)
    inactive_token = issue_token(user)
    db.session.commit()
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        bearer("sip_not-a-real-token"),
        bearer(inactive_token),
        {"Authorization": "Bearer "},
    ):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["error"]["status"] == 401


def test_last_use_is_recorded(client, app):
    user = make_user(Role.COORDINATOR)
    token = issue_token(user)
    db.session.commit()
    client.get("/api/v1/me", headers=bearer(token))
    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiToken.last_used_at)) is not None


def test_api_writes_need_no_csrf_token_but_still_a_bearer_token(database_url, app):
    """Cookies are not credentials for the API, so cross-site forgery has nothing to ride on."""
    csrf_client = create_app(base_config(database_url, WTF_CSRF_ENABLED=True)).test_client()
    response = csrf_client.post("/api/v1/shifts/1/assignments", json={"volunteer_id": 1})
    assert response.status_code == 401  # not 400 "CSRF token missing"
    assert csrf_client.delete("/api/v1/assignments/1").status_code == 401


def test_a_logged_in_browser_session_is_not_an_api_credential(client, auth, app):
    make_user(Role.ADMIN, email="admin@test.example")
    db.session.commit()
    auth.login("admin@test.example")
    assert client.get("/api/v1/me").status_code == 401


def test_patrol_shifts_are_never_served_without_a_token(client, app):
    """Published patrol times would tell thieves when streets are unwatched."""
    team = make_team()
    db.session.commit()
    for path in (f"/api/v1/teams/{team.id}/shifts", f"/api/v1/teams/{team.id}/shifts?from=2031-01-01"):
        response = client.get(path)
        assert response.status_code == 401
        assert "items" not in response.get_json()
