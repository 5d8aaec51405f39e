"""Notification pages: /settings, a team's chat robot URL, the admin outbox list with retry."""

from __future__ import annotations

import sqlalchemy as sa

from models import OutboxMessage, OutboxStatus, PatrolTeam, Role, User, db
from services import notify
from tests.conftest import count_queries
from tests.factories import make_team, make_user


def queue(n: int, status: OutboxStatus = OutboxStatus.PENDING) -> None:
    users = [make_user(Role.VOLUNTEER) for _ in range(n)]
    db.session.commit()
    notify.enqueue("volunteer_assigned", f"k:{status.value}:{n}", [notify.Recipient.user(u) for u in users], {})
    db.session.execute(sa.update(OutboxMessage).values(status=status, last_error="451 try later"))
    db.session.commit()


def test_settings_change_language_and_channels(app, client, auth):
    user = make_user(Role.VOLUNTEER, email="v@test.example", locale="zh_CN")
    db.session.commit()
    assert client.get("/settings").status_code == 302  # login first
    auth.login("v@test.example")
    assert client.get("/settings").status_code == 200
    refused = client.post("/settings", data={"locale": "en", "phone": "", "notify_email": "y", "notify_sms": "y"})
    assert refused.status_code == 400  # SMS without a phone
    ok = client.post("/settings", data={"locale": "en", "phone": "+86 138 0000 0000", "notify_sms": "y"})
    assert ok.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.locale, user.notify_email, user.notify_sms, user.phone) == ("en", False, True, "+86 138 0000 0000")
    assert client.post("/settings", data={"locale": "fr"}).status_code == 400


def test_team_chat_url_only_for_its_coordinators(app, client, auth):
    mine = make_user(Role.COORDINATOR, email="c1@test.example")
    other = make_user(Role.COORDINATOR, email="c2@test.example")
    team = make_team(coordinator=mine)
    make_team(coordinator=other)
    team.chat_webhook = "dingtalk://secret-token-of-team-one"
    db.session.commit()
    auth.login("c2@test.example")
    assert client.get(f"/roster/teams/{team.id}/chat").status_code == 403
    assert client.post(f"/roster/teams/{team.id}/chat", data={"url": "json://evil"}).status_code == 403
    auth.logout()
    auth.login("c1@test.example")
    page = client.get(f"/roster/teams/{team.id}/chat")
    assert page.status_code == 200 and b"secret-token-of-team-one" in page.data
    assert client.post(f"/roster/teams/{team.id}/chat", data={"url": "http://example.org/x"}).status_code == 400
    assert client.post(f"/roster/teams/{team.id}/chat", data={"url": "wecombot://ABCDEF1234"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(PatrolTeam, team.id).chat_webhook == "wecombot://ABCDEF1234"


def test_outbox_page_is_admin_only_filters_and_retries(app, client, auth):
    make_user(Role.ADMIN, email="a@test.example")
    make_user(Role.COORDINATOR, email="c@test.example")
    queue(3, OutboxStatus.FAILED)
    auth.login("c@test.example")
    assert client.get("/admin/notifications").status_code == 403
    auth.logout()
    auth.login("a@test.example")
    page = client.get("/admin/notifications?status=failed")
    assert page.status_code == 200 and page.data.count(b"451 try later") == 3
    assert client.get("/admin/notifications?status=nope").status_code == 400
    assert client.get("/admin/notifications?status=sent").data.count(b"451 try later") == 0
    row = db.session.scalar(sa.select(OutboxMessage).limit(1))
    assert client.get(f"/admin/notifications/{row.id}/retry").status_code == 405
    assert client.post(f"/admin/notifications/{row.id}/retry").status_code == 303
    db.session.expire_all()
    row = db.session.get(OutboxMessage, row.id)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.PENDING, 0, "")


def test_outbox_page_runs_a_constant_number_of_queries(app, web_app, client, auth, monkeypatch):
    from views import template_helpers

    monkeypatch.setitem(template_helpers._sample_cache, "checked", float("inf"))
    make_user(Role.ADMIN, email="a@test.example")
    queue(2, OutboxStatus.FAILED)
    auth.login("a@test.example")
    with web_app.app_context():
        engine = db.engine
    with count_queries(engine) as small:
        assert client.get("/admin/notifications").status_code == 200
    queue(30, OutboxStatus.SENT)
    with count_queries(engine) as large:
        assert client.get("/admin/notifications").status_code == 200
    assert small() == large()


def test_api_me_reads_and_changes_language_and_channels(app, client):
    from api.tokens import issue_token

    user = make_user(Role.VOLUNTEER, locale="zh_CN")
    token = issue_token(user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    got = client.get("/api/v1/me", headers=headers).get_json()
    assert (got["language"], got["channels"]) == ("zh_CN", {"email": True, "sms": False})
    refused = client.patch("/api/v1/me", headers=headers, json={"channels": {"sms": True}})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "phone_required"
    assert client.patch("/api/v1/me", headers=headers, json={"language": "fr"}).get_json()["error"]["code"] == (
        "bad_language"
    )
    assert client.patch("/api/v1/me", headers=headers, json={"colour": "red"}).status_code == 400
    changed = client.patch(
        "/api/v1/me", headers=headers, json={"language": "en", "phone": "+8613800000009", "channels": {"sms": True}}
    )
    assert changed.status_code == 200
    assert changed.get_json()["channels"] == {"email": True, "sms": True} and changed.get_json()["language"] == "en"


def test_csv_import_sets_language_and_channels(runner, tmp_path, app):
    make_team(code="T301")
    db.session.commit()
    path = tmp_path / "v.csv"
    path.write_text(
        "email,name,phone,teams,language,channels\n"
        "en@test.example,甲,13900001111,T301,en,email;sms\n"
        "zh@test.example,乙,,T301,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import", "volunteers", str(path)])
    assert result.exit_code == 0, result.output
    en = db.session.scalar(sa.select(User).where(User.email == "en@test.example"))
    zh = db.session.scalar(sa.select(User).where(User.email == "zh@test.example"))
    assert (en.locale, en.notify_email, en.notify_sms) == ("en", True, True)
    assert (zh.locale, zh.notify_email, zh.notify_sms) == ("zh_CN", True, False)
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,teams,language,channels\nx@test.example,丙,T301,fr,sms\n", encoding="utf-8")
    result = runner.invoke(args=["import", "volunteers", str(bad)])
    # The command speaks the console's default language (Chinese): the row's two refusals, named.
    assert result.exit_code != 0 and "language “fr”" in result.output and "短信需要手机号码" in result.output
    assert "nothing imported" in result.output
