"""HTTP behaviour of the feeds: headers, validators, 304s, caching and invalidation, tokens."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
import sqlalchemy as sa
from werkzeug.http import http_date, parse_date

import feeds.cache
from feeds import probes
from models import Assignment, AssignmentStatus, FeedSnapshot, FeedToken, Occurrence, db
from tests.conftest import count_queries
from tests.feeds_fixtures import (  # noqa: F401  (fixtures)
    _pinned_today_and_clean_cache,
    assign,
    paths,
    world,
)
from timeutil import local_to_utc


@pytest.fixture
def web_engine(web_app):
    with web_app.app_context():
        return db.engine


@pytest.fixture
def builds(monkeypatch):
    """Counts body builds: `builds["n"]`."""
    counter = {"n": 0}
    real = feeds.cache.render

    def counting(*args, **kwargs):
        counter["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(feeds.cache, "render", counting)
    return counter


def test_headers_of_every_feed(client, world, paths):
    for name, path in paths.all.items():
        response = client.get(path)
        assert response.status_code == 200, name
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert response.headers["Content-Disposition"].startswith("inline")
        assert "attachment" not in response.headers["Content-Disposition"]
        etag = response.headers["ETag"]
        assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
        assert parse_date(response.headers["Last-Modified"]) is not None
        assert "max-age=" in response.headers["Cache-Control"]
        assert "Set-Cookie" not in response.headers, name
        expected = "private" if name in ("team", "volunteer") else "public"
        assert response.headers["Cache-Control"].startswith(expected)
    head = client.head(paths.public["contact_days"])
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"]


def test_304_on_if_none_match(client, world, paths):
    for path in paths.all.values():
        first = client.get(path)
        etag = first.headers["ETag"]
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = client.get(path, headers={"If-None-Match": header})
            assert again.status_code == 304, header
            assert again.data == b""
            assert again.headers["ETag"] == etag
            assert "Cache-Control" in again.headers
        assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_304_on_if_modified_since_and_none_match_wins(client, world, paths):
    path = paths.public["contact_days"]
    first = client.get(path)
    modified = parse_date(first.headers["Last-Modified"])
    assert client.get(path, headers={"If-Modified-Since": http_date(modified)}).status_code == 304
    later = http_date(modified + dt.timedelta(hours=1))
    assert client.get(path, headers={"If-Modified-Since": later}).status_code == 304
    earlier = http_date(modified - dt.timedelta(seconds=1))
    assert client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match is evaluated alone when both are sent (RFC 9110).
    both = client.get(path, headers={"If-None-Match": '"stale"', "If-Modified-Since": later})
    assert both.status_code == 200


def test_etag_changes_after_an_edit_and_not_otherwise(client, world, paths):
    path = paths.public["contact_days"]
    first = client.get(path)
    assert client.get(path).headers["ETag"] == first.headers["ETag"]
    assert client.get(path).data == first.data

    # A change elsewhere (a patrol shift, another programme) leaves this feed's validators alone.
    world.shifts[40].area_zh = "新的区域"
    world.court[0].touch()
    db.session.commit()
    assert client.get(path).headers["ETag"] == first.headers["ETag"]
    assert client.get(path).headers["Last-Modified"] == first.headers["Last-Modified"]

    occurrence = world.contact[4]
    occurrence.starts_at = local_to_utc(dt.date(2026, 3, 15), dt.time(9))
    occurrence.ends_at = local_to_utc(dt.date(2026, 3, 15), dt.time(11, 30))
    occurrence.touch()
    db.session.commit()
    after = client.get(path)
    assert after.headers["ETag"] != first.headers["ETag"]
    assert parse_date(after.headers["Last-Modified"]) > parse_date(first.headers["Last-Modified"])
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200
    assert client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 200
    assert client.get(path, headers={"If-None-Match": after.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize(
    "edit", ["venue_address", "officials", "community_name", "programme_text", "new_row", "deleted_row", "cancelled"]
)
def test_every_kind_of_edit_reaches_the_public_feed(client, world, paths, edit):
    path = paths.public["contact_days"]
    before = client.get(path).headers["ETag"]
    target = world.contact[4]
    if edit == "venue_address":
        target.venue.address_zh = "新地址 8 号"
    elif edit == "officials":
        target.officials = world.officials[:1]  # only the association table changes
    elif edit == "community_name":
        target.community.name_zh = "东湖新社区"
    elif edit == "programme_text":
        target.programme.name_zh = "社情民意联系日(新)"
    elif edit == "new_row":
        db.session.add(
            Occurrence(
                programme=target.programme,
                community=target.community,
                venue=target.venue,
                starts_at=target.starts_at + dt.timedelta(days=1),
                ends_at=target.ends_at + dt.timedelta(days=1),
            )
        )
    elif edit == "deleted_row":
        db.session.delete(target)
    elif edit == "cancelled":
        db.session.execute(sa.update(Occurrence).where(Occurrence.id == target.id).values(status="cancelled"))
    db.session.commit()
    assert client.get(path).headers["ETag"] != before


def test_team_and_volunteer_feeds_follow_assignments(client, world, paths):
    team_before = client.get(paths.team).headers["ETag"]
    mine_before = client.get(paths.volunteer).headers["ETag"]
    other_before = client.get(paths.other_volunteer).headers["ETag"]
    shift = world.shifts[90]
    assign(world.volunteer, shift)
    db.session.commit()
    team_after = client.get(paths.team)
    assert team_after.headers["ETag"] != team_before  # head count
    assert "Volunteers: 1 signed up" in client.get(paths.team + "?lang=en").get_data(as_text=True)
    assert client.get(paths.volunteer).headers["ETag"] != mine_before
    assert shift.uid.encode() in client.get(paths.volunteer).data
    assert client.get(paths.other_volunteer).headers["ETag"] == other_before
    # Dropping it again brings back the earlier content, and so the earlier ETag.
    assignment = db.session.scalar(sa.select(Assignment).where(Assignment.shift_id == shift.id))
    assignment.status = AssignmentStatus.DROPPED
    shift.assigned_count -= 1
    db.session.commit()
    assert client.get(paths.volunteer).headers["ETag"] == mine_before


@contextlib.contextmanager
def count_all_queries(engine):
    """(SQLAlchemy statements, validator statements), the latter going to the driver directly."""
    before = probes.round_trips
    with count_queries(engine) as statements:
        yield lambda: (statements(), probes.round_trips - before)


def test_a_matching_conditional_request_costs_one_query_and_no_build(client, web_engine, world, paths, builds):
    for path in paths.all.values():
        etag = client.get(path).headers["ETag"]
        client.get(path)  # the build's own commit (the shared snapshot) has been seen
        built = builds["n"]
        with count_all_queries(web_engine) as queries:
            assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
        assert queries() == (0, 1), path  # one statement ("anything committed?"), nothing else
        with count_all_queries(web_engine) as queries:
            assert client.get(path).status_code == 200  # the cached body
        assert queries() == (0, 1), path
        assert builds["n"] == built, path


def test_after_any_commit_the_feed_query_runs_again(client, web_engine, world, paths, builds):
    path = paths.public["contact_days"]
    etag = client.get(path).headers["ETag"]
    client.get(path)
    world.shifts[3].area_en = "Somewhere else"  # a commit that does not touch this feed
    db.session.commit()
    with count_all_queries(web_engine) as queries:
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert queries() == (0, 2), path  # the marker changed: the feed's own aggregate query ran
    with count_all_queries(web_engine) as queries:
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert queries() == (0, 1)


def test_another_worker_answers_304_without_building(client, web_engine, world, paths, builds):
    etags = {path: client.get(path).headers["ETag"] for path in paths.all.values()}
    feeds.cache.bodies.clear()  # as in a worker that never built these feeds,
    probes.reset()  # with its own database connection
    built = builds["n"]
    for path, etag in etags.items():
        with count_all_queries(web_engine) as queries:
            assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
        assert queries()[0] == 1, path  # the shared snapshot; and no build
    assert builds["n"] == built


def test_workers_agree_on_validators(client, world, paths, builds):
    first = client.get(paths.team)
    feeds.cache.bodies.clear()  # another worker builds the same body
    second = client.get(paths.team)
    assert builds["n"] == 2
    assert second.data == first.data
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Last-Modified"] == first.headers["Last-Modified"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedSnapshot)) == 1


def test_the_window_moves_with_the_date(client, world, paths, monkeypatch):
    import feeds.sources

    before = client.get(paths.public["contact_days"])
    assert b"20260208T090000" in before.data
    monkeypatch.setattr(feeds.sources, "today", lambda: dt.date(2026, 3, 12))  # Feb 8 is now 32 days back
    after = client.get(paths.public["contact_days"])
    assert b"20260208T090000" not in after.data
    assert after.headers["ETag"] != before.headers["ETag"]
    assert parse_date(after.headers["Last-Modified"]) > parse_date(before.headers["Last-Modified"])


def test_revoked_token_answers_404_at_once(client, world, paths):
    from feeds import tokens

    assert client.get(paths.volunteer).status_code == 200  # cached in this worker now
    token = db.session.scalar(sa.select(FeedToken).where(FeedToken.user_id == world.volunteer.id))
    tokens.revoke(token, world.volunteer)
    db.session.commit()
    assert client.get(paths.volunteer).status_code == 404
    assert client.get(paths.volunteer, headers={"If-None-Match": "*"}).status_code == 404


def test_unknown_or_wrong_kind_tokens_are_404(client, world, paths):
    assert client.get("/feeds/t/not-a-token.ics").status_code == 404
    assert client.get("/feeds/v/" + "x" * 500 + ".ics").status_code == 404
    team_token = paths.team.split("/")[-1]
    assert client.get("/feeds/v/" + team_token).status_code == 404  # a team token is no volunteer token
    assert client.get("/feeds/communities/no-such-community.ics").status_code == 404
    world.volunteer.active = False  # a deactivated account's feed stops with it
    db.session.commit()
    assert client.get(paths.volunteer).status_code == 404


def test_body_cache_is_bounded():
    cache = feeds.cache.BodyCache()
    for n in range(10):
        cache.put(f"k{n}", feeds.cache.Entry("f", "e", dt.datetime.now(dt.UTC), b"x" * 100), limit=350)
    assert len(cache) == 3 and cache.size == 300
    assert cache.get("k9") is not None and cache.get("k0") is None


def test_hearing_notices_reach_the_court_feed_even_without_sessions(client, world, paths):
    path = paths.public["holiday_court"]
    for occurrence in world.court:  # every court session moved out of the window
        occurrence.starts_at += dt.timedelta(days=365)
        occurrence.ends_at += dt.timedelta(days=365)
    db.session.commit()
    before = client.get(path)
    assert world.hearing.uid.encode() in before.data
    world.hearing.cause_zh = "借款合同纠纷"
    db.session.commit()
    after = client.get(path)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "借款合同纠纷".encode() in after.data.replace(b"\r\n ", b"")
