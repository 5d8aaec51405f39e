"""Anonymous public pages cached and revalidated (views/page_cache.py), fingerprinted static files
(views/static_files.py), and the number of queries a page costs."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re

import pytest
import sqlalchemy as sa

from models import ProgrammeKind, Role, db
from scheduler import operations
from services import clinic
from tests import public_builders as pb
from tests.conftest import count_queries
from tests.factories import PASSWORD, make_community, make_team, make_user
from views import page_cache

PUBLIC_PAGES = [
    "/",
    "/contact-days",
    "/contact-days?view=month",
    "/holiday-court",
    "/legal-clinic",
    "/communities",
    "/communities/jinhu",
]


@pytest.fixture
def world(app):
    jinhu = make_community(slug="jinhu", name_zh="金湖社区", name_en="Jinhu Community")
    contact = pb.contact_day(jinhu)
    court = pb.session(ProgrammeKind.HOLIDAY_COURT, pb.next_weekend_day(), dt.time(9), dt.time(12))
    clinic_session = pb.clinic_session()
    slot = pb.single_slot(clinic_session, 2)
    db.session.commit()
    return {"contact": contact, "court": court, "clinic": clinic_session, "slot": slot, "community": jinhu}


def etag(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.headers["ETag"]


@pytest.mark.parametrize("path", [*PUBLIC_PAGES, "/sessions/{contact}"])
def test_anonymous_pages_are_shareable_and_answer_304_to_their_etag(client, world, path):
    path = path.format(contact=world["contact"].id)
    first = client.get(path)
    tag = etag(first)
    assert first.headers["Cache-Control"] == "public, max-age=60"
    vary = {v.strip().lower() for v in first.headers["Vary"].split(",")}
    assert {"accept-language", "cookie", "accept-encoding"} <= vary
    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == tag and again.headers["Cache-Control"] == "public, max-age=60"
    assert "Content-Type" not in again.headers
    other = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_gzipped_pages_carry_their_own_etag_and_revalidate(client, world):
    plain = client.get("/contact-days")
    zipped = client.get("/contact-days", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + ':gzip"'
    assert (
        client.get(
            "/contact-days", headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}
        ).status_code
        == 304
    )
    # A client holding the identity body revalidates it through the gzip variant too.
    assert (
        client.get(
            "/contact-days", headers={"Accept-Encoding": "gzip", "If-None-Match": plain.headers["ETag"]}
        ).status_code
        == 304
    )


def test_a_repeat_is_served_from_memory_without_a_query(app, web_app, world):
    client = web_app.test_client()
    with web_app.app_context():
        engine = db.engine
    first = client.get("/contact-days")
    with count_queries(engine) as queries:
        second = client.get("/contact-days")
    assert second.data == first.data and queries() == 0
    with web_app.app_context():
        cache = page_cache.pages()
        assert (cache.renders, cache.hits) == (1, 1)


def test_etag_changes_when_an_admin_edits_what_is_shown(app, client, world):
    before = etag(client.get("/contact-days?lang=en"))
    venue = world["contact"].venue
    venue.name_en = "Renamed Liaison Centre"
    db.session.commit()
    after = client.get("/contact-days?lang=en", headers={"If-None-Match": before})
    assert after.status_code == 200 and etag(after) != before
    assert "Renamed Liaison Centre" in after.get_data(as_text=True)
    # The community page shows the same venue: it changes too.
    assert "Renamed Liaison Centre" in client.get("/communities/jinhu?lang=en").get_data(as_text=True)


def test_etag_changes_when_a_session_is_cancelled(app, client, world):
    admin = make_user(Role.ADMIN)
    db.session.commit()
    path = f"/sessions/{world['contact'].id}?lang=en"
    before = etag(client.get(path))
    list_before = etag(client.get("/contact-days?lang=en"))
    operations.cancel_occurrence(admin, world["contact"], reason="Typhoon warning")
    after = client.get(path, headers={"If-None-Match": before})
    assert after.status_code == 200 and etag(after) != before
    assert "Typhoon warning" in after.get_data(as_text=True)
    assert etag(client.get("/contact-days?lang=en", headers={"If-None-Match": list_before})) != list_before


def test_etag_changes_when_a_booking_changes_the_free_places(app, client, world):
    before = client.get("/legal-clinic?lang=en")
    assert "2 places free" in before.get_data(as_text=True)
    clinic.book(world["slot"].id, "Resident", "13800000000", occurrence_id=world["clinic"].id)
    after = client.get("/legal-clinic?lang=en", headers={"If-None-Match": etag(before)})
    assert after.status_code == 200 and etag(after) != etag(before)
    assert "1 place free" in after.get_data(as_text=True)


def test_each_language_has_its_own_body_and_etag(client, world):
    english = client.get("/contact-days", headers={"Accept-Language": "en"})
    chinese = client.get("/contact-days", headers={"Accept-Language": "zh-CN"})
    assert etag(english) != etag(chinese)
    assert 'lang="en"' in english.get_data(as_text=True) and 'lang="zh-CN"' in chinese.get_data(as_text=True)
    # The Chinese ETag does not validate the English page.
    assert (
        client.get("/contact-days", headers={"Accept-Language": "en", "If-None-Match": etag(chinese)}).status_code
        == 200
    )
    # The remembered language (a cookie) chooses the body as well, hence Vary: Cookie.
    client.set_cookie("lang", "en")
    assert etag(client.get("/contact-days")) == etag(english)


def test_my_community_cookie_is_part_of_the_home_page(make_client, world):
    visitor = make_client()
    plain = visitor.get("/?lang=en")
    visitor.set_cookie("community", "jinhu")
    mine = visitor.get("/?lang=en")
    assert etag(mine) != etag(plain) and "Jinhu Community</a>:" in mine.get_data(as_text=True)
    assert "Jinhu Community</a>:" not in make_client().get("/?lang=en").get_data(as_text=True)


def test_a_logged_in_user_never_gets_or_leaves_a_shared_page(app, make_client, world):
    user = make_user(Role.VOLUNTEER, email="volunteer@example.org", name="Volunteer Lee")
    db.session.commit()
    member = make_client()
    assert member.post("/login", data={"email": user.email, "password": PASSWORD}).status_code in (302, 303)
    for path in PUBLIC_PAGES:
        response = member.get(path + ("&" if "?" in path else "?") + "lang=en")
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "private, no-cache", path
        assert "Log out" in response.get_data(as_text=True)
    # Nobody anonymous is ever served what the member saw.
    anonymous = make_client().get("/contact-days", headers={"Accept-Language": "en"})
    assert anonymous.headers["Cache-Control"] == "public, max-age=60"
    assert "Log out" not in anonymous.get_data(as_text=True) and "Volunteer Lee" not in anonymous.get_data(as_text=True)


def test_any_session_cookie_makes_a_page_private(make_client, web_app, world):
    visitor = make_client()
    visitor.set_cookie(web_app.config.get("SESSION_COOKIE_NAME", "session"), "anything")
    assert visitor.get("/contact-days").headers["Cache-Control"] == "private, no-cache"
    remembered = make_client()
    remembered.set_cookie("remember_token", "anything")
    assert remembered.get("/contact-days").headers["Cache-Control"] == "private, no-cache"


def test_a_response_setting_a_cookie_is_not_shared(make_client, world):
    # ?community= is remembered by a cookie: that response is the visitor's own.
    choosing = make_client().get("/?community=jinhu")
    assert "community=jinhu" in choosing.headers["Set-Cookie"]
    assert choosing.headers["Cache-Control"] == "private, no-cache"
    # ?lang= is remembered too: the page may come from the cache, but not go into a shared one.
    switching = make_client().get("/contact-days?lang=en")
    assert "lang=en" in switching.headers["Set-Cookie"]
    assert switching.headers["Cache-Control"] == "private, no-cache"


def test_error_pages_are_not_cached(client, world):
    bad = client.get("/contact-days?view=month&month=2027-13")
    assert bad.status_code == 400 and bad.headers["Cache-Control"] == "private, no-cache"
    assert client.get("/communities/nowhere").status_code == 404
    assert client.get("/sessions/999999").status_code == 404


def test_the_home_page_runs_a_fixed_number_of_queries(app, web_app, world):
    """Whatever the number of sessions on the next days, and far fewer than one set per session."""
    web_app.config["PAGE_CACHE_ENABLED"] = False  # what rendering costs
    client = web_app.test_client()
    with web_app.app_context():
        engine = db.engine
    client.get("/")
    with count_queries(engine) as few:
        assert client.get("/").status_code == 200
    day = world["contact"].rule_date
    for n in range(8):
        pb.contact_day(make_community(), day, officials=[pb.official(name=f"官员{n}", name_en=f"Official {n}")])
        pb.session(ProgrammeKind.HOLIDAY_COURT, world["court"].rule_date, dt.time(13), dt.time(17))
    db.session.commit()
    with count_queries(engine) as many:
        assert client.get("/").status_code == 200
    assert few() == many() <= 8


def test_static_urls_are_fingerprinted_and_immutable(client, world):
    html = client.get("/contact-days").get_data(as_text=True)
    found = re.search(r'href="(/static/site\.css\?v=([0-9a-f]{12}))"', html)
    assert found, "site.css is linked with its content hash"
    url = found[1]
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    script = re.search(r'src="(/static/copy\.js\?v=[0-9a-f]{12})"', html)[1]
    assert client.get(script).headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Without the hash, or with an old one, the file is revalidated as before: never pinned for a year.
    for stale in ("/static/site.css", "/static/site.css?v=000000000000"):
        assert "immutable" not in client.get(stale).headers.get("Cache-Control", ""), stale


def test_the_fingerprint_follows_the_content(web_app, tmp_path, monkeypatch):
    from views import static_files

    (tmp_path / "a.css").write_text("body{}")
    monkeypatch.setattr(web_app, "static_folder", str(tmp_path))  # the app is shared by the session
    with web_app.test_request_context():
        first = static_files.fingerprint("a.css")
        (tmp_path / "a.css").write_text("body{color:red}")
        os.utime(tmp_path / "a.css", (1, 1))  # a different mtime, as any edit gives
        assert static_files.fingerprint("a.css") != first
        assert static_files.fingerprint("missing.css") is None


def test_nothing_personal_reaches_a_cached_page(app, client, world):
    """A booking's name and phone stay out of the public (cached) clinic page."""
    clinic.book(world["slot"].id, "Resident Zhang", "13912345678", occurrence_id=world["clinic"].id)
    html = client.get("/legal-clinic?lang=en").get_data(as_text=True)
    assert "1 place free" in html
    assert "Resident Zhang" not in html and "13912345678" not in html


