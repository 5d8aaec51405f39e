"""The planner's pages: a coordinator plans, reviews, edits and publishes their own team's month."""

from __future__ import annotations

import sqlalchemy as sa

from models import Assignment, Plan, PlanStatus, db
from tests.conftest import count_queries

from .planner_checker import check_roster
from .test_planner import JAN_1, JAN_31, _team


def test_coordinator_plans_reviews_edits_and_publishes(app, client, auth):
    team, coordinator, people, _ = _team(8)
    auth.login(coordinator.email)
    assert client.get(f"/roster/team/{team.code}/plan").status_code == 200
    response = client.post(f"/roster/team/{team.code}/plan", data={"first": "2027-01-01", "last": "2027-01-31"})
    assert response.status_code == 302
    plan = db.session.scalar(sa.select(Plan))
    with count_queries(db.engine) as queries:
        page = client.get(f"/roster/plan/{plan.id}")
    assert page.status_code == 200 and queries() < 25  # no N+1 over 62 shifts and 9 people
    assert people[0].display_name in page.get_data(as_text=True)
    entry = plan.entries[0]
    assert client.post(f"/roster/plan/{plan.id}/remove", data={"entry": entry.id}).status_code == 302
    assert client.post(f"/roster/plan/{plan.id}/remove", data={"entry": "x"}).status_code == 400
    assert client.post(f"/roster/plan/{plan.id}/publish").status_code == 302
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).status is PlanStatus.PUBLISHED
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 123
    assert check_roster(JAN_1, JAN_31) == []
    again = client.post(f"/roster/plan/{plan.id}/publish")
    assert again.status_code == 409  # plan_closed


def test_coordinator_of_another_team_gets_403(app, client, auth):
    team, coordinator, _people, _ = _team(3)
    _other, other_coordinator, _p, _t = _team(2)
    auth.login(coordinator.email)
    client.post(f"/roster/team/{team.code}/plan", data={"first": "2027-01-01", "last": "2027-01-31"})
    plan = db.session.scalar(sa.select(Plan))
    auth.logout()
    auth.login(other_coordinator.email)
    assert client.get(f"/roster/team/{team.code}/plan").status_code == 403
    assert client.get(f"/roster/plan/{plan.id}").status_code == 403
    assert client.post(f"/roster/plan/{plan.id}/publish").status_code == 403
    assert (
        client.post(f"/roster/team/{team.code}/plan", data={"first": "2027-01-01", "last": "2027-01-31"}).status_code
        == 403
    )
