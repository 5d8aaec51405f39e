"""The trade board end to end in a real headless Chromium (CSRF on, as in production): the
coordinator requires approval, volunteer A offers a shift to the team, volunteer B takes it, the
coordinator approves, and the roster shows B on the shift instead of A."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from models import Assignment, AssignmentStatus, PatrolTeam, Role, TradeOffer, TradeStatus, db
from tests.factories import PASSWORD, make_assignment, make_shift, make_team, make_user
from tests.test_roster_browser import browser, live_server  # noqa: F401  (fixtures)
from timeutil import LOCAL_TZ, local_today

pytestmark = pytest.mark.browser


def test_offer_take_and_approve_in_the_browser(live_server, browser, app):  # noqa: F811
    coordinator = make_user(Role.COORDINATOR, email="coord@trade.example", name="李协调", name_en="Li Coordinator")
    giver = make_user(Role.VOLUNTEER, email="a@trade.example", name="王芳", name_en="Wang Fang")
    taker = make_user(Role.VOLUNTEER, email="b@trade.example", name="赵磊", name_en="Zhao Lei")
    team = make_team(coordinator=coordinator, members=[giver, taker], code="TB1", name_en="Team B")
    day = local_today() + dt.timedelta(days=6)
    shift = make_shift(team, dt.datetime.combine(day, dt.time(19), tzinfo=LOCAL_TZ), hours=3, max_volunteers=2)
    mine = make_assignment(shift, giver)
    db.session.commit()
    board = f"{live_server}/me/trades/TB1"

    def logged_in(email):
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{live_server}/login?lang=en")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        return page

    # The coordinator asks for approval of the team's trades.
    lead = logged_in("coord@trade.example")
    lead.goto(board)
    lead.get_by_role("button", name="Require approval").click()
    lead.wait_for_load_state()
    assert "Trades now need your approval." in lead.content()
    db.session.expire_all()
    assert db.session.get(PatrolTeam, team.id).trade_approval_required is True

    # A offers the shift to the team.
    a = logged_in("a@trade.example")
    a.goto(board)
    a.get_by_role("button", name="Offer to the team").click()
    a.wait_for_load_state()
    assert "Your shift is on the trade board" in a.content()
    offer = db.session.scalar(sa.select(TradeOffer))
    assert offer.status is TradeStatus.OPEN and offer.assignment_id == mine.id

    # B sees it offered by A and takes it: it waits for the coordinator.
    b = logged_in("b@trade.example")
    b.goto(board)
    assert "Offered by Wang Fang" in b.content()
    b.get_by_role("button", name="Take this shift").click()
    b.wait_for_load_state()
    assert "the coordinator must approve" in b.content()
    db.session.expire_all()
    assert db.session.get(TradeOffer, offer.id).status is TradeStatus.PENDING
    assert db.session.get(Assignment, mine.id).status is AssignmentStatus.ASSIGNED  # A stays on it meanwhile

    # The coordinator approves on the board.
    lead.goto(board)
    assert "Taken by Zhao Lei, waiting for approval." in lead.content()
    lead.get_by_role("button", name="Approve").click()
    lead.wait_for_load_state()
    assert "Trade approved." in lead.content()

    # The roster shows B on the shift, and not A.
    lead.goto(f"{live_server}/roster/shift/{shift.id}?lang=en")
    on_shift = lead.locator(".shift-grid ul.people").inner_text()
    assert "Zhao Lei" in on_shift and "TB1-003" in on_shift and "Wang Fang" not in on_shift
    lead.goto(f"{live_server}/roster/team/TB1?start={day.isoformat()}&lang=en")
    week = lead.locator("ul.people").all_inner_texts()
    assert any("Zhao Lei" in names for names in week) and not any("Wang Fang" in names for names in week)
    db.session.expire_all()
    assert db.session.get(TradeOffer, offer.id).status is TradeStatus.TAKEN
    on = db.session.scalars(
        sa.select(Assignment.volunteer_id).where(
            Assignment.shift_id == shift.id, Assignment.status == AssignmentStatus.ASSIGNED
        )
    ).all()
    assert on == [taker.id]
    # And B's own page lists the shift; A's no longer does.
    b.goto(f"{live_server}/me/?lang=en")
    assert day.strftime("%-d %B") in b.locator("main").inner_text()
    a.goto(f"{live_server}/me/?lang=en")
    assert day.strftime("%-d %B") not in a.locator("main").inner_text()