def test_the_cache_is_bounded_by_the_bytes_it_holds():
    cache = page_cache.PageCache(limit=250)
    for n in range(5):
        cache.put(("page", n), page_cache.Entry("v", 0.0, b"x" * 100, "text/html"))
    assert len(cache) == 2 and cache.size == 200
    assert cache.get(("page", 0)) is None and cache.get(("page", 4)) is not None
    cache.put(("big",), page_cache.Entry("v", 0.0, b"x" * 1000, "text/html"))  # larger than the limit: not kept
    assert cache.get(("big",)) is None and cache.size == 200


def test_the_data_version_reads_each_table_once_and_sees_each_kind_of_change(app, world):
    """One scan per fingerprinted table (it reruns after every commit), yet a new row, a removed
    row and an edit each change the version."""
    statement = page_cache._version_statement()
    assert len(statement.selected_columns) == len(page_cache._FINGERPRINTED)
    first = page_cache.data_version()
    assert page_cache.data_version() == first  # nothing committed: same version
    user = make_user(role=Role.VOLUNTEER)
    db.session.commit()
    added = page_cache.data_version()
    assert added != first
    user.name = "Renamed"
    db.session.commit()
    edited = page_cache.data_version()
    assert edited != added
    db.session.delete(user)
    db.session.commit()
    assert page_cache.data_version() not in (edited, added)


