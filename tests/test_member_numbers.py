"""Two members named 刘雪琴 / Liu Xueqin: every list where names can collide tells them apart by
member number (assign, bulk, swap, hours, roster, print, CSV, API)."""

from __future__ import annotations

import datetime as dt

import pytest

from api.tokens import issue_token
from models import Attendance, Role, TeamMembership, db
from tests.conftest import count_queries
from tests.factories import make_assignment, make_shift, make_team, make_user
from timeutil import LOCAL_TZ, local_today


@pytest.fixture
def twins(app):
    coordinator = make_user(Role.COORDINATOR, email="coord@twins.example")
    first = make_user(Role.VOLUNTEER, email="liu1@twins.example", name="刘雪琴", name_en="Liu Xueqin")
    second = make_user(Role.VOLUNTEER, email="liu2@twins.example", name="刘雪琴", name_en="Liu Xueqin")
    wang = make_user(Role.VOLUNTEER, email="wang@twins.example", name="王芳", name_en="Wang Fang")
    team = make_team(coordinator=coordinator, members=[first, second, wang], code="T001")
    today = local_today()
    monday = today + dt.timedelta(days=7 - today.weekday())
    ahead = monday + dt.timedelta(days=8)  # a week on Tuesday: past every cut-off
    staffed = make_shift(team, dt.datetime.combine(ahead, dt.time(19), tzinfo=LOCAL_TZ), hours=3)
    empty = make_shift(team, dt.datetime.combine(ahead, dt.time(8), tzinfo=LOCAL_TZ), hours=3)
    for person in (first, second, wang):
        make_assignment(staffed, person)
    past = make_shift(team, dt.datetime(today.year, 1, 6, 19, tzinfo=LOCAL_TZ), hours=3)  # a Tuesday this year
    for person in (first, second):
        make_assignment(past, person, attendance=Attendance.PRESENT, hours_credited=3)
    token = issue_token(coordinator)
    db.session.commit()
    return type("Twins", (), dict(team=team, staffed=staffed, empty=empty, ahead=ahead, token=token, year=today.year))


def both(text: str) -> bool:
    return "T001-002" in text and "T001-003" in text


def test_same_names_are_told_apart_on_every_list(twins, client, auth):
    auth.login("coord@twins.example")
    start = twins.ahead.isoformat()
    pages = {
        "week roster": f"/roster/team/T001?start={start}&lang=en",
        "month roster": f"/roster/team/T001?view=month&month={twins.ahead:%Y-%m}&lang=en",
        "assign (shift page)": f"/roster/shift/{twins.empty.id}?lang=en",
        "bulk": "/roster/team/T001/bulk?lang=en",
        "hours": f"/roster/team/T001/hours?year={twins.year}&lang=en",
        "print": f"/roster/team/T001/print?month={twins.ahead:%Y-%m}&lang=en",
        "export": f"/roster/team/T001/export.csv?month={twins.ahead:%Y-%m}",
        "members": "/checkin/team/T001/members?lang=en",
    }
    for name, path in pages.items():
        response = client.get(path)
        assert response.status_code == 200, name
        assert both(response.get_data(as_text=True)), name
    api = client.get(
        f"/api/v1/teams/{twins.team.id}/shifts?from={start}&to={start}",
        headers={"Authorization": f"Bearer {twins.token}"},
    ).get_json()
    numbers = {a["member_number"] for s in api["items"] for a in s["assignments"]}
    assert {"T001-002", "T001-003"} <= numbers
    auth.logout()
    auth.login("wang@twins.example")  # the swap list offers both teammates
    assert both(client.get("/me/?lang=en").get_data(as_text=True))


def test_member_numbers_cost_one_query_per_team(twins, client, auth):
    auth.login("coord@twins.example")
    path = f"/roster/team/T001?start={twins.ahead.isoformat()}&lang=en"
    client.get(path)
    with count_queries(db.engine) as n:
        client.get(path)
    before = n()
    for k in range(10):
        person = make_user(Role.VOLUNTEER, name="刘雪琴")
        db.session.add(TeamMembership(team_id=twins.team.id, user_id=person.id))
        db.session.flush()
        if k < 3:
            make_assignment(twins.staffed, person)
    db.session.commit()
    with count_queries(db.engine) as n:
        client.get(path)
    assert n() <= before + 1, (before, n())
