"""Roster, coverage and volunteer pages over HTTP, without JavaScript (and the JSON path of roster.js)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from models import (
    Assignment,
    AssignmentStatus,
    Attendance,
    AuditLog,
    PatrolTeam,
    Role,
    Shift,
    ShiftStatus,
    SwapRequest,
    TeamMembership,
    Unavailability,
    db,
)
from tests.conftest import AuthActions, count_queries, recorded_statements
from tests.factories import make_assignment, make_shift, make_team, make_user
from timeutil import LOCAL_TZ


def next_monday() -> dt.date:
    today = dt.datetime.now(LOCAL_TZ).date()
    return today + dt.timedelta(days=7 - today.weekday())


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_TZ)


@pytest.fixture
def setup(app):
    coordinator = make_user(Role.COORDINATOR, email="coord-a@test.example")
    coordinator_b = make_user(Role.COORDINATOR, email="coord-b@test.example")
    wang = make_user(Role.VOLUNTEER, email="wang@test.example", name="王芳", name_en="Wang Fang")
    zhao = make_user(Role.VOLUNTEER, email="zhao@test.example", name="赵磊", name_en="Zhao Lei")
    team_a = make_team(coordinator=coordinator, members=[wang, zhao], code="TA", name_en="Team A")
    team_b = make_team(coordinator=coordinator_b, members=[wang], code="TB", name_en="Team B")
    monday = next_monday()
    shift_a = make_shift(team_a, at(monday + dt.timedelta(days=1), 19), hours=3)
    shift_b = make_shift(team_b, at(monday + dt.timedelta(days=1), 20), hours=3)
    db.session.commit()
    return type(
        "Setup",
        (),
        dict(
            coordinator=coordinator,
            coordinator_b=coordinator_b,
            wang=wang,
            zhao=zhao,
            team_a=team_a,
            team_b=team_b,
            shift_a=shift_a,
            shift_b=shift_b,
            monday=monday,
        ),
    )


def test_coordinator_of_team_a_gets_403_on_team_b(setup, client, auth):
    auth.login("coord-a@test.example")
    monday = setup.monday.isoformat()
    assert client.get(f"/roster/team/TA?start={monday}").status_code == 200
    for path in (
        f"/roster/team/TB?start={monday}",
        "/roster/team/TB?view=month",
        f"/roster/shift/{setup.shift_b.id}",
        "/roster/team/TB/bulk",
        "/roster/team/TB/hours",
        "/roster/team/TB/export.csv",
        "/roster/team/TB/print",
    ):
        assert client.get(path).status_code == 403, path
    posts = [
        ("/roster/team/TB", {"action": "assign", "shift_id": setup.shift_b.id, "volunteer_id": setup.wang.id}),
        (
            f"/roster/shift/{setup.shift_b.id}",
            {"action": "assign", "shift_id": setup.shift_b.id, "volunteer_id": setup.wang.id},
        ),
        # Team B's shift through team A's page: the object is checked, not just the URL.
        ("/roster/team/TA", {"action": "assign", "shift_id": setup.shift_b.id, "volunteer_id": setup.wang.id}),
        ("/roster/team/TB/bulk", {"action": "fill_min", "first": monday, "last": monday}),
    ]
    for path, data in posts:
        assert client.post(path, data=data).status_code == 403, path
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 0


def test_unassign_and_attendance_of_another_team_are_403(setup, client, auth, app):
    past = make_shift(setup.team_b, dt.datetime.now(LOCAL_TZ) - dt.timedelta(hours=5), hours=3)
    assignment = make_assignment(past, setup.wang)
    db.session.commit()
    auth.login("coord-a@test.example")
    for action in ("unassign", "present", "no_show"):
        response = client.post("/roster/team/TA", data={"action": action, "assignment_id": assignment.id})
        assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Assignment, assignment.id).attendance is Attendance.UNKNOWN


def test_volunteers_and_anonymous_cannot_see_rosters(setup, client, auth):
    assert client.get("/roster/team/TA").status_code == 302  # to the login page
    auth.login("wang@test.example")
    assert client.get("/roster/team/TA").status_code == 403
    assert client.get("/roster/coverage").status_code == 403


def test_assign_without_javascript_and_see_the_conflict(setup, client, auth):
    auth.login("coord-b@test.example")
    client.post(
        "/roster/team/TB", data={"action": "assign", "shift_id": setup.shift_b.id, "volunteer_id": setup.wang.id}
    )
    auth.logout()
    auth.login("coord-a@test.example")
    url = f"/roster/team/TA?start={setup.monday.isoformat()}&lang=en"

    response = client.post(url, data={"action": "assign", "shift_id": setup.shift_a.id, "volunteer_id": setup.zhao.id})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Zhao Lei is now on this shift." in page

    response = client.post(url, data={"action": "assign", "shift_id": setup.shift_a.id, "volunteer_id": setup.wang.id})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Wang Fang is already on the 20:00–23:00 shift of Team B (TB)" in page
    assert 'role="alert"' in page
    db.session.expire_all()
    assert db.session.get(Shift, setup.shift_a.id).assigned_count == 1


def test_assign_with_javascript_gets_json_and_the_new_card(setup, client, auth):
    auth.login("coord-a@test.example")
    url = f"/roster/team/TA?start={setup.monday.isoformat()}&lang=en"
    headers = {"Accept": "application/json"}
    response = client.post(
        url, headers=headers, data={"action": "assign", "shift_id": setup.shift_a.id, "volunteer_id": setup.zhao.id}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] and f'id="shift-{setup.shift_a.id}"' in body["html"] and "Zhao Lei" in body["html"]
    response = client.post(
        url, headers=headers, data={"action": "assign", "shift_id": setup.shift_a.id, "volunteer_id": setup.zhao.id}
    )
    assert response.status_code == 409
    # The one error body of a refused rule (responses.violation_json), as the API answers it.
    assert response.get_json() == {
        "error": {"status": 409, "code": "already_assigned", "message": "Zhao Lei is already on this shift."}
    }


def test_bad_form_input_is_400(setup, client, auth):
    auth.login("coord-a@test.example")
    assert client.post("/roster/team/TA", data={"action": "assign", "shift_id": "x"}).status_code == 400
    assert client.post("/roster/team/TA", data={"action": "explode"}).status_code == 400
    assert client.get("/roster/team/TA?start=31-12-2026").status_code == 400
    assert client.get("/roster/team/TA?view=month&month=2026-13").status_code == 400
    assert client.get("/roster/team/NOPE").status_code == 404


def test_week_and_shift_pages_list_only_available_volunteers(setup, client, auth, app):
    db.session.add(Unavailability(user_id=setup.zhao.id, weekday=(setup.monday + dt.timedelta(days=1)).weekday()))
    make_assignment(setup.shift_b, setup.wang)
    db.session.commit()
    auth.login("coord-a@test.example")
    page = client.get(f"/roster/team/TA?start={setup.monday.isoformat()}&lang=en").get_data(as_text=True)
    select = page[page.index(f'id="volunteer-{setup.shift_a.id}"') :]
    select = select[: select.index("</select>")]
    assert "Wang Fang" not in select and "Zhao Lei" not in select
    page = client.get(f"/roster/shift/{setup.shift_a.id}?show=all&lang=en").get_data(as_text=True)
    assert "on TB 20:00–23:00" in page
    assert "said they cannot do Tuesday" in page


def test_month_view_print_and_csv(setup, client, auth, app):
    make_assignment(setup.shift_a, setup.wang)
    make_assignment(setup.shift_a, setup.zhao)
    db.session.commit()
    auth.login("coord-a@test.example")
    month = setup.shift_a.local_date.strftime("%Y-%m")
    page = client.get(f"/roster/team/TA?view=month&month={month}&lang=en").get_data(as_text=True)
    assert "19:00–22:00" in page and "Wang Fang" in page and "2 of 2–6" in page
    page = client.get(f"/roster/team/TA/print?month={month}&lang=en").get_data(as_text=True)
    assert re.search(r"Wang Fang TA-\d{3}, Zhao Lei TA-\d{3}", page)  # with member numbers

    response = client.get(f"/roster/team/TA/export.csv?month={month}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"roster-TA-{month}.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["date"], r["start"], r["end"], r["volunteer"], r["attendance"]) for r in rows] == [
        (setup.shift_a.local_date.isoformat(), "19:00", "22:00", "王芳", "unknown"),
        (setup.shift_a.local_date.isoformat(), "19:00", "22:00", "赵磊", "unknown"),
    ]


def test_attendance_and_hours_pages(setup, client, auth, app):
    past = make_shift(setup.team_a, dt.datetime.now(LOCAL_TZ) - dt.timedelta(hours=6), hours=4)
    came = make_assignment(past, setup.wang)
    missed = make_assignment(past, setup.zhao)
    db.session.commit()
    auth.login("coord-a@test.example")
    url = f"/roster/shift/{past.id}?lang=en"
    assert client.post(url, data={"action": "present", "assignment_id": came.id}).status_code == 303
    assert client.post(url, data={"action": "no_show", "assignment_id": missed.id}).status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "present · 4 h" in page and "no-show" in page
    page = client.get(f"/roster/team/TA/hours?year={past.local_date.year}&lang=en").get_data(as_text=True)
    assert "Wang Fang" in page and "Zhao Lei" not in page
    actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert actions.count("assignment.attendance") == 2


def test_bulk_fill_from_the_usual_volunteers(setup, client, auth, app):
    # Four past Tuesdays at 19:00: Wang came to all, Zhao to one. Next month's Tuesdays are empty.
    tuesday = setup.monday + dt.timedelta(days=1)
    for weeks in range(1, 5):
        old = make_shift(setup.team_a, at(tuesday - dt.timedelta(weeks=weeks + 1), 19), hours=3)
        make_assignment(old, setup.wang, attendance=Attendance.PRESENT)
        if weeks == 1:
            make_assignment(old, setup.zhao, attendance=Attendance.PRESENT)
    upcoming = [setup.shift_a] + [
        make_shift(setup.team_a, at(tuesday + dt.timedelta(weeks=w), 19), hours=3, min_volunteers=1) for w in (1, 2)
    ]
    db.session.commit()
    auth.login("coord-a@test.example")
    response = client.post(
        "/roster/team/TA/bulk?lang=en",
        data={
            "action": "fill_min",
            "first": (tuesday - dt.timedelta(days=7)).isoformat(),
            "last": (tuesday + dt.timedelta(weeks=3)).isoformat(),
            "weekdays": [tuesday.weekday()],
            "start_time": "19:00",
            "volunteer": "",
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    db.session.expire_all()
    filled = {
        s.id: sorted(
            a.volunteer_id
            for a in db.session.scalars(
                sa.select(Assignment).where(Assignment.shift_id == s.id, Assignment.status == AssignmentStatus.ASSIGNED)
            )
        )
        for s in upcoming
    }
    assert filled[setup.shift_a.id] == sorted([setup.wang.id, setup.zhao.id])  # minimum 2
    assert filled[upcoming[1].id] == [setup.wang.id]  # minimum 1: the most usual one
    assert filled[upcoming[2].id] == [setup.wang.id]
    assert "4 changes made, 0 refused" in page
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "roster.fill_from_usual")) is not None


def test_bulk_assign_reports_refusals(setup, client, auth, app):
    tuesday = setup.monday + dt.timedelta(days=1)
    make_assignment(setup.shift_b, setup.wang)  # overlaps team A's first Tuesday
    make_shift(setup.team_a, at(tuesday + dt.timedelta(weeks=1), 19), hours=3)
    db.session.commit()
    auth.login("coord-a@test.example")
    response = client.post(
        "/roster/team/TA/bulk?lang=en",
        data={
            "action": "assign",
            "first": setup.monday.isoformat(),
            "last": (setup.monday + dt.timedelta(days=13)).isoformat(),
            "start_time": "",
            "volunteer": setup.wang.id,
        },
    )
    page = response.get_data(as_text=True)
    assert "1 change made, 1 refused" in page  # plural forms: never "1 changes"
    assert "already on the 20:00–23:00 shift of Team B (TB)" in page


def test_bulk_form_errors_are_400(setup, client, auth):
    auth.login("coord-a@test.example")
    response = client.post(
        "/roster/team/TA/bulk?lang=en",
        data={"action": "assign", "first": "2026-12-01", "last": "2026-11-01", "volunteer": ""},
    )
    assert response.status_code == 400
    response = client.post("/roster/team/TA/bulk?lang=en", data={"action": "assign", "first": "", "last": "2026-11-01"})
    assert response.status_code == 400


def test_volunteer_sees_signs_up_drops_and_swaps(setup, client, auth, make_client, app):
    auth.login("wang@test.example")
    page = client.get("/me/open?lang=en").get_data(as_text=True)
    assert "Team A" in page and "Team B" in page

    response = client.post("/me/open?lang=en", data={"shift_id": setup.shift_a.id})
    assert response.status_code == 303
    page = client.get("/me/?lang=en").get_data(as_text=True)
    assert "My upcoming shifts" in page and "19:00" in page and "Team A" in page

    response = client.post("/me/open?lang=en", data={"shift_id": setup.shift_b.id})  # overlaps
    assert response.status_code == 409
    assert "Wang Fang is already on the 19:00–22:00 shift of Team A (TA)" in response.get_data(as_text=True)

    assignment = db.session.scalar(sa.select(Assignment).where(Assignment.volunteer_id == setup.wang.id))
    response = client.post(
        "/me/?lang=en", data={"action": "swap", "assignment_id": assignment.id, "to_user_id": setup.zhao.id}
    )
    assert response.status_code == 303
    assert "Waiting for Zhao Lei to accept." in client.get("/me/?lang=en").get_data(as_text=True)

    zhao = make_client()
    zhao.post("/login", data={"email": "zhao@test.example", "password": "correct horse battery"})
    page = zhao.get("/me/?lang=en").get_data(as_text=True)
    assert "Wang Fang asks you to take this shift" in page
    swap = db.session.scalar(sa.select(SwapRequest))
    assert zhao.post("/me/", data={"action": "accept", "swap_id": swap.id}).status_code == 303
    assert "Team A" in zhao.get("/me/?lang=en").get_data(as_text=True).split("My upcoming shifts")[1]
    assert "You are on no upcoming shift." in client.get("/me/?lang=en").get_data(as_text=True)

    # Zhao drops it (well before the cut-off); someone else's assignment cannot be dropped.
    db.session.expire_all()
    mine = db.session.scalar(sa.select(Assignment).where(Assignment.volunteer_id == setup.zhao.id))
    assert client.post("/me/", data={"action": "drop", "assignment_id": mine.id}).status_code == 403
    assert zhao.post("/me/", data={"action": "drop", "assignment_id": mine.id}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Assignment, mine.id).status is AssignmentStatus.DROPPED


def test_volunteer_cannot_sign_up_for_another_teams_shift(setup, client, auth, app):
    outsider_team = make_team(code="TX")
    shift = make_shift(outsider_team, at(setup.monday + dt.timedelta(days=3), 19))
    db.session.commit()
    cancelled = make_shift(outsider_team, at(setup.monday + dt.timedelta(days=4), 19))
    cancelled.status = ShiftStatus.CANCELLED
    db.session.commit()
    auth.login("zhao@test.example")
    assert client.post("/me/open", data={"shift_id": shift.id}).status_code == 403
    # Nothing about another team's shift shows through, not even that it was cancelled.
    assert client.post("/me/open", data={"shift_id": cancelled.id}).status_code == 403
    assert client.post("/me/open", data={"shift_id": 10**6}).status_code == 404


def test_availability_page(setup, client, auth, app):
    auth.login("wang@test.example")
    response = client.post("/me/availability?lang=en", data={"weekday": "1", "day": "", "note": "night class"})
    assert response.status_code == 303
    day = (setup.monday + dt.timedelta(days=4)).isoformat()
    assert client.post("/me/availability", data={"weekday": "", "day": day}).status_code == 303
    page = client.get("/me/availability?lang=en").get_data(as_text=True)
    assert "Every Tuesday" in page and "night class" in page
    assert client.post("/me/availability", data={"weekday": "1", "day": day}).status_code == 400  # both
    assert client.post("/me/availability", data={"weekday": "", "day": "2020-01-01"}).status_code == 400
    # Blank-looking or unlisted weekdays are refused with a message, not a 500 (found by a form fuzzer).
    for odd in (" ", "x", "7", "-1", "1e9", "１"):
        response = client.post("/me/availability?lang=en", data={"weekday": odd, "day": ""})
        assert response.status_code == 400, odd
        assert re.search(r"Choose (either )?a weekday|Not a valid choice", response.get_data(as_text=True)), odd
    row = db.session.scalar(sa.select(Unavailability).where(Unavailability.weekday == 1))
    other = make_user(Role.VOLUNTEER, email="other@test.example")
    db.session.commit()
    auth.logout()
    auth.login("other@test.example")
    assert client.post("/me/availability", data={"action": "remove", "id": row.id}).status_code == 403
    auth.logout()
    auth.login("wang@test.example")
    assert client.post("/me/availability", data={"action": "remove", "id": row.id}).status_code == 303
    assert db.session.scalar(sa.select(sa.func.count(Unavailability.id))) == 1
    assert other.id


def test_coverage_dashboard_highlights_gaps_and_sorts(setup, client, auth, app):
    make_assignment(setup.shift_a, setup.wang)
    make_assignment(setup.shift_a, setup.zhao)
    admin = make_user(Role.ADMIN, email="admin@test.example")
    db.session.commit()
    auth.login("admin@test.example")
    page = client.get("/roster/coverage?days=30&lang=en").get_data(as_text=True)
    assert page.index(">TB<") < page.index(">TA<")  # gaps first
    assert "1 shift below minimum in 1 team; 2 volunteers missing." in page  # plural forms right
    page = client.get("/roster/coverage?days=30&sort=code&lang=en").get_data(as_text=True)
    assert page.index(">TA<") < page.index(">TB<")
    auth.logout()
    auth.login("coord-a@test.example")
    page = client.get("/roster/coverage?days=30&lang=en").get_data(as_text=True)
    assert ">TA<" in page and ">TB<" not in page  # a coordinator sees only their teams
    assert admin.id


def _grow(n_teams: int, coordinator, days: int = 14, members: int = 5):
    """n teams coordinated by one person, each with 2 shifts a day and some people on them."""
    start = next_monday()
    for t in range(n_teams):
        people = [make_user(Role.VOLUNTEER) for _ in range(members)]
        team = make_team(coordinator=coordinator, members=people)
        for d in range(days):
            for hour in (19, 22):
                shift = make_shift(team, at(start + dt.timedelta(days=d), hour), hours=3)
                for person in people[: (d + t) % 3]:
                    if hour == 19:
                        make_assignment(shift, person)
        db.session.add(Unavailability(user_id=people[0].id, weekday=2))
    db.session.commit()
    return start


def _count(web_app, client, path: str) -> int:
    with web_app.app_context():
        engine = db.engine
    with count_queries(engine) as n:
        response = client.get(path)
    assert response.status_code == 200, path
    return n()


@pytest.mark.parametrize("small,large", [(2, 10)])
def test_roster_and_dashboard_run_a_constant_number_of_queries(app, web_app, client, auth, small, large, monkeypatch):
    from views import template_helpers

    # The sample-data banner checks the database once a minute: keep that out of the counts.
    monkeypatch.setitem(template_helpers._sample_cache, "checked", float("inf"))
    coordinator = make_user(Role.COORDINATOR, email="many@test.example")
    admin = make_user(Role.ADMIN, email="boss@test.example")
    db.session.commit()
    start = _grow(small, coordinator, days=7)
    first_team = db.session.scalar(sa.select(Shift.team_id).order_by(Shift.id).limit(1))
    code = db.session.get(PatrolTeam, first_team).code
    month = (start + dt.timedelta(days=6)).strftime("%Y-%m")
    paths = [
        f"/roster/team/{code}?start={start.isoformat()}",
        f"/roster/team/{code}?view=month&month={month}",
        "/roster/coverage?days=7",
        "/roster/coverage?days=30&sort=next_gap",
        "/roster/",
        f"/roster/team/{code}/print?month={month}",
    ]
    auth.login("many@test.example")
    before = {p: _count(web_app, client, p) for p in paths}

    _grow(large - small, coordinator, days=14)
    # The first team grows too: more shifts in its week and month, more members.
    team = db.session.get(PatrolTeam, first_team)
    extra = [make_user(Role.VOLUNTEER) for _ in range(6)]
    for person in extra:
        db.session.add(TeamMembership(team=team, user=person))
    for d in range(7):
        make_assignment(make_shift(team, at(start + dt.timedelta(days=d), 10), hours=2), extra[d % 6])
    db.session.commit()
    after = {p: _count(web_app, client, p) for p in paths}
    assert after == before

    auth.logout()
    auth.login("boss@test.example")
    admin_before = _count(web_app, client, "/roster/coverage?days=30")
    _grow(3, coordinator, days=3)
    assert _count(web_app, client, "/roster/coverage?days=30") == admin_before
    assert admin.id


def test_coverage_is_paginated(app, client, auth):
    make_user(Role.ADMIN, email="admin@test.example")
    for n in range(45):
        make_team(code=f"P{n:03d}")
    db.session.commit()
    auth.login("admin@test.example")
    page = client.get("/roster/coverage?sort=code&lang=en").get_data(as_text=True)
    assert ">P000<" in page and ">P039<" in page and ">P040<" not in page
    assert "Page 1 of 2" in page and 'rel="next"' in page
    page = client.get("/roster/coverage?sort=code&page=2&lang=en").get_data(as_text=True)
    assert ">P040<" in page and ">P044<" in page and 'rel="prev"' in page
    assert client.get("/roster/coverage?page=99").status_code == 200  # clamped to the last page


def test_volunteer_sets_a_weekly_hours_limit(setup, client, auth, app):
    auth.login("wang@test.example")
    response = client.post("/me/availability", data={"action": "limit", "limit-hours": "6"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(type(setup.wang), setup.wang.id).weekly_hours_limit == 6
    assert 'value="6"' in client.get("/me/availability").get_data(as_text=True)
    assert client.post("/me/availability", data={"action": "limit", "limit-hours": "500"}).status_code == 400
    assert client.post("/me/availability", data={"action": "limit", "limit-hours": ""}).status_code == 303
    db.session.expire_all()
    assert db.session.get(type(setup.wang), setup.wang.id).weekly_hours_limit is None


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_roster_page_renders_in_both_languages(setup, client, make_client, auth, app, lang):
    past = make_shift(setup.team_a, dt.datetime.now(LOCAL_TZ) - dt.timedelta(hours=5), hours=3)
    make_assignment(past, setup.wang, attendance=Attendance.PRESENT, hours_credited=3)
    make_assignment(setup.shift_a, setup.zhao)
    make_user(Role.ADMIN, email="admin@test.example")
    db.session.add(Unavailability(user_id=setup.wang.id, weekday=4))
    db.session.commit()
    month = setup.shift_a.local_date.strftime("%Y-%m")
    auth.login("coord-a@test.example")
    for path in (
        "/roster/",
        f"/roster/team/TA?start={setup.monday}",
        f"/roster/team/TA?view=month&month={month}",
        f"/roster/shift/{setup.shift_a.id}?show=all",
        f"/roster/shift/{past.id}",
        "/roster/team/TA/bulk",
        "/roster/team/TA/hours",
        f"/roster/team/TA/print?month={month}",
        "/roster/coverage?days=30",
    ):
        response = client.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        assert response.status_code == 200, path
    volunteer = make_client()
    volunteer.post("/login", data={"email": "wang@test.example", "password": "correct horse battery"})
    for path in ("/me/", "/me/open", "/me/availability"):
        assert volunteer.get(f"{path}?lang={lang}").status_code == 200, path
    admin = make_client()
    admin.post("/login", data={"email": "admin@test.example", "password": "correct horse battery"})
    for path in (
        "/admin/people/teams",
        "/admin/people/users",
        "/admin/people/import",
        f"/admin/people/users/{setup.wang.id}/password",
    ):
        assert admin.get(f"{path}?lang={lang}").status_code == 200, path


def test_open_shifts_are_paginated_with_their_total_and_a_constant_number_of_queries(setup, client, auth, web_app):
    """35 open shifts of Wang's teams, 30 a page; one she is on and one that is full are not listed."""
    first = setup.monday + dt.timedelta(days=2)
    team_a = setup.team_a
    made = [make_shift(team_a, at(first + dt.timedelta(days=n // 3), 8 + 4 * (n % 3)), hours=3) for n in range(33)]
    full = make_shift(team_a, at(first, 21), hours=2, min_volunteers=1, max_volunteers=1)
    make_assignment(full, setup.zhao)
    make_assignment(made[0], setup.wang)
    db.session.commit()
    listed = 32 + 2  # made[1:], shift_a and shift_b
    auth.login("wang@test.example")

    def ids(page: str) -> list[int]:
        return [int(n) for n in re.findall(r'name="shift_id" value="([0-9]+)"', page)]

    first_page = client.get("/me/open?lang=en").get_data(as_text=True)
    assert len(ids(first_page)) == 30 and "Page 1 of 2" in first_page
    second_page = client.get("/me/open?page=2&lang=en").get_data(as_text=True)
    assert len(ids(second_page)) == listed - 30 and "Page 2 of 2" in second_page
    shown = ids(first_page) + ids(second_page)
    assert len(set(shown)) == listed and made[0].id not in shown and full.id not in shown
    # Past the end: the last page, not an empty one.
    assert ids(client.get("/me/open?page=99&lang=en").get_data(as_text=True)) == ids(second_page)
    # One form, one CSRF field for the whole list; each button names its shift's heading.
    assert first_page.count('name="csrf_token"') == 2  # the list's and the menu's log-out button's
    assert f'aria-labelledby="sign-up-{made[1].id} shift-{made[1].id}"' in first_page
    assert f'id="shift-{made[1].id}"' in first_page

    queries = _count(web_app, client, "/me/open?lang=en")
    for n in range(10):
        make_shift(team_a, at(first + dt.timedelta(days=12 + n), 9), hours=2)
    db.session.commit()
    assert _count(web_app, client, "/me/open?lang=en") == queries


def test_a_sign_up_reads_its_shift_once_and_keeps_it_current(setup, client, auth, web_app):
    """The counting UPDATE returns the shift's new SEQUENCE, count and stamps, so nothing reads the
    shift (or its team, for the chat notice) again after it; the confirmation is built before the
    commit. What the page then says and what the database holds agree."""
    shift_a = setup.shift_a
    before = db.session.execute(sa.select(Shift.sequence, Shift.assigned_count).where(Shift.id == shift_a.id)).one()
    auth.login("wang@test.example")
    page = client.get("/me/open?lang=en").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    with web_app.app_context():
        engine = db.engine
    with recorded_statements(engine) as statements:
        response = client.post("/me/open?lang=en", data={"csrf_token": token, "shift_id": shift_a.id})
    assert response.status_code == 303
    update = next(n for n, s in enumerate(statements) if s.startswith("UPDATE shifts"))
    after = statements[update + 1 :]
    assert not [s for s in after if s.startswith("SELECT") and (" FROM shifts" in s or " FROM patrol_teams" in s)]
    assert "You are on the 19:00–22:00 shift of" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    now = db.session.execute(sa.select(Shift.sequence, Shift.assigned_count).where(Shift.id == shift_a.id)).one()
    assert (now.sequence, now.assigned_count) == (before.sequence + 1, before.assigned_count + 1)


def test_no_open_shifts_costs_no_count_either(setup, make_client, web_app):
    """The page's rows carry their total; with none on the first page there is nothing to count."""
    lonely = make_user(Role.VOLUNTEER, email="lonely@test.example")
    make_team(members=[lonely], code="TL")
    db.session.commit()
    counts = {}
    for email in ("wang@test.example", "lonely@test.example"):
        client = make_client()
        AuthActions(client).login(email)
        client.get("/me/open?lang=en")  # once-a-minute checks of the process run on some first request
        counts[email] = _count(web_app, client, "/me/open?lang=en")
    assert "No open shifts in your teams right now." in client.get("/me/open?lang=en").get_data(as_text=True)
    assert counts["lonely@test.example"] == counts["wang@test.example"]
