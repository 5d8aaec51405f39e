"""End to end in a real headless Chromium: a coordinator staffs a shift, meets the overlap rule,
and the volunteer sees the shift. Once with JavaScript (roster.js) and once without."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from models import Role, db
from tests.conftest import base_config
from tests.factories import PASSWORD, make_shift, make_team, make_user
from timeutil import LOCAL_TZ

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests", allow_module_level=True
    )


@pytest.fixture
def live_server(database_url, app):
    """The app behind a real HTTP server on a free port, CSRF on, as in production."""
    served = create_app(base_config(database_url, WTF_CSRF_ENABLED=True))
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    with served.app_context():
        db.engine.dispose()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def roster(app):
    """Team A with two overlapping evening shifts next week; Wang Fang is a member."""
    coordinator = make_user(Role.COORDINATOR, email="coord@test.example", name="李协调", name_en="Li Coordinator")
    wang = make_user(Role.VOLUNTEER, email="wang@test.example", name="王芳", name_en="Wang Fang")
    team = make_team(coordinator=coordinator, members=[wang], code="TA", name_zh="甲队", name_en="Team A")
    today = dt.datetime.now(LOCAL_TZ).date()
    day = today + dt.timedelta(days=7 - today.weekday() + 1)  # next week's Tuesday
    first = make_shift(team, dt.datetime.combine(day, dt.time(19), tzinfo=LOCAL_TZ), hours=3, area_en="Lakeside")
    second = make_shift(
        team, dt.datetime.combine(day, dt.time(20, 30), tzinfo=LOCAL_TZ), hours=3, area_en="Market street"
    )
    db.session.commit()
    return type("Roster", (), dict(day=day, first=first.id, second=second.id))


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login?lang=en")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def check_volunteer_sees_the_shift(browser, base: str, roster, suffix: str) -> None:
    phone = browser.new_context(viewport={"width": 360, "height": 740})
    page = phone.new_page()
    log_in(page, base, "wang@test.example")
    page.goto(f"{base}/me/?lang=en")
    upcoming = page.locator("#upcoming-title + ul")
    assert upcoming.locator("li").count() == 1
    text = upcoming.inner_text()
    assert "19:00" in text and "Team A" in text and "Lakeside" in text
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, f"roster-volunteer-{suffix}.png")
    phone.close()


def test_coordinator_assigns_meets_the_overlap_rule_and_the_volunteer_sees_it(browser, live_server, roster):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    log_in(page, live_server, "coord@test.example")
    page.goto(f"{live_server}/roster/team/TA?start={roster.day.isoformat()}&lang=en")

    first = page.locator(f"#shift-{roster.first}")
    first.get_by_label("Add a volunteer").select_option(label="Wang Fang · TA-002")  # with the member number
    first.get_by_role("button", name="Assign").click()
    first = page.locator(f"#shift-{roster.first}")  # roster.js replaced the card
    first.locator(".row-msg", has_text="Wang Fang is now on this shift.").wait_for()
    assert "Wang Fang" in first.locator(".people").inner_text()

    # The second card was drawn before the assignment, so it still offers Wang Fang.
    second = page.locator(f"#shift-{roster.second}")
    second.get_by_label("Add a volunteer").select_option(label="Wang Fang · TA-002")  # with the member number
    second.get_by_role("button", name="Assign").click()
    message = second.locator(".row-msg.error")
    message.wait_for()
    assert message.inner_text().startswith("Wang Fang is already on the 19:00–22:00 shift of Team A (TA)")
    assert "Nobody yet." in second.locator(".people").inner_text()
    shot(page, "roster-coordinator-js.png")

    # After a reload, the roster no longer offers her for the overlapping shift.
    page.reload()
    options = page.locator(f"#volunteer-{roster.second} option").all_inner_texts()
    assert not any("Wang Fang" in option for option in options)
    context.close()

    check_volunteer_sees_the_shift(browser, live_server, roster, "js")


def test_the_same_without_javascript(browser, live_server, roster):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_default_timeout(15000)
    log_in(page, live_server, "coord@test.example")
    # "Show everyone" lists members who are not free too, with the reason.
    url = f"{live_server}/roster/team/TA?start={roster.day.isoformat()}&show=all&lang=en"
    page.goto(url)

    page.locator(f"#volunteer-{roster.first}").select_option(label="Wang Fang · TA-002")  # with the member number
    page.locator(f"#shift-{roster.first}").get_by_role("button", name="Assign").click()
    page.wait_for_load_state()
    assert "Wang Fang is now on this shift." in page.locator(".flashes").inner_text()

    choice = page.locator(f"#volunteer-{roster.second} option", has_text="Wang Fang")
    assert "on TA 19:00–22:00" in choice.inner_text()
    page.locator(f"#volunteer-{roster.second}").select_option(label=choice.inner_text().strip())
    page.locator(f"#shift-{roster.second}").get_by_role("button", name="Assign").click()
    page.wait_for_load_state()
    alert = page.locator("#roster-error")
    assert alert.inner_text().startswith("Wang Fang is already on the 19:00–22:00 shift of Team A (TA)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "roster-coordinator-nojs.png")
    context.close()

    check_volunteer_sees_the_shift(browser, live_server, roster, "nojs")
