"""Logins that end: logout, a password change, deactivation and a role change end them server-side.

Cookies are copied out of one browser and replayed from another, as an attacker who saved them
would; the pages must not open. Two app instances on one database stand for two worker processes
or hosts: nothing about logins is kept in process memory.
"""

from __future__ import annotations

import sqlalchemy as sa

from app import create_app
from models import LoginSession, Role, User, db
from tests.conftest import base_config
from tests.factories import PASSWORD, make_team, make_user

PAGES = {
    Role.VOLUNTEER: ["/me/", "/me/open", "/me/availability"],
    Role.COORDINATOR: ["/roster/", "/roster/coverage", "/me/"],
    Role.ADMIN: ["/admin/people/users", "/admin/schedule/", "/roster/"],
}


def log_in(client, email: str, remember: bool = True) -> dict[str, str]:
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, **({"remember": "y"} if remember else {})}
    )
    assert response.status_code == 302, response.status_code
    return {
        name: client.get_cookie(name).value
        for name in ("session", "remember_token")
        if client.get_cookie(name) is not None
    }


def opened(web_app, cookies: dict[str, str], pages: list[str]) -> int:
    """How many of `pages` a fresh browser holding only `cookies` opens (200); each cookie alone too."""
    count = 0
    for subset in [cookies] + [{name: value} for name, value in cookies.items()]:
        client = web_app.test_client()
        for name, value in subset.items():
            client.set_cookie(name, value)
        count += sum(client.get(page).status_code == 200 for page in pages)
    return count


def test_logout_ends_the_session_and_the_remember_me_cookie_server_side(app, web_app):
    volunteer = make_user(Role.VOLUNTEER, email="v@test.example")
    db.session.commit()
    browser = web_app.test_client()
    saved = log_in(browser, "v@test.example", remember=True)
    assert set(saved) == {"session", "remember_token"}
    assert opened(web_app, saved, PAGES[Role.VOLUNTEER]) == 9  # 3 cookie sets x 3 pages, before logout
    assert browser.post("/logout").status_code == 302
    assert opened(web_app, saved, PAGES[Role.VOLUNTEER]) == 0
    assert db.session.scalar(sa.select(sa.func.count(LoginSession.id)).where(LoginSession.user_id == volunteer.id)) == 0


def test_logout_in_one_browser_leaves_the_other_logged_in(app, web_app):
    make_user(Role.VOLUNTEER, email="v@test.example")
    db.session.commit()
    phone, laptop = web_app.test_client(), web_app.test_client()
    log_in(phone, "v@test.example")
    laptop_cookies = log_in(laptop, "v@test.example", remember=False)
    phone.post("/logout")
    assert laptop.get("/me/").status_code == 200
    assert opened(web_app, laptop_cookies, ["/me/"]) == 2


def test_a_password_change_ends_every_session_of_that_user_also_in_another_process(app, web_app, database_url):
    volunteer = make_user(Role.VOLUNTEER, email="v@test.example")
    make_user(Role.ADMIN, email="admin@test.example")
    db.session.commit()
    other_process = create_app(base_config(database_url))  # a second worker or host on the same database
    with other_process.app_context():
        first = log_in(other_process.test_client(), "v@test.example", remember=True)
        second = log_in(other_process.test_client(), "v@test.example", remember=False)
    admin = web_app.test_client()
    log_in(admin, "admin@test.example")
    response = admin.post(f"/admin/people/users/{volunteer.id}/password", data={"password": "a new long password"})
    assert response.status_code in (302, 303)
    with other_process.app_context():
        assert opened(other_process, first, PAGES[Role.VOLUNTEER]) == 0
        assert opened(other_process, second, PAGES[Role.VOLUNTEER]) == 0
        db.engine.dispose()
    assert opened(web_app, first, PAGES[Role.VOLUNTEER]) == 0
    # the new password works
    fresh = web_app.test_client()
    ok = fresh.post("/login", data={"email": "v@test.example", "password": "a new long password"})
    assert ok.status_code == 302 and fresh.get("/me/").status_code == 200


def test_an_admin_changing_their_own_password_keeps_only_their_current_session(app, web_app):
    admin_user = make_user(Role.ADMIN, email="admin@test.example")
    db.session.commit()
    elsewhere = log_in(web_app.test_client(), "admin@test.example")
    here = web_app.test_client()
    log_in(here, "admin@test.example", remember=False)
    response = here.post(f"/admin/people/users/{admin_user.id}/password", data={"password": "a new long password"})
    assert response.status_code in (302, 303)
    assert here.get("/admin/people/users").status_code == 200
    assert opened(web_app, elsewhere, PAGES[Role.ADMIN]) == 0


