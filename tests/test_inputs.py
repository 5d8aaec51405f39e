"""inputs.py: ids, dates, months, pages and JSON bodies are parsed with the service's bounds."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

import inputs
from api.tokens import issue_token
from models import Role, db
from tests.factories import make_team, make_user
from tests.test_prod_forms_fuzz import login_as

OVER = 2**31


@given(st.text(max_size=30))
def test_parsers_never_raise_and_stay_in_bounds(raw):
    value = inputs.parse_id(raw)
    assert value is None or 1 <= value <= inputs.MAX_ID
    day = inputs.parse_date(raw)
    assert day is None or inputs.MIN_DATE <= day <= inputs.MAX_DATE
    month = inputs.parse_month(raw)
    assert month is None or (inputs.MIN_YEAR <= month[0] <= inputs.MAX_YEAR and 1 <= month[1] <= 12)


@given(st.integers(min_value=-(2**64), max_value=2**64))
def test_ids_are_one_to_two_to_the_31_minus_one(number):
    expected = number if 1 <= number <= inputs.MAX_ID else None
    assert inputs.parse_id(str(number)) == expected


def test_dates_and_months_of_the_service_range_only():
    assert inputs.parse_date("2031-01-12") == dt.date(2031, 1, 12)
    for bad in (
        "2031-02-30",
        "0001-01-01",
        "9999-12-31",
        "1999-12-31",
        "2101-01-01",
        "2031-1-12",
        " 2031-01-12",
        "２０３１-01-12",
    ):
        assert inputs.parse_date(bad) is None, bad
    assert inputs.parse_month("2100-12") == (2100, 12)
    for bad in ("9999-12", "0001-01", "2031-13", "2031-00", "2031-1"):
        assert inputs.parse_month(bad) is None, bad


def test_json_depth_is_counted_without_recursion_and_strings_are_skipped():
    assert inputs.json_depth_exceeds("[" * 33 + "]" * 33)
    assert not inputs.json_depth_exceeds("[" * 32 + "]" * 32)
    assert not inputs.json_depth_exceeds('{"a": "' + "[" * 100 + '\\"[["}')
    assert inputs.json_depth_exceeds("[" * 100_000)


def test_ids_beyond_integer_are_404_on_pages_and_api(client):
    for url in (
        f"/sessions/{OVER}",
        f"/legal-clinic/book/{OVER}",
        f"/suggestions/new/{OVER}",
        f"/api/v1/occurrences/{OVER}",
        "/sessions/99999999999999999999",
        "/sessions/-1",
        "/sessions/0",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
    assert client.get(f"/api/v1/occurrences/{OVER}").get_json()["error"]["code"] == "not_found"


def test_roster_dates_months_and_pages_out_of_range_get_a_message_and_4xx(app, client):
    coordinator = make_user(Role.COORDINATOR)
    make_team(coordinator=coordinator, code="T001")
    db.session.commit()
    login_as(client, coordinator)
    for query in ("view=month&month=9999-12", "view=month&month=0001-01", "start=9999-12-31", "start=2031-02-30"):
        response = client.get(f"/roster/team/T001?{query}&lang=en")
        assert response.status_code == 400, query
        assert "YYYY-MM" in response.get_data(as_text=True), query
    for url in (
        "/roster/team/T001/export.csv?month=9999-12",
        "/roster/team/T001/print?month=9999-12",
        "/roster/team/T001/bulk?first=9999-12-31",
    ):
        assert client.get(url).status_code == 400, url
    assert client.get("/roster/?page=99999999999999999999").status_code == 404
    assert client.get("/roster/team/T001/hours?year=9999").status_code == 400


def test_ids_in_forms_beyond_integer_are_refused_with_400(app, client):
    volunteer = make_user(Role.VOLUNTEER)
    db.session.commit()
    login_as(client, volunteer)
    response = client.post("/me/open", data={"shift_id": str(OVER)})
    assert response.status_code == 400
    response = client.post("/me/", data={"action": "drop", "assignment_id": "99999999999999999999"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        "[" * 1000 + "]" * 1000,
        '{"volunteer_id": ' + "[" * 40 + "]" * 40 + "}",
        '{"volunteer_id": "' + "x" * 70_000 + '"}',
    ],
)
def test_deep_or_large_json_bodies_are_400(app, client, body):
    coordinator = make_user(Role.COORDINATOR)
    team = make_team(coordinator=coordinator)
    token = issue_token(coordinator)
    db.session.commit()
    response = client.post(
        f"/api/v1/shifts/{team.id}/assignments",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_body"


def test_date_fields_outside_the_service_years_are_refused_with_a_message(app, client):
    coordinator = make_user(Role.COORDINATOR)
    make_team(coordinator=coordinator, code="T001")
    db.session.commit()
    login_as(client, coordinator)
    response = client.post(
        "/roster/team/T001/bulk?lang=en", data={"action": "fill_min", "first": "9999-12-31", "last": "9999-12-31"}
    )
    assert response.status_code == 400
    assert "Dates are in the years 2000 to 2100." in response.get_data(as_text=True)
