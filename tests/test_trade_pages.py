"""The waiting-list and trade-board pages: access, the forms, and a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from models import Role, TeamMembership, TradeOffer, TradeStatus, User, WaitlistEntry, WaitlistStatus, db
from services import trades
from tests.conftest import AuthActions, count_queries
from tests.factories import make_assignment, make_shift, make_team, make_user
from timeutil import LOCAL_TZ


def evening(days_ahead: int, hour: int = 19) -> dt.datetime:
    day = dt.datetime.now(LOCAL_TZ).date() + dt.timedelta(days=days_ahead)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


@pytest.fixture
def setup(app):
    coordinator = make_user(Role.COORDINATOR, email="coord@test.example")
    giver = make_user(Role.VOLUNTEER, email="giver@test.example")
    taker = make_user(Role.VOLUNTEER, email="taker@test.example")
    team = make_team(coordinator=coordinator, members=[giver, taker], code="TRD1")
    shift = make_shift(team, evening(5), min_volunteers=1, max_volunteers=1)
    assignment = make_assignment(shift, giver)
    other_coordinator = make_user(Role.COORDINATOR, email="other@test.example")
    outsider = make_user(Role.VOLUNTEER, email="outsider@test.example")
    make_team(coordinator=other_coordinator, members=[outsider], code="TRD2")
    db.session.commit()
    return team, shift, assignment


def test_offer_and_take_through_the_board(setup, client, auth, make_client):
    team, shift, assignment = setup
    auth.login("giver@test.example")
    response = client.post("/me/trades/TRD1", data={"action": "offer", "assignment_id": assignment.id})
    assert response.status_code == 303
    offer_id = db.session.scalar(sa.select(TradeOffer.id))
    taker = make_client()
    AuthActions(taker).login("taker@test.example")
    page = taker.get("/me/trades/TRD1")
    assert page.status_code == 200
    assert f'name="offer_id" value="{offer_id}"' in page.get_data(as_text=True)
    response = taker.post("/me/trades/TRD1", data={"action": "take", "offer_id": offer_id})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(TradeOffer, offer_id).status is TradeStatus.TAKEN


def test_waitlist_page_join_and_leave(setup, client, auth):
    team, shift, assignment = setup
    auth.login("taker@test.example")
    assert client.get("/me/waitlists").status_code == 200
    assert client.post("/me/waitlists", data={"action": "join", "shift_id": shift.id}).status_code == 303
    entry = db.session.scalar(sa.select(WaitlistEntry))
    assert entry.status is WaitlistStatus.WAITING
    again = client.post("/me/waitlists", data={"action": "join", "shift_id": shift.id})
    assert again.status_code == 409
    assert client.post("/me/waitlists", data={"action": "leave", "entry_id": entry.id}).status_code == 303
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, entry.id).status is WaitlistStatus.LEFT


@pytest.mark.parametrize("email", ["outsider@test.example", "other@test.example"])
def test_another_team_is_refused(setup, client, auth, email):
    team, shift, assignment = setup
    offer = trades.offer_trade(assignment.volunteer, assignment.id)
    auth.login(email)
    assert client.get("/me/trades/TRD1").status_code == 403
    assert client.get("/me/trades/TRD1/waitlists").status_code == 403
    assert client.post("/me/trades/TRD1", data={"action": "take", "offer_id": offer.id}).status_code == 403
    assert client.post("/me/trades/TRD1", data={"action": "approval", "required": "1"}).status_code == 403
    assert client.post("/me/waitlists", data={"action": "join", "shift_id": shift.id}).status_code == 403


def test_coordinator_sees_the_teams_waitlists(setup, client, auth):
    team, shift, assignment = setup
    taker = db.session.scalar(sa.select(User).where(User.email == "taker@test.example"))
    trades.join_waitlist(taker, shift.id)
    auth.login("coord@test.example")
    response = client.get("/me/trades/TRD1/waitlists")
    assert response.status_code == 200


def test_board_runs_a_constant_number_of_queries(setup, web_app, client, auth):
    team, shift, assignment = setup

    def grow(count):
        for n in range(count):
            person = make_user(Role.VOLUNTEER)
            db.session.add(TeamMembership(team_id=team.id, user_id=person.id))
            s = make_shift(team, evening(3 + n % 20, 8 + n % 10), hours=1)
            a = make_assignment(s, person)
            db.session.add(TradeOffer(assignment_id=a.id, shift_id=s.id, team_id=team.id, from_user_id=person.id))
        db.session.commit()

    auth.login("coord@test.example")
    grow(2)
    with web_app.app_context():
        engine = db.engine
    with count_queries(engine) as small:
        assert client.get("/me/trades/TRD1").status_code == 200
    grow(15)
    with count_queries(engine) as large:
        assert client.get("/me/trades/TRD1").status_code == 200
    assert large() == small()
