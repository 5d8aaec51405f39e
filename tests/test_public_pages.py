"""Public pages: what is next, the contact-day calendar, hearings, clinics, communities, search."""

from __future__ import annotations

import datetime as dt

import pytest

from models import HearingNotice, OccurrenceStatus, ProgrammeKind, VenueKind, db
from tests import public_builders as pb
from tests.factories import make_community, make_subdistrict, make_venue
from timeutil import local_today, span_utc


def page(client, url, status=200, **kw) -> str:
    response = client.get(url, **kw)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def test_next_second_sunday_is_computed_from_the_real_calendar():
    # January 2027 starts on a Friday: its Sundays are the 3rd and the 10th.
    assert pb.second_sundays(dt.date(2026, 12, 31), 2) == [dt.date(2027, 1, 10), dt.date(2027, 2, 14)]


def test_home_shows_the_next_contact_day_of_my_community_in_words(app, client):
    jinhu = make_community(slug="jinhu", name_zh="金湖社区", name_en="Jinhu Community")
    other = make_community(slug="xinghai", name_zh="星海社区", name_en="Xinghai Community")
    first, second = pb.second_sundays(local_today(), 2)
    pb.contact_day(jinhu, second)
    pb.contact_day(other, first)
    pb.contact_day(jinhu, first, status=OccurrenceStatus.CANCELLED)  # cancelled: not "next"
    db.session.commit()

    html = " ".join(page(client, "/?lang=en&community=jinhu").split())
    words = f"{second:%A} {second.day} {second:%B}" + ("" if second.year == local_today().year else f" {second.year}")
    assert f'Jinhu Community</a>: <strong><time datetime="{second}">{words}</time>' in html
    # The choice is remembered: the next visit opens on the same community.
    assert "Jinhu Community</a>:" in page(client, "/?lang=en")
    chinese = page(client, "/?lang=zh")
    expected = (
        f"{second.year}年" if second.year != local_today().year else ""
    ) + f"{second.month}月{second.day}日星期日"
    assert expected in chinese


def test_home_lists_next_court_and_clinic_days(app, client):
    day = pb.next_weekend_day()
    pb.session(
        ProgrammeKind.HOLIDAY_COURT,
        day,
        dt.time(9),
        dt.time(12),
        venue=make_venue(VenueKind.COURTROOM, name_en="Courtroom 1"),
        bilingual=True,
    )
    clinic = pb.clinic_session(day)
    db.session.commit()
    html = page(client, "/?lang=en")
    assert "Next holiday court day" in html and "Courtroom 1" in html
    assert f"/legal-clinic/book/{clinic.id}" in html
    assert html.count(f'<time datetime="{day}">') >= 2


def test_unknown_community_on_home_is_404_not_500(client):
    page(client, "/?community=nowhere", status=404)


def test_contact_day_list_shows_venue_address_hours_and_officials(app, client):
    community = make_community(name_en="Hudong Community")
    venue = make_venue(community=community, name_en="Hudong Liaison Centre", address_en="2F, Hudong Centre")
    official = pb.official()
    pb.contact_day(community, venue=venue, officials=[official])
    db.session.commit()
    html = page(client, "/contact-days?lang=en")
    for text in (
        "Hudong Community",
        "Hudong Liaison Centre",
        "2F, Hudong Centre",
        "09:00–11:30",
        "Director Wang, Director, Public Security Bureau",
    ):
        assert text in html


def test_site_officials_stand_in_when_a_session_has_none(app, client):
    from models import Series, SeriesPattern, SeriesSite

    community = make_community()
    venue = make_venue(community=community)
    official = pb.official(name_en="Deputy Li")
    series = Series(
        programme=pb.programme(ProgrammeKind.CONTACT_DAY),
        name_zh="联系日",
        name_en="Contact day",
        pattern=SeriesPattern.RRULE,
        rrule="FREQ=MONTHLY;BYDAY=2SU",
        starts_on=dt.date(2026, 1, 1),
    )
    site = SeriesSite(community=community, venue=venue, local_start=dt.time(9), local_end=dt.time(11, 30))
    site.officials = [official]
    series.sites.append(site)
    db.session.add(series)
    db.session.flush()
    pb.contact_day(community, venue=venue, site=site, series=series)
    db.session.commit()
    assert "Deputy Li" in page(client, "/contact-days?lang=en")