def test_a_version_read_is_reused_briefly_unless_this_process_changes_what_is_shown(app, world, monkeypatch):
    """VERSION_REUSE: within it a version costs no statement, and another worker's commit is seen
    once it has passed; a commit of this process shows at once if (and only if) it wrote a table
    the pages show, whether through the ORM or a Core statement, and a rolled-back one counts not."""
    from feeds import probes
    from models import Venue

    now = [1000.0]
    monkeypatch.setattr(page_cache, "_clock", lambda: now[0])
    app.config["PAGE_VERSION_REUSE"] = 1.0
    venue_id = world["contact"].venue.id

    def version_and_statements() -> tuple[str, int]:
        before = probes.round_trips
        return page_cache.data_version(), probes.round_trips - before

    first, statements = version_and_statements()
    assert statements > 0
    assert version_and_statements() == (first, 0)

    # Another worker (another engine: none of this process's sessions) renames the venue.
    other = sa.create_engine(db.engine.url)
    with other.begin() as connection:
        connection.execute(sa.update(Venue.__table__).where(Venue.id == venue_id).values(name_en="Elsewhere"))
    other.dispose()
    now[0] += 0.9
    assert version_and_statements() == (first, 0)  # trusted for the rest of the second
    now[0] += 0.2
    seen, statements = version_and_statements()
    assert seen != first and statements > 0

    # This process writes only what no public page shows (a patrol team): still no statement.
    make_team()
    db.session.commit()
    assert version_and_statements() == (seen, 0)

    # A change that is rolled back does not count either.
    db.session.get(Venue, venue_id).name_en = "Never"
    db.session.flush()
    db.session.rollback()
    make_team()
    db.session.commit()
    assert version_and_statements() == (seen, 0)

    # Through the ORM: seen at once.
    db.session.get(Venue, venue_id).name_en = "Renamed again"
    db.session.commit()
    orm_edit, statements = version_and_statements()
    assert orm_edit != seen and statements > 0

    # Through a Core statement in the session: seen at once.
    db.session.execute(sa.update(Venue).where(Venue.id == venue_id).values(name_en="Core edit"))
    db.session.commit()
    core_edit, statements = version_and_statements()
    assert core_edit != orm_edit and statements > 0

    # A commit of this process that lands while the version is read: that version may predate it,
    # so it is not reused.
    read = page_cache._probe.unless_unchanged

    def read_while_committing(key, compute):
        value = read(key, compute)
        page_cache._Commits.count += 1
        return value

    now[0] += 5
    monkeypatch.setattr(page_cache._probe, "unless_unchanged", read_while_committing)
    assert version_and_statements()[1] > 0
    monkeypatch.setattr(page_cache._probe, "unless_unchanged", read)
    assert version_and_statements()[1] > 0
