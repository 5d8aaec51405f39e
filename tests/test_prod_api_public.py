"""The public JSON API: pagination, filters, languages, error bodies; patrols never appear."""

from __future__ import annotations

import datetime as dt

import pytest

from models import Occurrence, OccurrenceStatus, Programme, ProgrammeKind, VenueKind, db
from tests.factories import make_community, make_programme, make_venue
from timeutil import local_to_utc


def make_occurrence(
    programme: Programme, day: dt.date, start: dt.time = dt.time(9), hours: int = 2, **kw
) -> Occurrence:
    starts_at = local_to_utc(day, start)
    occurrence = Occurrence(
        programme=programme, starts_at=starts_at, ends_at=starts_at + dt.timedelta(hours=hours), **kw
    )
    db.session.add(occurrence)
    db.session.flush()
    return occurrence


@pytest.fixture
def sessions(app):
    """Contact days on the second Sundays of 2031 (Jan 12, Feb 9, Mar 9) in two communities, and a court day."""
    east = make_community(slug="east", name_zh="东区社区", name_en="East Community")
    west = make_community(slug="west", name_zh="西区社区", name_en="West Community")
    hall = make_venue(community=east, slug="east-hall", name_zh="东区议事厅", name_en="East hall")
    contact = make_programme(ProgrammeKind.CONTACT_DAY)
    court = make_programme(ProgrammeKind.HOLIDAY_COURT)
    make_programme(ProgrammeKind.PATROL)
    courtroom = make_venue(VenueKind.COURTROOM, slug="court-1", name_zh="第1法庭", name_en="Courtroom 1")
    for day in (dt.date(2031, 1, 12), dt.date(2031, 2, 9), dt.date(2031, 3, 9)):
        make_occurrence(contact, day, community=east, venue=hall)
        make_occurrence(contact, day, community=west)
    make_occurrence(
        court, dt.date(2031, 1, 11), venue=courtroom, bilingual=True, title_zh="周末审判", title_en="Weekend hearings"
    )
    db.session.commit()
    return {"east": east, "west": west, "contact": contact, "court": court}


def test_programmes_are_listed_without_patrols(client, sessions):
    body = client.get("/api/v1/programmes?lang=en").get_json()
    assert [p["slug"] for p in body["items"]] == ["contact-days", "holiday-court"]
    assert body["items"][0]["name"] == "Contact day"
    assert body["total"] == 2 and body["page"] == 1 and body["per_page"] == 20
    assert client.get("/api/v1/programmes?lang=zh_CN").get_json()["items"][0]["name"] == "社情民意联系日"


def test_occurrences_filter_by_programme_community_and_dates(client, sessions):
    body = client.get("/api/v1/occurrences?programme=contact-days&community=east&from=2031-01-01&lang=en").get_json()
    assert body["total"] == 3
    assert [o["local_date"] for o in body["items"]] == ["2031-01-12", "2031-02-09", "2031-03-09"]
    first = body["items"][0]
    assert first["starts_at"] == "2031-01-12T09:00:00+08:00" and first["ends_at"] == "2031-01-12T11:00:00+08:00"
    assert first["community"] == {"slug": "east", "name": "East Community"}
    assert first["venue"]["name"] == "East hall" and first["title"] == "Contact day"
    body = client.get("/api/v1/occurrences?from=2031-02-09&to=2031-02-09").get_json()
    assert body["total"] == 2 and {o["local_date"] for o in body["items"]} == {"2031-02-09"}


def test_occurrences_by_language_of_service(client, sessions):
    body = client.get("/api/v1/occurrences?from=2031-01-01&language=en&lang=en").get_json()
    assert [o["title"] for o in body["items"]] == ["Weekend hearings"]
    assert body["items"][0]["english_service"] is True
    assert client.get("/api/v1/occurrences?from=2031-01-01&language=zh_CN").get_json()["total"] == 7


def test_occurrences_default_to_today_onward(client, app):
    contact = make_programme(ProgrammeKind.CONTACT_DAY)
    make_occurrence(contact, dt.date(2020, 1, 12))
    make_occurrence(contact, dt.date(2099, 1, 11))
    db.session.commit()
    body = client.get("/api/v1/occurrences").get_json()
    assert [o["local_date"] for o in body["items"]] == ["2099-01-11"]


def test_cancelled_sessions_stay_listed_with_their_status(client, sessions):
    occurrence = db.session.scalars(db.select(Occurrence).order_by(Occurrence.id)).first()
    occurrence.status = OccurrenceStatus.CANCELLED
    occurrence.touch()
    db.session.commit()
    item = client.get(f"/api/v1/occurrences/{occurrence.id}").get_json()
    assert item["status"] == "cancelled" and item["sequence"] == 1