def test_contact_days_filter_by_subdistrict_and_community(app, client):
    east, west = make_subdistrict(slug="east"), make_subdistrict(slug="west")
    a = make_community(east, slug="aaa", name_en="Alpha Community")
    b = make_community(west, slug="bbb", name_en="Bravo Community")
    pb.contact_day(a)
    pb.contact_day(b)
    db.session.commit()
    east_html = page(client, "/contact-days?lang=en&subdistrict=east")
    assert "Alpha Community</a>" in east_html and "Bravo Community</a>" not in east_html
    only_b = page(client, "/contact-days?lang=en&community=bbb")
    assert "Bravo Community</a>" in only_b and "Alpha Community</a>" not in only_b
    page(client, "/contact-days?subdistrict=nowhere", status=404)


def test_contact_day_list_is_paginated(app, client):
    day = pb.second_sundays(local_today(), 1)[0]
    for n in range(25):
        pb.contact_day(make_community(slug=f"c{n:02d}", name_en=f"Community {n:02d}"), day)
    db.session.commit()
    first = page(client, "/contact-days?lang=en")
    assert "Page 1 of 2" in first and first.count('<li class="session') == 20
    second = page(client, "/contact-days?lang=en&page=2")
    assert second.count('<li class="session') == 5
    page(client, "/contact-days?page=abc", status=404)


def test_month_view_puts_sessions_on_their_day(app, client):
    day = pb.second_sundays(local_today(), 1)[0]
    occurrence = pb.contact_day(make_community(name_en="Linglong Community"), day)
    db.session.commit()
    html = page(client, f"/contact-days?lang=en&view=month&month={day:%Y-%m}")
    assert f"<caption>{day:%B %Y}</caption>" in html
    assert f'/sessions/{occurrence.id}">Linglong Community</a>' in html
    assert 'rel="next"' in html and 'rel="prev"' in html


@pytest.mark.parametrize("month", ["2027-13", "27-01", "<script>", "1999-01"])
def test_month_view_refuses_a_malformed_month_with_a_message(client, month):
    html = page(client, f"/contact-days?lang=en&view=month&month={month}", status=400)
    assert "Please give the month as year and month" in html
    assert "<script>" not in html.split("<main", 1)[1]


def test_cancelled_sessions_stay_listed_and_marked(app, client):
    pb.contact_day(make_community(name_en="Fengyi Community"), status=OccurrenceStatus.CANCELLED)
    db.session.commit()
    html = page(client, "/contact-days?lang=en")
    assert "Fengyi Community" in html and "Cancelled" in html


def test_holiday_court_lists_public_hearing_notices(app, client):
    courtroom = make_venue(VenueKind.COURTROOM, name_en="Courtroom 2")
    sitting = pb.session(ProgrammeKind.HOLIDAY_COURT, pb.next_weekend_day(), dt.time(9), dt.time(12), venue=courtroom)
    starts, ends = span_utc(pb.next_weekend_day(), dt.time(9, 30), dt.time(10, 30))
    db.session.add(
        HearingNotice(
            occurrence=sitting,
            case_number="(2026)苏0591民初1234号",
            cause_zh="劳动争议",
            cause_en="Labour dispute",
            courtroom=courtroom,
            starts_at=starts,
            ends_at=ends,
            bilingual=True,
        )
    )
    db.session.commit()
    html = page(client, "/holiday-court?lang=en")
    assert "(2026)苏0591民初1234号" in html and "Labour dispute" in html and "Courtroom 2" in html
    assert "09:30–10:30" in html
    assert "劳动争议" in page(client, "/holiday-court?lang=zh")
    assert "Labour dispute" in page(client, f"/sessions/{sitting.id}?lang=en")


def test_legal_clinic_lists_sessions_with_a_booking_link(app, client):
    clinic = pb.clinic_session()
    db.session.commit()
    html = page(client, "/legal-clinic?lang=en")
    assert "Loufeng Holiday Legal Clinic" in html and f"/legal-clinic/book/{clinic.id}" in html


