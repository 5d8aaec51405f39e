"""Logging in, CSRF and role checks."""

from __future__ import annotations

import pytest

from app import create_app
from models import Role, db
from tests.conftest import base_config
from tests.factories import PASSWORD, make_user


def test_login_and_logout(client, auth, app):
    make_user(Role.VOLUNTEER, email="vol@test.example")
    db.session.commit()
    response = auth.login("vol@test.example")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/me/")
    assert client.get("/me/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/me/").status_code == 302  # back to the login page


def test_wrong_password_is_refused_with_a_message(client, auth, app):
    make_user(Role.VOLUNTEER, email="vol@test.example")
    db.session.commit()
    response = client.post("/login?lang=en", data={"email": "vol@test.example", "password": "wrong"})
    assert response.status_code == 401
    assert b"Wrong email or password" in response.data


def test_email_is_case_insensitive(client, auth, app):
    make_user(Role.VOLUNTEER, email="vol@test.example")
    db.session.commit()
    assert auth.login("VOL@Test.Example").status_code == 302


def test_inactive_user_cannot_log_in(client, auth, app):
    make_user(Role.VOLUNTEER, email="gone@test.example", active=False)
    db.session.commit()
    assert auth.login("gone@test.example").status_code == 401


def test_login_does_not_redirect_off_site(client, app):
    make_user(Role.VOLUNTEER, email="vol@test.example")
    db.session.commit()
    response = client.post(
        "/login?next=https://evil.example/", data={"email": "vol@test.example", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/me/"
    client.post("/logout")
    response = client.post("/login?next=//evil.example/", data={"email": "vol@test.example", "password": PASSWORD})
    assert response.headers["Location"] == "/me/"


def test_login_follows_a_local_next(client, app):
    make_user(Role.ADMIN, email="admin@test.example")
    db.session.commit()
    response = client.post("/login?next=/roster/", data={"email": "admin@test.example", "password": PASSWORD})
    assert response.headers["Location"] == "/roster/"


def test_passwords_are_hashed(app):
    user = make_user()
    user.set_password("a long secret phrase")
    assert "a long secret phrase" not in user.password_hash
    assert user.check_password("a long secret phrase")
    assert not user.check_password("another")


@pytest.fixture
def csrf_client(database_url, app):
    csrf_app = create_app(base_config(database_url, WTF_CSRF_ENABLED=True))
    return csrf_app.test_client()


def test_form_post_without_csrf_token_is_refused(csrf_client, app):
    make_user(Role.VOLUNTEER, email="vol@test.example")
    db.session.commit()
    response = csrf_client.post("/login", data={"email": "vol@test.example", "password": PASSWORD})
    assert response.status_code == 400
    response = csrf_client.post("/logout")
    assert response.status_code == 400


def test_form_post_with_csrf_token_is_accepted(csrf_client, app):
    import re

    make_user(Role.VOLUNTEER, email="vol@test.example")
    db.session.commit()
    page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = csrf_client.post("/login", data={"email": "vol@test.example", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize(
    "role, path, expected",
    [
        (Role.VOLUNTEER, "/roster/", 403),
        (Role.VOLUNTEER, "/admin/", 403),
        (Role.COORDINATOR, "/admin/", 403),
        (Role.OFFICIAL, "/me/", 403),
        (Role.COORDINATOR, "/roster/", 200),
        (Role.ADMIN, "/admin/", 200),
        (Role.ADMIN, "/roster/", 200),
    ],
)
def test_role_checks(client, auth, app, role, path, expected):
    make_user(role, email="someone@test.example")
    db.session.commit()
    auth.login("someone@test.example")
    assert client.get(path).status_code == expected


def test_anonymous_is_sent_to_login(client, app):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_error_pages(client, app):
    response = client.get("/no-such-page?lang=en")
    assert response.status_code == 404
    assert b"Page not found" in response.data
