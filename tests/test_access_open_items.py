"""Access checks that docs/SECURITY.md listed as "present in code but untested over HTTP"."""

from __future__ import annotations

import datetime as dt

import pytest

from api.tokens import issue_token
from feeds import tokens
from models import Role, db
from tests.factories import make_shift, make_team, make_user
from tests.test_prod_forms_fuzz import login_as
from timeutil import local_to_utc, local_today

ROLES = (Role.VOLUNTEER, Role.COORDINATOR, Role.STAFF, Role.OFFICIAL, Role.ADMIN)


@pytest.fixture
def people(app):
    people = {role: make_user(role, email=f"{role.value}@test.example") for role in ROLES}
    team = make_team(coordinator=people[Role.COORDINATOR], members=[people[Role.VOLUNTEER]])
    shift = make_shift(team, local_to_utc(local_today() + dt.timedelta(days=3), dt.time(19)))
    db.session.commit()
    return people, team, shift


def statuses(web_app, people, url: str) -> dict[str, int]:
    result = {"anonymous": web_app.test_client().get(url).status_code}
    for role, user in people.items():
        client = web_app.test_client()
        login_as(client, user)
        result[role.value] = client.get(url).status_code
    return result


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("/admin/people/teams", {"admin"}),
        ("/feeds/tokens", {"admin"}),
        ("/admin/", {"admin"}),
        ("/admin/schedule/", {"admin"}),
        ("/admin/schedule/holidays", {"admin"}),
        ("/admin/schedule/teams", {"admin"}),
        ("/admin/schedule/series/new", {"admin"}),
        ("/roster/", {"admin", "coordinator"}),
        ("/legal-clinic/book/manage", {"admin", "staff"}),
        ("/suggestions/manage", {"admin", "staff"}),
        ("/suggestions/manage/report", {"admin", "staff"}),
    ],
)
def test_who_opens_the_staff_and_admin_pages(web_app, people, url, allowed):
    """Everyone else gets 403 (anonymous: sent to log in); admins reach the staff pages too."""
    found = statuses(web_app, people[0], url)
    assert found.pop("anonymous") == 302
    assert {role for role, status in found.items() if status == 200} == allowed, found
    assert {status for role, status in found.items() if role not in allowed} <= {403}, found


def test_a_volunteer_token_cannot_assign_through_the_api(app, client, people):
    users, team, shift = people
    token = issue_token(users[Role.VOLUNTEER])
    db.session.commit()
    response = client.post(
        f"/api/v1/shifts/{shift.id}/assignments",
        json={"volunteer_id": users[Role.VOLUNTEER].id},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert shift.assigned_count == 0


def test_private_feeds_keep_their_token_out_of_referers_and_search_engines(app, client, people):
    team = people[1]
    token = tokens.get_or_issue(team=team).token
    db.session.commit()
    response = client.get(f"/feeds/t/{token}.ics")
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    public = client.get("/feeds/contact-days.ics")
    assert "X-Robots-Tag" not in public.headers


def test_tracking_look_ups_are_rate_limited(app, database_url):
    from app import create_app
    from extensions import limiter
    from tests.conftest import base_config

    limited = create_app(base_config(database_url, RATELIMIT_ENABLED=True))
    try:
        client = limited.test_client()
        found = [client.get("/suggestions/track?number=ABCDEFGHJK").status_code for _ in range(31)]
        assert 429 not in found[:30] and found[30] == 429
    finally:
        limiter.reset()
        limiter.enabled = False  # the limiter is one object shared by every app in this process
        with limited.app_context():
            db.engine.dispose()
