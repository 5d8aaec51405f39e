"""Coordinators' API: list and assign their own teams' shifts, with the same rules and messages as the web pages."""

from __future__ import annotations

import datetime as dt
import importlib.util

import pytest
import sqlalchemy as sa

from api.tokens import issue_token
from models import Assignment, AssignmentStatus, Role, Shift, db
from services.errors import RuleViolation
from tests.factories import make_team, make_user
from timeutil import local_to_utc, local_today

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("services.assignments") is None, reason="needs services.assignments"
)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def make_shift(team, day: dt.date, start: dt.time = dt.time(19), hours: int = 3, max_volunteers: int = 2) -> Shift:
    starts_at = local_to_utc(day, start)
    shift = Shift(
        team_id=team.id,
        local_date=day,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=hours),
        area_zh="金鸡湖",
        area_en="Jinji Lake",
        min_volunteers=1,
        max_volunteers=max_volunteers,
    )
    db.session.add(shift)
    db.session.flush()
    return shift


@pytest.fixture
def teams(app):
    """Two teams with their own coordinators; shifts far enough ahead for every cut-off rule."""
    coordinator = make_user(Role.COORDINATOR, email="coord@test.example")
    other_coordinator = make_user(Role.COORDINATOR, email="other@test.example")
    volunteers = [make_user(Role.VOLUNTEER, email=f"vol{n}@test.example") for n in range(3)]
    outsider = make_user(Role.VOLUNTEER, email="outsider@test.example")
    team = make_team(coordinator=coordinator, members=volunteers)
    other_team = make_team(coordinator=other_coordinator, members=[outsider])
    day = local_today() + dt.timedelta(days=30)
    shifts = [make_shift(team, day + dt.timedelta(days=n)) for n in range(3)]
    other_shift = make_shift(other_team, day)
    tokens = {
        "coordinator": issue_token(coordinator),
        "other": issue_token(other_coordinator),
        "volunteer": issue_token(volunteers[0]),
        "admin": issue_token(make_user(Role.ADMIN)),
    }
    db.session.commit()
    return {
        "team": team,
        "other_team": other_team,
        "shifts": shifts,
        "other_shift": other_shift,
        "volunteers": volunteers,
        "outsider": outsider,
        "tokens": tokens,
        "coordinator": coordinator,
        "day": day,
    }


