"""Zero axe-core violations, of any impact, on every page of every role (resident, volunteer,
coordinator, court/clinic staff, admin), at 360 px and 1280 px, in Chinese and in English.

`test_every_page_is_in_the_list` keeps the list honest: a new GET page that is not listed here fails it.
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app import create_app
from models import (
    AreaKind,
    CommunityArea,
    HearingNotice,
    OccurrenceStatus,
    ProgrammeKind,
    Role,
    Shift,
    User,
    VenueKind,
    db,
)
from services import checkin, clinic, planner, suggestions, trades
from tests import public_builders as pb
from tests import schedule_builders as sb
from tests.conftest import base_config
from tests.factories import PASSWORD, make_community, make_subdistrict, make_team, make_user, make_venue
from tests.test_public_browser import AXE, CHROMIUM_ARGS, ROOT, SCREENSHOTS, _needs, browser  # noqa: F401
from timeutil import local_today, span_utc

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
LANGS = ("en", "zh")
# Reached only right after a form is sent (they read the session): visited through those forms below.
AFTER_A_FORM = {"clinic.confirmation", "suggestions.received"}
# Not pages: files, feeds, probes and the JSON API.
NOT_PAGES = {"static", "public.favicon", "health.healthz", "roster.export_csv"}


@pytest.fixture
def world(app):
    """One of everything each role sees, with cancelled and moved sessions and a full table."""
    sub = make_subdistrict(slug="loufeng")
    sub.name_zh, sub.name_en = "娄葑街道", "Loufeng Subdistrict"
    community = make_community(sub, slug="dushu", name_zh="独墅社区", name_en="Dushu Community")
    community.areas = [CommunityArea(kind=AreaKind.LANDMARK, name_zh="独墅湖", name_en="Dushu Lake")]
    venue = make_venue(
        community=community,
        name_zh="独墅民众联络所",
        name_en="Dushu Liaison Centre",
        address_zh="独墅邻里中心二楼",
        address_en="2F, Dushu Neighbourhood Centre",
    )
    official = pb.official()
    official.email = "official@test.example"
    first, second, third = pb.second_sundays(local_today(), 3)
    pb.contact_day(community, first, venue=venue, status=OccurrenceStatus.CANCELLED)
    moved = pb.contact_day(community, second, venue=venue, officials=[official])
    moved.starts_at, moved.ends_at = span_utc(second + dt.timedelta(days=7), dt.time(9), dt.time(11, 30))
    moved.moved_by_hand = True
    contact = pb.contact_day(community, third, venue=venue, officials=[official])
    day = pb.next_weekend_day()
    courtroom = make_venue(
        VenueKind.COURTROOM, name_zh="苏州工业园区人民法院 第1法庭", name_en="SIP People's Court, Courtroom 1"
    )
    court = pb.session(ProgrammeKind.HOLIDAY_COURT, day, dt.time(9), dt.time(12), venue=courtroom, bilingual=True)
    for n in range(3):
        starts, ends = span_utc(day, dt.time(9 + n), dt.time(10 + n))
        db.session.add(
            HearingNotice(
                occurrence=court,
                case_number=f"(2026)苏0591民初{1000 + n}号",
                cause_zh="劳动争议",
                cause_en="Labour dispute",
                courtroom=courtroom,
                starts_at=starts,
                ends_at=ends,
                bilingual=n == 0,
            )
        )
    session = pb.clinic_session(
        day,
        venue=make_venue(
            VenueKind.CLINIC_ROOM,
            name_zh="娄葑假日法律诊所",
            name_en="Loufeng Holiday Legal Clinic",
            address_zh="娄葑邻里中心一楼",
            address_en="1F, Loufeng Centre",
        ),
    )
    slots = clinic.ensure_slots(session)
    clinic.book(slots[0].id, "王女士", "13900001001", "劳动合同", "zh_CN")
    staff = make_user(Role.STAFF, email="staff@test.example", name="工作人员", name_en="Staff Member")
    suggestion = suggestions.submit(contact.id, "建议增加路灯", "周先生", "13812345678")
    suggestions.assign(suggestion, pb.bureau().id, staff)

    make_user(Role.ADMIN, email="admin@test.example", name="管理员", name_en="Administrator")
    coordinator = make_user(Role.COORDINATOR, email="coord@test.example", name="李协调", name_en="Li Coordinator")
    volunteers = [
        make_user(Role.VOLUNTEER, email=f"v{n}@test.example", name=f"志愿者{n}", name_en=f"Volunteer {n}")
        for n in range(3)
    ]
    team = make_team(coordinator=coordinator, members=volunteers, code="TA", name_zh="甲队", name_en="Team A")
    template = sb.shift_template(team)
    shift_day = local_today() + dt.timedelta(days=3)
    shift = sb.make_shift(team, shift_day, dt.time(19), dt.time(22), min_volunteers=2, max_volunteers=4)
    sb.staff(shift, volunteers[0])
    sb.make_shift(team, shift_day + dt.timedelta(days=1), dt.time(19), dt.time(22), min_volunteers=2, max_volunteers=4)
    full = sb.make_shift(
        team, shift_day + dt.timedelta(days=2), dt.time(19), dt.time(22), min_volunteers=1, max_volunteers=1
    )
    sb.staff(full, volunteers[1])
    series = sb.contact_day_series(sites=1)
    db.session.commit()
    trades.join_waitlist(volunteers[2], full.id)  # a waiting list with someone on it, for its page
    plan = planner.make_plan(coordinator, team.id, shift_day, shift_day + dt.timedelta(days=1))
    return {
        "contact": contact.id,
        "moved": moved.id,
        "court": court.id,
        "clinic": session.id,
        "suggestion": suggestion.id,
        "team": team.id,
        "shift": shift.id,
        "full_shift": full.id,
        "coordinator_id": db.session.scalar(sa.select(User.id).where(User.email == "coord@test.example")),
        "template": template.id,
        "series": series.id,
        "site": series.sites[0].id,
        "user": volunteers[1].id,
        "month": f"{second + dt.timedelta(days=7):%Y-%m}",
        "plan": plan.id,
    }


def role_pages(w) -> dict[str, list[str]]:
    return {
        "resident": [
            "/",
            "/?community=dushu",
            "/contact-days",
            "/contact-days?view=month&month=" + w["month"],
            "/holiday-court",
            "/holiday-court?month=" + w["month"],
            "/legal-clinic",
            "/legal-clinic?from=2027-01-01",
            f"/sessions/{w['contact']}",
            f"/sessions/{w['moved']}",
            f"/sessions/{w['court']}",
            f"/sessions/{w['clinic']}",
            "/communities",
            "/communities/dushu",
            "/search?q=dushu+lake",
            "/search?q=nothing-here",
            "/legal-clinic/book/",
            f"/legal-clinic/book/{w['clinic']}",
            "/legal-clinic/book/cancel",
            "/suggestions/",
            "/suggestions/track",
            "/legal-clinic/book/find",
            "/legal-clinic/book/find/code",
            "/legal-clinic/book/mine",
            f"/suggestions/new/{w['contact']}",
            "/login",
            "/no-such-page",
        ],
        "volunteer": [
            "/me/",
            "/me/availability",
            "/me/open",
            "/feeds/tokens",
            "/me/waitlists",
            "/me/trades/TA",
            "/settings",
        ],
        "official": ["/official/", "/settings"],
        "coordinator": [
            "/roster/",
            "/roster/team/TA",
            f"/roster/shift/{w['shift']}",
            f"/roster/shift/{w['shift']}/change",
            f"/roster/shift/{w['full_shift']}/waitlist",
            "/roster/team/TA/bulk",
            "/roster/team/TA/hours",
            "/roster/team/TA/print",
            "/roster/coverage",
            f"/checkin/shift/{w['shift']}",
            f"/checkin/s/{w['shift']}/{checkin.shift_code(db.session.get(Shift, w['shift']))}",
            f"/checkin/p/{w['coordinator_id']}/{checkin.person_code(w['coordinator_id'])}",
            "/checkin/me",
            "/checkin/team/TA/members",
            "/roster/team/TA/copy",
            "/roster/team/TA/plan",
            f"/roster/plan/{w['plan']}",
            "/roster/qualifications/",
            f"/roster/teams/{w['team']}/chat",
            "/me/trades/TA/waitlists",
            "/feeds/teams",
            f"/feeds/teams/{w['team']}",
            "/me/",
            "/me/open",
        ],
        "staff": [
            "/legal-clinic/book/manage",
            f"/legal-clinic/book/manage/{w['clinic']}",
            f"/legal-clinic/book/manage/{w['clinic']}/cancel",
            "/suggestions/manage",
            f"/suggestions/manage/{w['suggestion']}",
            "/suggestions/manage/report",
        ],
        "admin": [
            "/admin/",
            "/admin/people/",
            "/admin/people/import",
            "/admin/people/teams",
            "/admin/people/users",
            f"/admin/people/users/{w['user']}/password",
            "/admin/schedule/",
            "/admin/schedule/holidays",
            f"/admin/schedule/occurrences/{w['contact']}",
            f"/admin/schedule/series/{w['series']}",
            f"/admin/schedule/series/{w['series']}/edit",
            f"/admin/schedule/series/{w['series']}/sites/new",
            "/admin/schedule/series/new",
            f"/admin/schedule/sites/{w['site']}/edit",
            "/admin/schedule/teams",
            f"/admin/schedule/teams/{w['team']}/templates",
            f"/admin/schedule/teams/{w['team']}/templates/new",
            f"/admin/schedule/templates/{w['template']}/edit",
            "/admin/holidays/",
            "/admin/notifications",
            "/feeds/tokens",
            "/roster/coverage",
        ],
    }


LOGINS = {
    "volunteer": "v0@test.example",
    "coordinator": "coord@test.example",
    "staff": "staff@test.example",
    "admin": "admin@test.example",
    "official": "official@test.example",
}


def test_every_page_is_in_the_list(app, world):
    """Every GET endpoint that renders a page is visited by one of the roles above."""
    adapter = app.url_map.bind("localhost")
    listed = {
        adapter.match(url.split("?")[0])[0]
        for urls in role_pages(world).values()
        for url in urls
        if url != "/no-such-page"
    }
    pages = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.rule.startswith(("/api/", "/feeds/"))
        or rule.endpoint in ("feeds.team_list", "feeds.team_page", "feeds.token_list")
    }
    missing = pages - listed - AFTER_A_FORM - NOT_PAGES - {"static"}
    assert missing == set()


@pytest.fixture
def served(app, database_url, world):
    served = create_app(base_config(database_url))
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    with served.app_context():
        db.engine.dispose()


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"
    )


def _check(page, url: str, label: str, problems: list[str], report: list[dict]) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 500, (url, response and response.status)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        problems.append(f"{label}: {overflow}px wider than the screen")
    violations = _axe(page)
    report.append({"page": label, "violations": len(violations)})
    problems += [f"{label}: {v['id']} ({v['impact']}) at {v['nodes']}" for v in violations]


def _forms(page, base: str, w: dict, lang: str, width: int, problems: list[str], report: list[dict]) -> None:
    """The two pages seen only after sending a form: a booking's confirmation, a suggestion's receipt."""
    page.goto(f"{base}/legal-clinic/book/{w['clinic']}?lang={lang}")
    page.locator("input[name=slot]:not([disabled])").last.check()
    page.locator("input[name=name]").fill("Anna Schmidt")
    page.locator("input[name=phone]").fill(f"+4915100{width:04d}{LANGS.index(lang)}")
    page.locator("select[name=language]").select_option("en" if lang == "en" else "zh_CN")
    page.locator("main form:has(input[name=slot]) [type=submit]").click()
    page.wait_for_load_state()
    assert "/confirmation" in page.url, page.locator("main").inner_text()
    label = f"resident {lang} {width}px /legal-clinic/book/confirmation"
    report.append({"page": label, "violations": len(v := _axe(page))})
    problems += [f"{label}: {x['id']} ({x['impact']}) at {x['nodes']}" for x in v]
    page.goto(f"{base}/suggestions/new/{w['contact']}?lang={lang}")
    page.locator("textarea[name=content]").fill("More street lights on the lakeside path, please.")
    page.locator("main form:has(textarea[name=content]) [type=submit]").click()
    page.wait_for_load_state()
    assert "/received" in page.url, page.locator("main").inner_text()
    label = f"resident {lang} {width}px /suggestions/received"
    report.append({"page": label, "violations": len(v := _axe(page))})
    problems += [f"{label}: {x['id']} ({x['impact']}) at {x['nodes']}" for x in v]


@pytest.mark.parametrize("role", ["resident", "volunteer", "official", "coordinator", "staff", "admin"])
def test_no_axe_violation_on_any_page(browser, world, served, role):  # noqa: F811
    _needs(AXE.exists(), f"{AXE.relative_to(ROOT)} missing: run `npm ci` at the repository root")
    problems: list[str] = []
    report: list[dict] = []
    for lang in LANGS:
        for width in WIDTHS:
            context = browser.new_context(
                locale="en-GB" if lang == "en" else "zh-CN", bypass_csp=True, viewport={"width": width, "height": 900}
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            if role in LOGINS:
                page.goto(f"{served}/login?lang={lang}")
                page.locator("input[name=email]").fill(LOGINS[role])
                page.locator("input[name=password]").fill(PASSWORD)
                page.locator("main form button[type=submit], main form input[type=submit]").last.click()
                page.wait_for_load_state()
            for path in role_pages(world)[role]:
                url = served + path + ("&" if "?" in path else "?") + f"lang={lang}"
                _check(page, url, f"{role} {lang} {width}px {path}", problems, report)
            if role == "resident":
                _forms(page, served, world, lang, width, problems, report)
            context.close()
    SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / f"axe-{role}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    assert problems == [], "\n".join(problems)
