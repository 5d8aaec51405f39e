"""Public lists for residents on phones: content before the subscribe block, court days and clinic
sessions far ahead, free places, changes labelled where people look, subscribe options per language."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from models import OccurrenceStatus, ProgrammeKind, VenueKind, db
from services import clinic
from tests import public_builders as pb
from tests.factories import make_community, make_venue
from timeutil import local_today, span_utc


def page(client, url, status=200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def weekend_days(count: int, after: dt.date | None = None) -> list[dt.date]:
    days, day = [], after or local_today()
    while len(days) < count:
        day = pb.next_weekend_day(day)
        days.append(day)
    return days


@pytest.mark.parametrize("path", ["/contact-days", "/holiday-court", "/legal-clinic", "/communities/jinhu"])
def test_the_content_comes_before_the_subscribe_block(app, client, path):
    community = make_community(slug="jinhu", name_en="Jinhu Community")
    pb.contact_day(community)
    pb.session(ProgrammeKind.HOLIDAY_COURT, pb.next_weekend_day())
    pb.clinic_session()
    db.session.commit()
    html = page(client, path + "?lang=en")
    main = html.split("<main", 1)[1]
    first_session = min(i for i in (main.find('href="/sessions/'),) if i >= 0)
    assert 0 <= first_session < main.index('class="card stack subscribe"'), path
    # The QR code is for another device: folded away, never the first thing on the phone itself.
    subscribe = main[main.index('class="card stack subscribe"') :]
    assert subscribe.index("<details") < subscribe.index("<svg")
    assert "scan this code with the camera" not in html


def test_subscribe_options_fit_the_language(app, client):
    make_community(slug="jinhu", name_zh="金湖社区", name_en="Jinhu Community")
    db.session.commit()
    english = page(client, "/contact-days?lang=en")
    block = english[english.index('class="card stack subscribe"') :]
    assert block.index("webcal://") < block.index('id="feed-url-public"') < block.index("calendar.google.com")
    assert 'data-copy="feed-url-public"' in block and "Copy address" in block
    chinese = page(client, "/contact-days?lang=zh")
    block = chinese[chinese.index('class="card stack subscribe"') :]
    # Google is not reachable from mainland China: the phone calendar and the address lead, Google is left out.
    assert "calendar.google.com" not in block
    assert block.index("webcal://") < block.index('id="feed-url-public"')
    assert "订阅：" in chinese and "复制地址" in block
    # Fingerprinted (views/static_files.py): the URL carries the file's content hash.
    assert re.search(r'<script src="/static/copy\.js\?v=[0-9a-f]{12}" defer></script>', chinese)


def test_court_sitting_days_can_be_browsed_months_ahead(app, client):
    courtroom = make_venue(VenueKind.COURTROOM, name_en="Courtroom 3")
    days = weekend_days(30)
    for day in days:
        pb.session(ProgrammeKind.HOLIDAY_COURT, day, dt.time(9), dt.time(12), venue=courtroom)
    db.session.commit()
    html = page(client, "/holiday-court?lang=en")
    listed = re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})">', html.split('id="h-sittings"', 1)[1])
    assert listed == [d.isoformat() for d in days[:12]]
    later = re.search(r'href="/holiday-court\?from=([\d-]+)">Later sitting days', html)
    assert later and later[1] == (days[11] + dt.timedelta(days=1)).isoformat()
    html = page(client, f"/holiday-court?lang=en&from={later[1]}")
    listed = re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})">', html.split('id="h-sittings"', 1)[1])
    assert listed == [d.isoformat() for d in days[12:24]]
    # A whole month, with the months before and after one click away.
    month = days[-1].replace(day=1)
    html = page(client, f"/holiday-court?lang=en&month={month:%Y-%m}")
    listed = re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})">', html.split('id="h-sittings"', 1)[1])
    assert listed == [d.isoformat() for d in days if d.replace(day=1) == month]
    assert f"Court sitting days in {month:%B %Y}" in html
    assert 'rel="next"' in html and 'rel="prev"' in html


@pytest.mark.parametrize("query", ["month=2027-13", "from=2027-02-30", "from=tomorrow", "from=1999-01-01"])
def test_a_bad_month_or_date_is_a_400_with_a_message(client, query):
    for path in ("/holiday-court", "/legal-clinic"):
        html = page(client, f"{path}?lang=en&{query}", status=400)
        assert "Please give the" in html and 'role="alert"' in html


def test_clinic_sessions_by_date_with_free_places(app, client):
    first, later = weekend_days(1)[0], weekend_days(1, local_today() + dt.timedelta(days=200))[0]
    near = pb.clinic_session(first, capacity=12)
    far = pb.clinic_session(later, capacity=12)
    full = pb.clinic_session(
        later + dt.timedelta(days=1) if later.weekday() == 5 else later + dt.timedelta(days=6), capacity=1
    )
    slots = clinic.ensure_slots(near)
    clinic.book(slots[0].id, "Anna Schmidt", "+4915100001003", "", "en")
    clinic.book(clinic.ensure_slots(full)[0].id, "Li Lei", "13900001111", "", "zh_CN")
    db.session.commit()
    html = page(client, "/legal-clinic?lang=en")
    assert "11 places free" in html and f"/legal-clinic/book/{near.id}" in html
    html = page(client, f"/legal-clinic?lang=en&from={later.isoformat()}")
    assert f"/sessions/{near.id}" not in html and f"/sessions/{far.id}" in html
    assert "12 places free" in html
    assert "Fully booked: you may still come by" in html and f'/legal-clinic/book/{full.id}"' not in html
    html = page(client, f"/legal-clinic?lang=en&month={later:%Y-%m}")
    assert f"/sessions/{far.id}" in html and f"Sessions in {later:%B %Y}" in html
    assert "1 place free" not in page(client, "/legal-clinic?lang=en")  # plural forms: "11 places", never "1 places"


def test_cancelled_and_moved_sessions_are_labelled_in_lists_and_on_home(app, client):
    community = make_community(slug="jinhu", name_en="Jinhu Community")
    first, second, third = pb.second_sundays(local_today(), 3)
    pb.contact_day(community, first, status=OccurrenceStatus.CANCELLED, note_en="The hall is being repaired.")
    moved = pb.contact_day(community, second)
    moved.starts_at, moved.ends_at = span_utc(second + dt.timedelta(days=7), dt.time(9), dt.time(11, 30))
    moved.moved_by_hand = True
    pb.contact_day(community, third)
    db.session.commit()
    first_words = f"{first:%A} {first.day} {first:%B}" + ("" if first.year == local_today().year else f" {first.year}")
    second_words = f"{second:%A} {second.day} {second:%B}" + (
        "" if second.year == local_today().year else f" {second.year}"
    )
    home = " ".join(page(client, "/?lang=en&community=jinhu").split())
    assert f"The contact day of {first_words} in Jinhu Community is cancelled." in home
    assert f"Moved from {second_words}" in home
    listing = page(client, "/contact-days?lang=en")
    assert "Cancelled" in listing and f"Moved from {second_words}" in listing
    month = page(client, f"/contact-days?lang=en&view=month&month={second + dt.timedelta(days=7):%Y-%m}")
    assert f"Moved from {second_words}" in month
    chinese = page(client, "/?lang=zh&community=jinhu")
    assert f"改自{second.month}月{second.day}日" in chinese.replace(" ", "") or "改期" in chinese


def test_hearing_cells_carry_their_column_names_for_the_phone_cards(app, client):
    from models import HearingNotice

    courtroom = make_venue(VenueKind.COURTROOM, name_en="Courtroom 2")
    day = pb.next_weekend_day()
    sitting = pb.session(ProgrammeKind.HOLIDAY_COURT, day, dt.time(9), dt.time(12), venue=courtroom)
    starts, ends = span_utc(day, dt.time(9, 30), dt.time(10, 30))
    db.session.add(
        HearingNotice(
            occurrence=sitting,
            case_number="(2026)苏0591民初1号",
            cause_zh="劳动争议",
            cause_en="Labour dispute",
            courtroom=courtroom,
            starts_at=starts,
            ends_at=ends,
        )
    )
    db.session.commit()
    html = page(client, "/holiday-court?lang=en")
    assert '<table aria-labelledby="h-hearings" class="stack-table">' in html
    assert '<td data-label="Courtroom">Courtroom 2</td>' in html


def test_favicon_and_meta_description(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"
    for path in ("/", "/contact-days", "/holiday-court", "/legal-clinic"):
        for lang in ("en", "zh"):
            html = page(client, f"{path}?lang={lang}")
            description = re.search(r'<meta name="description" content="([^"]{25,})">', html)
            assert description, (path, lang)
