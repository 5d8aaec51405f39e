"""The page that moves or cancels one patrol shift: who may, the count shown first, bad input, CSRF."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from models import OutboxMessage, Role, Shift, ShiftStatus, db
from tests.conftest import base_config
from tests.factories import PASSWORD, make_team, make_user
from tests.schedule_builders import make_shift, staff
from timeutil import local_today, to_local


def world():
    coordinator = make_user(Role.COORDINATOR, email="c1@test.example", locale="en")
    other = make_user(Role.COORDINATOR, email="c2@test.example")
    volunteers = [make_user(Role.VOLUNTEER, locale="en") for _ in range(3)]
    team = make_team(coordinator=coordinator, members=volunteers)
    make_team(coordinator=other)
    day = local_today() + dt.timedelta(days=5)
    shift = make_shift(team, day, dt.time(19), dt.time(22), min_volunteers=1, max_volunteers=4)
    staff(shift, volunteers[0])
    staff(shift, volunteers[1])
    db.session.commit()
    return shift, volunteers


def page(client, shift_id: int, lang: str = "en") -> str:
    response = client.get(f"/roster/shift/{shift_id}/change?lang={lang}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_shift_page_links_to_it_and_it_shows_how_many_are_told(app, client, auth):
    shift, _volunteers = world()
    auth.login("c1@test.example")
    assert f"/roster/shift/{shift.id}/change" in client.get(f"/roster/shift/{shift.id}?lang=en").get_data(as_text=True)
    text = page(client, shift.id)
    assert 'data-count="2"' in text and "2 volunteers are on this shift and will be told" in text
    assert 'value="2"' in text  # the count travels with each form
    assert 'name="move-day"' in text and 'value="19:00"' in text  # the form starts at the shift's own time


def test_move_tells_every_volunteer_with_a_higher_sequence(app, client, auth):
    shift, volunteers = world()
    sequence = shift.sequence or 0
    auth.login("c1@test.example")
    new_day = local_today() + dt.timedelta(days=6)
    response = client.post(
        f"/roster/shift/{shift.id}/change?lang=en",
        data={
            "move-day": new_day.isoformat(),
            "move-start": "22:00",
            "move-end": "02:00",  # across midnight
            "move-expected": "2",
            "move-move": "y",
        },
    )
    assert response.status_code == 303 and response.location.endswith(f"/roster/shift/{shift.id}")
    db.session.expire_all()
    moved = db.session.get(Shift, shift.id)
    start, end = to_local(moved.starts_at), to_local(moved.ends_at)
    assert (start.date(), start.hour, end.date(), end.hour) == (new_day, 22, new_day + dt.timedelta(days=1), 2)
    assert moved.sequence == sequence + 1
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "shift_moved")).all()
    assert sorted(r.user_id for r in rows) == sorted(v.id for v in volunteers[:2])
    assert {r.context["ical"]["sequence"] for r in rows} == {sequence + 1}
    shown = client.get(f"/roster/shift/{shift.id}?lang=en").get_data(as_text=True)
    assert "Shift moved. 2 volunteers are being told." in shown


def test_cancel_tells_them_and_the_page_then_only_redirects(app, client, auth):
    shift, volunteers = world()
    auth.login("c1@test.example")
    response = client.post(f"/roster/shift/{shift.id}/change", data={"cancel-expected": "2", "cancel-cancel": "y"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).status is ShiftStatus.CANCELLED
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "shift_cancelled")).all()
    assert len(rows) == 2 and {r.context["ical"]["method"] for r in rows} == {"CANCEL"}
    assert client.get(f"/roster/shift/{shift.id}/change").status_code == 303  # nothing left to change
    again = client.post(f"/roster/shift/{shift.id}/change", data={"cancel-expected": "2", "cancel-cancel": "y"})
    assert again.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2  # told once
    assert f"/roster/shift/{shift.id}/change" not in client.get(f"/roster/shift/{shift.id}").get_data(as_text=True)


def test_a_count_that_changed_meanwhile_is_shown_again_not_acted_on(app, client, auth):
    shift, volunteers = world()
    staff(db.session.get(Shift, shift.id), volunteers[2])
    db.session.commit()
    auth.login("c1@test.example")
    response = client.post(
        f"/roster/shift/{shift.id}/change?lang=en", data={"cancel-expected": "2", "cancel-cancel": "y"}
    )
    assert response.status_code == 409
    assert "3 volunteers are on this shift" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).status is ShiftStatus.SCHEDULED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_bad_input_is_a_clear_400(app, client, auth):
    shift, _volunteers = world()
    auth.login("c1@test.example")
    url = f"/roster/shift/{shift.id}/change?lang=en"
    good = {"move-day": (local_today() + dt.timedelta(days=6)).isoformat(), "move-start": "19:00"}
    cases = [
        ({**good, "move-end": "19:00", "move-expected": "2", "move-move": "y"}, "must differ from the start"),
        ({**good, "move-day": "2027-02-30", "move-end": "21:00", "move-expected": "2", "move-move": "y"}, None),
        ({**good, "move-start": "25:00", "move-end": "21:00", "move-expected": "2", "move-move": "y"}, None),
        ({**good, "move-end": "21:00", "move-move": "y"}, None),  # no count confirmed
        ({"move-expected": "2"}, None),  # neither button
    ]
    for data, says in cases:
        response = client.post(url, data=data)
        assert response.status_code == 400, data
        if says:
            assert says in response.get_data(as_text=True)
    past = {
        "move-day": (local_today() - dt.timedelta(days=2)).isoformat(),
        "move-start": "19:00",
        "move-end": "21:00",
        "move-expected": "2",
        "move-move": "y",
    }
    refused = client.post(url, data=past)
    assert refused.status_code == 400 and "cannot be moved into the past" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).sequence == shift.sequence
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_only_the_teams_coordinators_and_admins(app, client, auth):
    shift, volunteers = world()
    make_user(Role.ADMIN, email="a@test.example")
    db.session.commit()
    cancel = {"cancel-expected": "2", "cancel-cancel": "y"}
    auth.login("c2@test.example")  # coordinates another team
    assert client.get(f"/roster/shift/{shift.id}/change").status_code == 403
    assert client.post(f"/roster/shift/{shift.id}/change", data=cancel).status_code == 403
    auth.logout()
    assert client.get(f"/roster/shift/{shift.id}/change").status_code == 302  # login first
    auth.login(volunteers[0].email)
    assert client.post(f"/roster/shift/{shift.id}/change", data=cancel).status_code == 403
    auth.logout()
    auth.login("a@test.example")
    assert client.get("/roster/shift/999999/change").status_code == 404
    assert client.get(f"/roster/shift/{shift.id}/change").status_code == 200
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).status is ShiftStatus.SCHEDULED
    assert client.post(f"/roster/shift/{shift.id}/change", data=cancel).status_code == 303
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).status is ShiftStatus.CANCELLED


def test_the_forms_need_the_csrf_token(app, database_url):
    from app import create_app

    shift, _volunteers = world()
    strict = create_app(base_config(database_url, WTF_CSRF_ENABLED=True)).test_client()
    login_page = strict.get("/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    strict.post("/login", data={"email": "c1@test.example", "password": PASSWORD, "csrf_token": token})
    response = strict.post(f"/roster/shift/{shift.id}/change", data={"cancel-expected": "2", "cancel-cancel": "y"})
    assert response.status_code == 400
    form = strict.get(f"/roster/shift/{shift.id}/change").get_data(as_text=True)
    token = form.split('name="cancel-csrf_token" type="hidden" value="')[1].split('"')[0]
    data = {"cancel-expected": "2", "cancel-cancel": "y", "cancel-csrf_token": token}
    assert strict.post(f"/roster/shift/{shift.id}/change", data=data).status_code == 303
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).status is ShiftStatus.CANCELLED


def test_a_move_onto_a_volunteers_other_shift_is_refused(app, client, auth):
    """Nobody ends up in two overlapping shifts by a move (the booking rule, services/assignments.py)."""
    shift, volunteers = world()
    first_day = shift.local_date
    other_team = make_team(members=[volunteers[0]])
    next_day = local_today() + dt.timedelta(days=6)
    make_shift(other_team, next_day, dt.time(20), dt.time(23), min_volunteers=1)
    staff(db.session.scalars(sa.select(Shift).where(Shift.team_id == other_team.id)).one(), volunteers[0])
    db.session.commit()
    auth.login("c1@test.example")
    data = {
        "move-day": next_day.isoformat(),
        "move-start": "19:00",
        "move-end": "22:00",
        "move-expected": "2",
        "move-move": "y",
    }
    refused = client.post(f"/roster/shift/{shift.id}/change?lang=en", data=data)
    assert refused.status_code == 409 and "is already on the" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert to_local(db.session.get(Shift, shift.id).starts_at).date() == first_day
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    data["move-day"] = (next_day + dt.timedelta(days=1)).isoformat()
    assert client.post(f"/roster/shift/{shift.id}/change", data=data).status_code == 303
