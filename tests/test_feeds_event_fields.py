"""What each event says: a title naming the place once, its own page as URL, GEO, and no calendar UID."""

from __future__ import annotations

import icalendar

from models import db
from tests.feeds_fixtures import (  # noqa: F401  (fixtures)
    _pinned_today_and_clean_cache,
    paths,
    world,
)


def events(client, path: str) -> list:
    response = client.get(path)
    assert response.status_code == 200, path
    return icalendar.Calendar.from_ical(response.data).walk("VEVENT")


def by_uid(client, path: str) -> dict:
    return {str(e["UID"]): e for e in events(client, path)}


def test_no_uid_outside_the_events(client, world, paths):
    for name, path in paths.all.items():
        calendar = icalendar.Calendar.from_ical(client.get(path).data)
        assert "UID" not in calendar, name
        body = client.get(path).data
        header = body.split(b"BEGIN:VEVENT")[0]
        assert b"\r\nUID:" not in header, name


def test_titles_name_the_place_once(client, world, paths):
    contact, court = world.contact[2], world.court[0]
    # Stored titles name the place already (the generator writes "programme·place").
    contact.title_zh, contact.title_en = "社情民意联系日·东湖社区", "Contact day: Donghu Community"
    court.title_zh, court.title_en = "假日法庭·第1法庭", "Holiday court: Courtroom 1"
    db.session.commit()
    assert str(by_uid(client, paths.public["contact_days"])[contact.uid]["SUMMARY"]) == "社情民意联系日·东湖社区"
    en = by_uid(client, paths.public["contact_days"] + "?lang=en")[contact.uid]
    assert str(en["SUMMARY"]) == "Contact day: Donghu Community"
    assert str(by_uid(client, paths.public["holiday_court"] + "?lang=en")[court.uid]["SUMMARY"]) == (
        "Holiday court: Courtroom 1"
    )
    # A title without the place still gets it, once.
    other = world.contact[3]
    assert str(by_uid(client, paths.public["contact_days"])[other.uid]["SUMMARY"]) == "社情民意联系日 · 西湖社区"
    for name, path in paths.all.items():
        for event in events(client, path):
            parts = [part.strip() for part in str(event["SUMMARY"]).replace("·", " · ").split(" · ")]
            assert len(parts) == len(set(parts)), (name, str(event["SUMMARY"]))


def test_each_event_links_to_its_own_public_page(client, world, paths):
    for name in ("contact_days", "holiday_court", "legal_clinic", "community"):
        for event in events(client, paths.public[name] + "?lang=en"):
            url = str(event["URL"])
            if str(event.get("CATEGORIES").cats[0]) == "Public hearing":
                assert url.endswith(f"/sessions/{world.court[0].id}?lang=en"), url  # the hearing's court session
                continue
            assert "/sessions/" in url, (name, url)
            occurrence_id = int(url.split("/sessions/")[1].split("?")[0])
            page = client.get(f"/sessions/{occurrence_id}?lang=en")
            assert page.status_code == 200  # public, no login
    contact = world.contact[2]
    assert str(by_uid(client, paths.public["contact_days"])[contact.uid]["URL"]).endswith(f"/sessions/{contact.id}")
    # Team and volunteer shifts link to the volunteer's own page, not the coordinators' team page.
    for path in (paths.team, paths.volunteer):
        urls = {str(e["URL"]) for e in events(client, path)}
        assert urls == {"http://localhost/me/"}, urls


def test_geo_for_venues_with_coordinates_only(client, world, paths):
    venue = world.contact[0].venue
    venue.latitude, venue.longitude = 31.301234, 120.681234
    db.session.commit()
    found = by_uid(client, paths.public["community"])
    with_geo = [e for e in found.values() if "GEO" in e]
    assert with_geo and len(with_geo) == len(found)  # every session of this community is at that venue
    geo = with_geo[0]["GEO"]
    assert (geo.latitude, geo.longitude) == (31.301234, 120.681234)
    assert b"GEO:31.301234;120.681234" in client.get(paths.public["community"]).data
    # The other community's hall has no coordinates: no GEO at all.
    assert all("GEO" not in e for e in events(client, paths.public["other_community"]))