def test_coordinator_lists_own_team_shifts_by_date(client, teams):
    team, day = teams["team"], teams["day"]
    response = client.get(
        f"/api/v1/teams/{team.id}/shifts?from={day}&to={day + dt.timedelta(days=1)}&lang=en",
        headers=bearer(teams["tokens"]["coordinator"]),
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 2
    assert [s["local_date"] for s in body["items"]] == [str(day), str(day + dt.timedelta(days=1))]
    assert body["items"][0]["area"] == "Jinji Lake" and body["items"][0]["assignments"] == []
    assert response.headers["Cache-Control"] == "no-store"
    admin = client.get(f"/api/v1/teams/{team.id}/shifts", headers=bearer(teams["tokens"]["admin"]))
    assert admin.status_code == 200 and admin.get_json()["total"] == 3


def test_other_teams_shifts_are_refused(client, teams):
    for who in ("other", "volunteer"):
        response = client.get(f"/api/v1/teams/{teams['team'].id}/shifts", headers=bearer(teams["tokens"][who]))
        assert response.status_code == 403, who
        assert response.get_json()["error"]["status"] == 403
    assert client.get(f"/api/v1/teams/{teams['team'].id}/shifts").status_code == 401
    missing = client.get("/api/v1/teams/9999/shifts", headers=bearer(teams["tokens"]["coordinator"]))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_assign_and_unassign(client, teams):
    shift, volunteer = teams["shifts"][0], teams["volunteers"][0]
    headers = bearer(teams["tokens"]["coordinator"])
    response = client.post(
        f"/api/v1/shifts/{shift.id}/assignments", json={"volunteer_id": volunteer.id}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["volunteer_id"] == volunteer.id and created["status"] == "assigned"
    listed = client.get(f"/api/v1/teams/{teams['team'].id}/shifts", headers=headers).get_json()
    assert [a["volunteer_id"] for a in listed["items"][0]["assignments"]] == [volunteer.id]
    assert listed["items"][0]["assigned_count"] == 1

    response = client.delete(f"/api/v1/assignments/{created['id']}", headers=headers)
    assert response.status_code == 204 and response.data == b""
    db.session.expire_all()
    assert db.session.get(Assignment, created["id"]).status is not AssignmentStatus.ASSIGNED
    assert db.session.get(Shift, shift.id).assigned_count == 0


def test_the_created_assignment_is_described_as_listed_without_reloading_after_the_commit(client, teams, web_app):
    """The 201 body is what the list says of that assignment (name, member number and all), and it
    is built before the commit: no statement runs after it (it once reloaded four rows)."""
    shift, volunteer = teams["shifts"][1], teams["volunteers"][1]
    headers = bearer(teams["tokens"]["coordinator"])
    with web_app.app_context():
        engine = db.engine
    events: list[str] = []

    def statement(conn, cursor, text, parameters, context, executemany):
        events.append(text.split()[0].upper())

    def commit(conn):
        events.append("COMMIT")

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "commit", commit)
    try:
        response = client.post(
            f"/api/v1/shifts/{shift.id}/assignments", json={"volunteer_id": volunteer.id}, headers=headers
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", statement)
        sa.event.remove(engine, "commit", commit)
    assert response.status_code == 201, response.get_json()
    # (A fresh token's first use stamps it in a commit of its own, before the booking's.)
    booking = len(events) - 1 - events[::-1].index("COMMIT")
    assert "INSERT" in events[:booking] and events[booking + 1 :] == []
    listed = client.get(f"/api/v1/teams/{teams['team'].id}/shifts", headers=headers).get_json()
    (entry,) = [a for item in listed["items"] for a in item["assignments"]]
    assert response.get_json() == entry
    assert entry["member_number"] and entry["volunteer_name"] and entry["status"] == "assigned"


def _service_message(call) -> RuleViolation:
    """What the service (and so the web page) says for the same request."""
    db.session.expire_all()  # see what the served app committed
    try:
        call()
    except RuleViolation as violation:
        db.session.rollback()
        return violation
    db.session.rollback()
    raise AssertionError("the service allowed what the API refused")


def test_rule_violations_carry_the_services_status_code_and_message(client, teams, app):
    from services import assignments

    shift = teams["shifts"][0]
    headers = bearer(teams["tokens"]["coordinator"])
    volunteers = teams["volunteers"]
    for volunteer in volunteers[:2]:  # max_volunteers is 2
        assert (
            client.post(
                f"/api/v1/shifts/{shift.id}/assignments", json={"volunteer_id": volunteer.id}, headers=headers
            ).status_code
            == 201
        )

    cases = [
        (shift.id, volunteers[2].id),  # the shift is full
        (teams["shifts"][1].id, teams["outsider"].id),  # not in this team
        (teams["other_shift"].id, volunteers[2].id),  # not this coordinator's team
    ]
    for shift_id, volunteer_id in cases:
        with app.test_request_context("/?lang=en"):  # the page's language, as the API request's
            expected = _service_message(
                lambda shift_id=shift_id, volunteer_id=volunteer_id: assignments.assign(
                    teams["coordinator"], shift_id, volunteer_id
                )
            )
        response = client.post(
            f"/api/v1/shifts/{shift_id}/assignments?lang=en", json={"volunteer_id": volunteer_id}, headers=headers
        )
        assert response.status_code == expected.status, (shift_id, volunteer_id)
        assert response.get_json()["error"] == {
            "status": expected.status,
            "code": expected.code,
            "message": expected.message,
        }
    db.session.expire_all()
    # Nothing half-written: the refused requests left no rows and no counts behind.
    assert db.session.get(Shift, shift.id).assigned_count == 2
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 2


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"volunteer_id": "12"},
        {"volunteer_id": True},
        {"volunteer_id": 0},
        {"volunteer_id": 2**40},
        {"volunteer_id": 1, "extra": 1},
        {},
    ],
)
def test_bad_bodies_get_400(client, teams, body):
    shift = teams["shifts"][0]
    headers = bearer(teams["tokens"]["coordinator"])
    if body is None:
        response = client.post(
            f"/api/v1/shifts/{shift.id}/assignments", data="not json", headers=headers, content_type="application/json"
        )
    else:
        response = client.post(f"/api/v1/shifts/{shift.id}/assignments", json=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_body"


def test_unknown_shift_and_assignment(client, teams):
    headers = bearer(teams["tokens"]["coordinator"])
    response = client.post(
        "/api/v1/shifts/99999/assignments", json={"volunteer_id": teams["volunteers"][0].id}, headers=headers
    )
    assert response.status_code == 404
    assert client.delete("/api/v1/assignments/99999", headers=headers).status_code == 404
    assert client.delete("/api/v1/assignments/99999999999", headers=headers).status_code == 404


def test_unassigning_on_another_team_is_refused(client, teams):
    shift, outsider = teams["other_shift"], teams["outsider"]
    assignment = Assignment(
        shift_id=shift.id, volunteer_id=outsider.id, starts_at=shift.starts_at, ends_at=shift.ends_at
    )
    db.session.add(assignment)
    db.session.execute(sa.update(Shift).where(Shift.id == shift.id).values(assigned_count=1))
    db.session.commit()
    response = client.delete(f"/api/v1/assignments/{assignment.id}", headers=bearer(teams["tokens"]["coordinator"]))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"]
    db.session.expire_all()
    assert db.session.get(Assignment, assignment.id).status is AssignmentStatus.ASSIGNED
    assert db.session.get(Shift, shift.id).assigned_count == 1