def test_session_page_for_each_public_kind_and_never_for_patrols(app, client):
    contact = pb.contact_day()
    patrol = pb.session(ProgrammeKind.PATROL, pb.next_weekend_day())
    db.session.commit()
    html = page(client, f"/sessions/{contact.id}?lang=en")
    assert f"/suggestions/new/{contact.id}" in html
    page(client, f"/sessions/{patrol.id}", status=404)
    page(client, "/sessions/999999", status=404)


def test_community_pages(app, client):
    community = make_community(slug="jinhu", name_zh="金湖社区", name_en="Jinhu Community")
    make_venue(community=community, name_en="Jinhu Liaison Centre", address_en="2F, Jinhu Neighbourhood Centre")
    pb.contact_day(community)
    db.session.commit()
    assert "/communities/jinhu" in page(client, "/communities?lang=en")
    html = page(client, "/communities/jinhu?lang=en")
    assert "Jinhu Liaison Centre" in html and "2F, Jinhu Neighbourhood Centre" in html and "09:00–11:30" in html
    page(client, "/communities/nowhere", status=404)


def test_search_finds_communities_and_venues_in_both_languages(app, client):
    community = make_community(slug="jinhu", name_zh="金湖社区", name_en="Jinhu Community")
    make_venue(
        community=community,
        name_zh="金湖民众联络所",
        name_en="Jinhu Liaison Centre",
        address_zh="金湖邻里中心二楼",
        address_en="2F, Jinhu Neighbourhood Centre",
    )
    make_community(slug="other", name_zh="星海社区", name_en="Xinghai Community")
    db.session.commit()
    english = page(client, "/search?lang=en&q=jinhu")
    assert "Jinhu Community" in english and "Jinhu Liaison Centre" in english and "Xinghai" not in english
    assert "金湖民众联络所" in page(client, "/search?lang=zh&q=邻里中心")
    # LIKE wildcards are searched for literally, not as patterns.
    assert "No community matches." in page(client, "/search?lang=en&q=%25")


def test_search_refuses_an_overlong_query_with_a_message(client):
    html = page(client, "/search?lang=en&q=" + "x" * 101, status=400)
    assert "at most 100 characters" in html


def test_search_escapes_what_was_typed(client):
    html = page(client, "/search?lang=en&q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_public_pages_set_their_feed_for_the_subscribe_buttons(app, web_app):
    from flask import template_rendered

    make_community(slug="jinhu")
    db.session.commit()
    seen = []

    def remember(sender, template, context, **extra):
        if "subscribe_feed" in context:
            seen.append(context["subscribe_feed"])

    template_rendered.connect(remember, web_app)
    try:
        client = web_app.test_client()
        for url in ("/contact-days", "/holiday-court", "/legal-clinic", "/communities/jinhu"):
            client.get(url)
    finally:
        template_rendered.disconnect(remember, web_app)
    endpoints = [(f["endpoint"], f["kwargs"]) for f in seen]
    assert endpoints == [
        ("feeds.contact_days", {}),
        ("feeds.holiday_court", {}),
        ("feeds.legal_clinic", {}),
        ("feeds.community", {"slug": "jinhu"}),
    ]


def test_the_contact_day_list_does_not_query_per_session(app, web_app):
    """Venues, communities and officials load in a fixed number of queries, however many sessions."""
    from tests.conftest import count_queries

    day = pb.second_sundays(local_today(), 1)[0]
    for n in range(3):
        pb.contact_day(make_community(), day, officials=[pb.official(name=f"官员{n}", name_en=f"Official {n}")])
    db.session.commit()
    client = web_app.test_client()
    # What rendering costs: the anonymous page cache would answer the repeat without any query.
    web_app.config["PAGE_CACHE_ENABLED"] = False
    with web_app.app_context():
        served_engine = db.engine
    client.get("/contact-days")  # warm-up: first-request work is not what is measured
    with count_queries(served_engine) as with_three:
        assert client.get("/contact-days").status_code == 200
    for n in range(10):
        pb.contact_day(make_community(), day, officials=[pb.official(name=f"官员x{n}", name_en=f"Official x{n}")])
    db.session.commit()
    with count_queries(served_engine) as with_thirteen:
        assert client.get("/contact-days").status_code == 200
    assert 0 < with_three() == with_thirteen()