def test_pagination(client, sessions):
    pages = [client.get(f"/api/v1/occurrences?from=2031-01-01&per_page=3&page={n}").get_json() for n in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert all(p["total"] == 7 and p["per_page"] == 3 for p in pages)
    ids = [o["id"] for p in pages for o in p["items"]]
    assert len(set(ids)) == 7
    starts = [o["starts_at"] for p in pages for o in p["items"]]
    assert starts == sorted(starts)


@pytest.mark.parametrize(
    "query, code",
    [
        ("from=2031-13-01", "invalid_date"),
        ("from=12/01/2031", "invalid_date"),
        ("from=20310101", "invalid_date"),
        ("to=1999-12-31", "invalid_date"),
        ("from=2031-02-01&to=2031-01-01", "invalid_range"),
        ("per_page=101", "invalid_parameter"),
        ("per_page=0", "invalid_parameter"),
        ("page=-1", "invalid_parameter"),
        ("page= 1", "invalid_parameter"),
        ("page=1_0", "invalid_parameter"),
        ("lang=fr", "invalid_parameter"),
        ("language=de", "invalid_parameter"),
        ("programme=patrol", "unknown_programme"),
        ("community=nowhere", "unknown_community"),
    ],
)
def test_bad_parameters_get_400_with_the_error_body(client, sessions, query, code):
    response = client.get(
        f"/api/v1/occurrences?{query}&lang=en" if "lang=" not in query else f"/api/v1/occurrences?{query}"
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"]["status"] == 400 and body["error"]["code"] == code
    assert body["error"]["message"]


def _catalogue_has(msgid: str) -> bool:
    import pathlib

    from babel.support import Translations

    translations = Translations.load(
        str(pathlib.Path(__file__).resolve().parent.parent / "translations"), ["zh_Hans_CN"]
    )
    return translations.gettext(msgid) != msgid


@pytest.mark.skipif(
    not _catalogue_has("%(name)s must be a date written YYYY-MM-DD."),
    reason="needs translations/pending/prod.po merged into the catalogue",
)
def test_error_messages_follow_the_language(client, sessions):
    english = client.get("/api/v1/occurrences?from=x&lang=en").get_json()["error"]["message"]
    chinese = client.get("/api/v1/occurrences?from=x&lang=zh_CN").get_json()["error"]["message"]
    assert "YYYY-MM-DD" in english and english != chinese


def test_patrol_programme_has_no_public_occurrence(client, app):
    patrol = make_programme(ProgrammeKind.PATROL)
    hidden = make_occurrence(patrol, dt.date(2099, 1, 1))
    db.session.commit()
    assert client.get("/api/v1/occurrences?from=2099-01-01").get_json()["total"] == 0
    assert client.get(f"/api/v1/occurrences/{hidden.id}").status_code == 404


def test_unknown_ids_and_paths_get_json_404(client, app):
    for path in ("/api/v1/occurrences/12345", "/api/v1/occurrences/99999999999999", "/api/v1/nothing-here"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_gets_json_405(client, app):
    response = client.delete("/api/v1/programmes")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_venues_and_communities(client, sessions):
    venues = client.get("/api/v1/venues?community=east&lang=en").get_json()
    assert [v["name"] for v in venues["items"]] == ["East hall"]
    assert venues["items"][0]["community"] == "east"
    courts = client.get("/api/v1/venues?kind=courtroom").get_json()
    assert [v["slug"] for v in courts["items"]] == ["court-1"]
    assert client.get("/api/v1/venues?kind=castle").status_code == 400
    communities = client.get("/api/v1/communities?lang=en").get_json()
    assert [c["slug"] for c in communities["items"]] == ["east", "west"]
    sub = communities["items"][0]["subdistrict"]["slug"]
    assert client.get(f"/api/v1/communities?subdistrict={sub}").get_json()["total"] == 1


def test_public_reads_are_cacheable_and_set_no_cookie(client, sessions):
    response = client.get("/api/v1/occurrences?lang=en")
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Set-Cookie" not in response.headers


def test_list_queries_do_not_grow_with_the_page(client, sessions, app):
    from tests.conftest import count_queries

    with client.application.app_context():
        served_engine = db.engine  # the served app has its own engine
    with count_queries(served_engine) as small:
        client.get("/api/v1/occurrences?from=2031-01-01&per_page=1")
    with count_queries(served_engine) as large:
        client.get("/api/v1/occurrences?from=2031-01-01&per_page=100")
    assert large() == small()