def test_deactivation_and_a_role_change_end_every_session(app, web_app):
    coordinator = make_user(Role.COORDINATOR, email="c@test.example")
    make_team(coordinator=coordinator)
    volunteer = make_user(Role.VOLUNTEER, email="v@test.example")
    db.session.commit()
    coordinator_cookies = log_in(web_app.test_client(), "c@test.example")
    volunteer_cookies = log_in(web_app.test_client(), "v@test.example")
    assert opened(web_app, coordinator_cookies, PAGES[Role.COORDINATOR]) == 9
    db.session.get(User, coordinator.id).role = Role.VOLUNTEER  # e.g. an import demotes them
    db.session.get(User, volunteer.id).active = False
    db.session.commit()
    assert opened(web_app, coordinator_cookies, PAGES[Role.COORDINATOR]) == 0
    assert opened(web_app, volunteer_cookies, PAGES[Role.VOLUNTEER]) == 0
    db.session.get(User, volunteer.id).active = True  # reactivated: the old cookies stay dead
    db.session.commit()
    assert opened(web_app, volunteer_cookies, PAGES[Role.VOLUNTEER]) == 0


def test_a_forged_or_old_style_identity_opens_nothing(app, web_app):
    volunteer = make_user(Role.VOLUNTEER, email="v@test.example")
    db.session.commit()
    for identity in (str(volunteer.id), f"{volunteer.id}:{'A' * 32}", f"{volunteer.id}:", "x" * 5000):
        client = web_app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = identity
        assert client.get("/me/").status_code == 302, identity


def test_only_a_digest_of_the_login_key_is_stored(app, web_app):
    make_user(Role.VOLUNTEER, email="v@test.example")
    db.session.commit()
    client = web_app.test_client()
    log_in(client, "v@test.example")
    with client.session_transaction() as session:
        key = session["_user_id"].split(":")[1]
    stored = db.session.scalars(sa.select(LoginSession.key_sha256)).all()
    assert len(stored) == 1 and key not in stored[0] and len(stored[0]) == 64


# --- two real server processes --------------------------------------------------------------------

SERVER = """
import sys
from app import create_app
from tests.conftest import base_config
create_app(base_config(sys.argv[1])).run(host="127.0.0.1", port=int(sys.argv[2]), threaded=True)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(database_url: str):
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, database_url, str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def _http(base: str, path: str, cookies: dict[str, str], data: dict | None = None) -> tuple[int, dict[str, str]]:
    """One request without following redirects; returns the status and the cookies it set."""
    import urllib.error
    import urllib.parse
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(base + path, data=urllib.parse.urlencode(data).encode() if data else None)
    if cookies:
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    try:
        response = urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    except urllib.error.HTTPError as error:
        response = error
    set_cookies = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        set_cookies[name] = rest.split(";", 1)[0]
    return response.status, set_cookies


def test_logout_on_one_server_process_ends_the_login_on_another(app, database_url):
    """Two server processes on one database (two workers or hosts): log in on A, log out on B,
    and the saved cookies open nothing on A. A password change made on B ends logins on A too."""
    make_user(Role.VOLUNTEER, email="v@test.example")
    make_user(Role.ADMIN, email="admin@test.example")
    db.session.commit()
    volunteer_id = db.session.scalar(sa.select(User.id).where(User.email == "v@test.example"))
    first, second = _start_server(database_url), _start_server(database_url)
    try:
        (_, a), (_, b) = first, second
        status, saved = _http(a, "/login", {}, {"email": "v@test.example", "password": PASSWORD, "remember": "y"})
        assert status == 302 and {"session", "remember_token"} <= set(saved)
        assert _http(a, "/me/", saved)[0] == 200 and _http(b, "/me/", saved)[0] == 200
        assert _http(b, "/logout", saved, {"x": "1"})[0] == 302
        assert [
            _http(base, page, cookies)[0]
            for base in (a, b)
            for page in PAGES[Role.VOLUNTEER]
            for cookies in (saved, {"session": saved["session"]}, {"remember_token": saved["remember_token"]})
        ].count(200) == 0

        _, again = _http(a, "/login", {}, {"email": "v@test.example", "password": PASSWORD, "remember": "y"})
        _, admin = _http(b, "/login", {}, {"email": "admin@test.example", "password": PASSWORD})
        assert _http(b, f"/admin/people/users/{volunteer_id}/password", admin, {"password": "a new long password"})[
            0
        ] in (302, 303)
        assert [_http(a, page, again)[0] for page in PAGES[Role.VOLUNTEER]].count(200) == 0
    finally:
        for process, _ in (first, second):
            process.terminate()
            process.wait(timeout=10)
