"""The public side in a real headless Chromium: language switch, finding a contact day, booking and
cancelling, accessibility (axe-core) and layout at phone and desktop widths, in both languages."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app import create_app
from models import BookingStatus, ClinicBooking, Subdistrict, VenueKind, db
from services import clinic
from tests import public_builders as pb
from tests.conftest import base_config
from tests.factories import make_community, make_venue
from timeutil import local_today

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _needs(condition: bool, reason: str) -> None:
    """Skip on a developer machine without the tool; in CI a missing tool is a failure."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    _needs(
        Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
        f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements.txt pins it
        _needs(False, "playwright is not installed (pip install -r requirements.txt)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(app, database_url):
    """The app served over HTTP on a free port, against the test database, with sample sessions."""
    sub = db.session.scalar(sa.select(Subdistrict).where(Subdistrict.slug == "loufeng")) or Subdistrict(
        slug="loufeng", name_zh="娄葑街道", name_en="Loufeng Subdistrict"
    )
    jinhu = make_community(sub, slug="jinhu", name_zh="金湖社区", name_en="Jinhu Community")
    make_community(sub, slug="xinghai", name_zh="星海社区", name_en="Xinghai Community")
    venue = make_venue(
        community=jinhu,
        name_zh="金湖民众联络所",
        name_en="Jinhu Community Liaison Centre",
        address_zh="金湖邻里中心二楼(示例地址)",
        address_en="2F, Jinhu Neighbourhood Centre (sample address)",
    )
    first, second = pb.second_sundays(local_today(), 2)
    official = pb.official()
    pb.contact_day(jinhu, first, venue=venue, officials=[official])
    pb.contact_day(jinhu, second, venue=venue, officials=[official])
    clinic_room = make_venue(
        VenueKind.CLINIC_ROOM,
        name_zh="娄葑假日法律诊所",
        name_en="Loufeng Holiday Legal Clinic",
        address_zh="娄葑邻里中心一楼(示例地址)",
        address_en="1F, Loufeng Centre (sample address)",
    )
    session = pb.clinic_session(pb.next_weekend_day(), venue=clinic_room, capacity=12, bilingual=True)
    clinic.ensure_slots(session)
    db.session.commit()

    served = create_app(base_config(database_url))
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "next_contact_day": first, "clinic": session.id}
    server.shutdown()
    thread.join(timeout=10)
    with served.app_context():
        db.engine.dispose()


def new_page(browser, locale: str, width: int = 1280, inject_scripts: bool = False):
    # The site's CSP forbids inline scripts; only the axe-core check lets the test inject one.
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900}, bypass_csp=inject_scripts)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def english_date_words(day: dt.date) -> str:
    """ "Sunday 10 January" written independently of the app's own formatting."""
    words = f"{day:%A} {day.day} {day:%B}"
    return words if day.year == local_today().year else f"{words} {day.year}"


def test_a_visitor_switches_to_english_and_finds_the_next_contact_day_of_a_community(browser, live):
    page = new_page(browser, "zh-CN")
    page.goto(live["url"] + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en**")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Your community", exact=True).select_option(label="Jinhu Community")
    page.get_by_role("button", name="Show").first.click()
    page.wait_for_url("**community=jinhu**")
    answer = page.locator("#next-in-community")
    assert english_date_words(live["next_contact_day"]) in answer.inner_text()
    assert "Jinhu Community Liaison Centre" in answer.inner_text()
    # The choice of language is remembered on the next page, without ?lang=.
    page.get_by_role("link", name="Contact days", exact=True).first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Contact days"
    page.context.close()


def test_a_resident_books_a_clinic_slot_and_cancels_it_by_reference(app, browser, live):
    page = new_page(browser, "en-GB", width=360)
    page.goto(live["url"] + "/legal-clinic")
    page.get_by_role("link", name="Book a consultation").first.click()
    page.locator("input[name=slot]:not([disabled])").first.check()
    page.get_by_label("Your name").fill("Anna Schmidt")
    page.get_by_label("Phone number").fill("+49 151 0000 1003")
    page.get_by_label("What would you like advice on?").fill("Tenancy deposit")
    page.get_by_label("Language of the consultation").select_option("en")
    page.get_by_role("button", name="Book this time").click()
    page.wait_for_url("**/confirmation")
    reference = page.locator("#reference").inner_text().strip()
    assert len(reference) == 10
    booking = db.session.scalar(sa.select(ClinicBooking).where(ClinicBooking.reference == reference))
    assert booking.status is BookingStatus.BOOKED and booking.phone == "+4915100001003"

    page.get_by_role("link", name="Cancel this booking").click()
    assert page.get_by_label("Reference code").input_value() == reference
    page.get_by_label("Phone number used for the booking").fill("+4915100001003")
    # Keyboard only from here: Enter in a field submits the form.
    page.get_by_label("Phone number used for the booking").press("Enter")
    page.get_by_role("heading", name="Booking cancelled").wait_for()
    db.session.expire_all()
    assert booking.status is BookingStatus.CANCELLED and booking.slot.booked_count == 0
    page.context.close()


def test_the_skip_link_is_the_first_stop_for_keyboard_users(browser, live):
    page = new_page(browser, "en-GB")
    page.goto(live["url"] + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.context.close()


PAGES = {
    "home": "/?community=jinhu",
    "contact-days": "/contact-days",
    "contact-days-month": "/contact-days?view=month&month={month}",
    "booking-form": "/legal-clinic/book/{clinic}",
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_accessibility_and_layout_at_phone_and_desktop_widths(browser, live, lang):
    _needs(AXE.exists(), f"{AXE.relative_to(ROOT)} missing: run `npm ci` at the repository root")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    month = f"{live['next_contact_day']:%Y-%m}"
    problems = []
    for width in (360, 1280):
        page = new_page(browser, "en-GB" if lang == "en" else "zh-CN", width=width, inject_scripts=True)
        for name, path in PAGES.items():
            url = live["url"] + path.format(month=month, clinic=live["clinic"])
            page.goto(url + ("&" if "?" in url else "?") + f"lang={lang}")
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{lang}-{width}.png"), full_page=True)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                problems.append(f"{name} {lang} {width}px: {overflow}px wider than the screen")
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(
                "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"
            )
            problems += [
                f"{name} {lang} {width}px: {v['id']} ({v['impact']}) at {v['nodes']}"
                for v in violations
                if v["impact"] in ("serious", "critical")
            ]
        page.context.close()
    assert problems == []
