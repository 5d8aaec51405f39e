"""The week roster uses the width of a 1280 px screen, and still fits a phone (real Chromium)."""

from __future__ import annotations

import datetime as dt

import pytest

from models import Role, db
from tests.factories import PASSWORD, make_assignment, make_shift, make_team, make_user
from tests.test_roster_browser import browser, live_server  # noqa: F401  (fixtures)
from timeutil import LOCAL_TZ, local_today

pytestmark = pytest.mark.browser

# The share of the viewport's width between the leftmost and rightmost shift card.
SPAN = """() => {
  const cards = [...document.querySelectorAll('.week-roster .shift-card')].map(c => c.getBoundingClientRect());
  const left = Math.min(...cards.map(r => r.left)), right = Math.max(...cards.map(r => r.right));
  return {span: (right - left) / window.innerWidth, overflow: document.documentElement.scrollWidth - window.innerWidth,
          cards: cards.length};
}"""


@pytest.fixture
def week(app):
    coordinator = make_user(Role.COORDINATOR, email="coord@width.example")
    people = [make_user(Role.VOLUNTEER, name=f"志愿者{n}") for n in range(4)]
    team = make_team(coordinator=coordinator, members=people, code="T001")
    today = local_today()
    monday = today + dt.timedelta(days=7 - today.weekday())
    for n in range(7):
        shift = make_shift(team, dt.datetime.combine(monday + dt.timedelta(days=n), dt.time(19), tzinfo=LOCAL_TZ))
        make_assignment(shift, people[n % 4])
    db.session.commit()
    return monday


@pytest.mark.parametrize(("width", "height", "least"), [(1280, 900, 0.9), (390, 844, 0.85)])
def test_week_roster_uses_the_width(live_server, browser, week, width, height, least):  # noqa: F811
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(f"{live_server}/login?lang=en")
    page.get_by_label("Email").fill("coord@width.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/roster/team/T001?start={week.isoformat()}&lang=en")
    measured = page.evaluate(SPAN)
    print(
        f"week roster at {width}px: cards span {measured['span']:.0%} of the width, overflow {measured['overflow']}px"
    )
    assert measured["cards"] == 7
    assert measured["span"] >= least, measured
    assert measured["overflow"] <= 0, measured  # nothing scrolls sideways, on a phone neither
