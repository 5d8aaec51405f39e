"""Private links: issue, re-issue and revoke; who may; subscribe blocks on pages; `flask feeds list`."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app import create_app
from feeds import tokens
from models import AuditLog, FeedKind, FeedToken, Role, db
from tests.conftest import base_config
from tests.factories import make_team, make_user
from tests.feeds_fixtures import _pinned_today_and_clean_cache, paths, world  # noqa: F401  (fixtures)


def token_of(path: str) -> str:
    return path.rsplit("/", 1)[1].removesuffix(".ics")


def live(**owner) -> FeedToken | None:
    db.session.expire_all()
    return tokens.active_token(**owner)


def test_tokens_are_long_random_and_one_live_per_owner(app):
    user = make_user()
    first = tokens.get_or_issue(user=user)
    assert tokens.get_or_issue(user=user) is first
    assert len(first.token) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", first.token)  # 192 random bits
    db.session.commit()
    # The database itself refuses a second live token for the same owner.
    db.session.add(FeedToken(kind=FeedKind.VOLUNTEER, user_id=user.id))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(ValueError):
        tokens.get_or_issue()


def test_reissue_revokes_the_old_token_and_is_audited_without_the_secret(app):
    coordinator = make_user(Role.COORDINATOR)
    team = make_team(coordinator=coordinator)
    old = tokens.get_or_issue(team=team)
    db.session.commit()
    new = tokens.reissue(old, coordinator)
    db.session.commit()
    assert old.revoked_at is not None and new.is_active and new.token != old.token
    assert live(team=team).id == new.id
    actions = [a.action for a in db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["feed_token.issue", "feed_token.revoke", "feed_token.issue", "feed_token.reissue"]
    for entry in db.session.scalars(sa.select(AuditLog)):
        assert old.token not in str(entry.detail) and new.token not in str(entry.detail)
    tokens.revoke(new, coordinator)
    db.session.commit()
    assert live(team=team) is None and tokens.ever_issued(team=team)


def test_volunteer_reissues_own_link_and_the_old_one_is_404(client, auth, world, paths):
    old = token_of(paths.volunteer)
    assert client.get(paths.volunteer).status_code == 200
    auth.login(world.volunteer.email)
    token = db.session.scalar(sa.select(FeedToken).where(FeedToken.token == old))
    response = client.post(f"/feeds/tokens/{token.id}/reissue", data={"next": "/me/"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/me/")
    assert client.get(paths.volunteer).status_code == 404
    new = live(user=world.volunteer)
    assert new.token != old
    assert client.get(f"/feeds/v/{new.token}.ics").status_code == 200
    # Off-site `next` is ignored.
    response = client.post(f"/feeds/tokens/{new.id}/revoke", data={"next": "https://evil.example/"})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]
    assert client.get(f"/feeds/v/{new.token}.ics").status_code == 404
    assert live(user=world.volunteer) is None


def test_who_may_revoke_what(client, auth, world, paths, make_client):
    mine = db.session.scalar(sa.select(FeedToken).where(FeedToken.token == token_of(paths.volunteer)))
    team = db.session.scalar(sa.select(FeedToken).where(FeedToken.token == token_of(paths.team)))
    stranger_coordinator = make_user(Role.COORDINATOR)
    other_team_token = tokens.get_or_issue(team=make_team(coordinator=stranger_coordinator))
    admin = make_user(Role.ADMIN)
    db.session.commit()

    # Anonymous: sent to log in.
    assert client.post(f"/feeds/tokens/{mine.id}/revoke").status_code == 302
    # Another volunteer: not theirs.
    auth.login(world.other_volunteer.email)
    assert client.post(f"/feeds/tokens/{mine.id}/revoke").status_code == 403
    assert client.post(f"/feeds/tokens/{team.id}/reissue").status_code == 403
    auth.logout()
    # A coordinator: their own team's token, not another team's, not a volunteer's.
    auth.login(world.coordinator.email)
    assert client.post(f"/feeds/tokens/{other_team_token.id}/revoke").status_code == 403
    assert client.post(f"/feeds/tokens/{mine.id}/revoke").status_code == 403
    assert client.post(f"/feeds/tokens/{team.id}/reissue").status_code == 302
    assert client.get(paths.team).status_code == 404
    assert client.get(f"/feeds/teams/{world.team.id}").status_code == 200
    assert client.get(f"/feeds/teams/{world.other_team.id}").status_code == 403
    assert client.post(f"/feeds/teams/{world.other_team.id}/issue").status_code == 403
    assert client.post("/feeds/tokens/999999/revoke").status_code == 404
    auth.logout()
    # Admin: any.
    auth.login(admin.email)
    assert client.post(f"/feeds/tokens/{mine.id}/revoke").status_code == 302
    assert client.post(f"/feeds/tokens/{other_team_token.id}/reissue").status_code == 302
    assert client.get(paths.volunteer).status_code == 404
    assert live(user=world.volunteer) is None
    page = client.get("/feeds/tokens?lang=en")
    assert page.status_code == 200 and world.team.code in page.get_data(as_text=True)


@pytest.fixture
def csrf_client(database_url, app):
    return create_app(base_config(database_url, WTF_CSRF_ENABLED=True)).test_client()


def test_token_forms_need_the_csrf_token(csrf_client, world, paths):
    from tests.factories import PASSWORD

    page = csrf_client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    csrf_client.post("/login", data={"email": world.volunteer.email, "password": PASSWORD, "csrf_token": csrf})
    token = db.session.scalar(sa.select(FeedToken).where(FeedToken.token == token_of(paths.volunteer)))
    assert csrf_client.post(f"/feeds/tokens/{token.id}/revoke").status_code == 400
    assert live(user=world.volunteer) is not None
    page = csrf_client.get("/me/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert csrf_client.post(f"/feeds/tokens/{token.id}/revoke", data={"csrf_token": csrf}).status_code == 302
    assert live(user=world.volunteer) is None


def test_volunteer_page_offers_the_private_feed(client, auth, world):
    auth.login(world.volunteer.email)
    # Showing the page writes nothing: it offers to create the link, a POST creates it.
    page = client.get("/me/?lang=en").get_data(as_text=True)
    assert live(user=world.volunteer) is None
    assert "Create your private calendar link" in page and "Create my calendar link" in page
    assert client.post("/feeds/me/issue", data={"next": "/me/"}).status_code == 302
    page = client.get("/me/?lang=en").get_data(as_text=True)
    token = live(user=world.volunteer)
    assert token is not None
    assert f"webcal://localhost/feeds/v/{token.token}.ics?lang=en" in page
    assert f'value="http://localhost/feeds/v/{token.token}.ics?lang=en"' in page
    assert "<svg" in page and 'role="img"' in page  # the QR code
    assert "This link is secret" in page
    assert f"/feeds/tokens/{token.id}/reissue" in page and f"/feeds/tokens/{token.id}/revoke" in page
    assert client.get("/me/").status_code == 200
    assert live(user=world.volunteer).id == token.id  # showing the page again issues nothing new
    # After turning it off, no link comes back by itself; the volunteer asks for a new one.
    client.post(f"/feeds/tokens/{token.id}/revoke")
    page = client.get("/me/?lang=en").get_data(as_text=True)
    assert "webcal://" not in page and "Create my calendar link" in page
    assert live(user=world.volunteer) is None
    assert client.post("/feeds/me/issue").status_code == 302
    fresh = live(user=world.volunteer)
    assert fresh is not None and fresh.token != token.token
    assert client.get(f"/feeds/v/{fresh.token}.ics").status_code == 200


def test_coordinator_sees_team_links(client, auth, world):
    auth.login(world.coordinator.email)
    assert "/feeds/teams" in client.get("/me/").get_data(as_text=True)
    listing = client.get("/feeds/teams?lang=en").get_data(as_text=True)
    assert world.team.code in listing and world.other_team.code not in listing
    page = client.get(f"/feeds/teams/{world.team.id}?lang=en").get_data(as_text=True)
    assert live(team=world.team) is None and "The team has no calendar link yet." in page
    assert client.post(f"/feeds/teams/{world.team.id}/issue").status_code == 302
    page = client.get(f"/feeds/teams/{world.team.id}?lang=en").get_data(as_text=True)
    token = live(team=world.team)
    assert f"webcal://localhost/feeds/t/{token.token}.ics?lang=en" in page and "<svg" in page
    assert client.get(f"/feeds/t/{token.token}.ics").status_code == 200
    volunteer_client_page = client.get(f"/feeds/teams/{world.other_team.id}")
    assert volunteer_client_page.status_code == 403


def test_volunteers_cannot_open_team_pages(client, auth, world):
    auth.login(world.volunteer.email)
    assert client.get(f"/feeds/teams/{world.team.id}").status_code == 403
    assert client.get("/feeds/tokens").status_code == 403


@pytest.mark.parametrize(
    "path, endpoint_path",
    [
        ("/contact-days", "/feeds/contact-days.ics"),
        ("/holiday-court", "/feeds/holiday-court.ics"),
        ("/legal-clinic", "/feeds/legal-clinic.ics"),
        ("/communities/sample-east", "/feeds/communities/sample-east.ics"),
    ],
)
def test_public_pages_offer_their_feed(client, world, path, endpoint_path):
    page = client.get(path + "?lang=en").get_data(as_text=True)
    assert f'href="webcal://localhost{endpoint_path}?lang=en"' in page
    assert f'value="http://localhost{endpoint_path}?lang=en"' in page
    assert "calendar.google.com/calendar/render?cid=webcal" in page
    assert "<svg" in page
    assert "This link is secret" not in page
    assert "webcal://localhost" + endpoint_path in client.get(path).get_data(as_text=True)


def test_public_base_url_is_used_in_links(database_url, world):
    served = create_app(base_config(database_url, PUBLIC_BASE_URL="https://schedules.example.org"))
    page = served.test_client().get("/contact-days").get_data(as_text=True)
    assert 'href="webcal://schedules.example.org/feeds/contact-days.ics"' in page
    body = served.test_client().get("/feeds/contact-days.ics").get_data(as_text=True)
    # Each event links to its session's own page on the public address.
    assert f"URL:https://schedules.example.org/sessions/{world.contact[2].id}\r\n" in body


def test_feeds_list_command(runner, world, paths):
    result = runner.invoke(args=["feeds", "list", "--base-url", "https://sip.example"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "https://sip.example/feeds/contact-days.ics\tpublic: contact days" in lines
    assert "https://sip.example/feeds/holiday-court.ics\tpublic: holiday court" in lines
    assert "https://sip.example/feeds/legal-clinic.ics\tpublic: legal clinic" in lines
    assert f"https://sip.example/feeds/communities/sample-east.ics\tcommunity: {world.community.name_en}" in lines
    assert (f"https://sip.example{paths.team}\tteam {world.team.code}: {world.team.name_en} (private)") in lines
    assert f"https://sip.example{paths.volunteer}\tvolunteer {world.volunteer.email} (private)" in lines
    token = db.session.scalar(sa.select(FeedToken).where(FeedToken.token == token_of(paths.volunteer)))
    tokens.revoke(token, None)
    db.session.commit()
    result = runner.invoke(args=["feeds", "list", "--kind", "volunteer"])
    assert paths.volunteer not in result.output and "contact-days" not in result.output
    assert f"http://127.0.0.1:5000{paths.other_volunteer}" in result.output
