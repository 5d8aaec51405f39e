"""The privacy rule where mutation testing showed no test would defend it: the API's programme filter
refuses a private programme by name, a feed of a private kind cannot be built, the SQL form of the
rule accepts exactly the public kinds, and the single-event and community feeds say what they are."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

import feeds.cache
import feeds.probes
from feeds.sources import CommunityFeed, Links, ProgrammeFeed, current_window, one_event
from models import PUBLIC_PROGRAMME_KINDS, Programme, ProgrammeKind, db, public_kind, public_programmes
from tests.factories import make_community, make_programme, make_venue
from tests.public_builders import session
from timeutil import local_today


@pytest.fixture(autouse=True)
def _fresh_feed_cache():
    feeds.cache.bodies.clear()
    feeds.probes.reset()
    yield
    feeds.cache.bodies.clear()
    feeds.probes.reset()


def test_the_sql_rule_is_one_equality_per_public_kind(app):
    for kind in ProgrammeKind:
        make_programme(kind)
    db.session.commit()
    kinds = db.session.scalars(sa.select(Programme.kind).where(public_kind(Programme.kind))).all()
    assert sorted(k.value for k in kinds) == sorted(k.value for k in PUBLIC_PROGRAMME_KINDS)
    listed = [p.id for p in db.session.scalars(public_programmes())]
    assert listed == sorted(listed) and len(listed) == len(PUBLIC_PROGRAMME_KINDS)  # ordered by id
    # Core columns too (the feeds' tables), and the statement compiles to plain equalities.
    table = Programme.__table__
    core = db.session.scalars(sa.select(table.c.kind).where(public_kind(table.c.kind))).all()
    assert len(core) == len(PUBLIC_PROGRAMME_KINDS)
    compiled = str(public_kind(table.c.kind).compile(compile_kwargs={"literal_binds": True}))
    assert compiled.count("programmes.kind =") == len(PUBLIC_PROGRAMME_KINDS) and " IN " not in compiled
    assert compiled.count(" OR ") == len(PUBLIC_PROGRAMME_KINDS) - 1


@pytest.mark.parametrize("kind", list(ProgrammeKind), ids=lambda kind: kind.value)
def test_the_api_filter_names_only_public_programmes(client, app, kind):
    programme = make_programme(kind)
    make_community(slug="east")
    db.session.commit()
    response = client.get(f"/api/v1/occurrences?programme={programme.slug}&lang=en")
    if kind.is_public:
        assert response.status_code == 200 and response.get_json()["total"] == 0
    else:
        assert response.status_code == 400
        error = response.get_json()["error"]
        assert (error["status"], error["code"]) == (400, "unknown_programme")
        assert error["message"] == f"There is no programme {programme.slug}."
    # The community filter is not limited by the rule (communities are public).
    assert client.get("/api/v1/occurrences?community=east").status_code == 200


def test_a_feed_of_a_private_kind_cannot_be_built(app):
    with pytest.raises(ValueError, match="^ProgrammeKind.PATROL is not a public programme$"):
        ProgrammeFeed(ProgrammeKind.PATROL)
    for kind in PUBLIC_PROGRAMME_KINDS:
        assert ProgrammeFeed(kind).kind is kind


def _links() -> Links:
    return Links(base_url="http://localhost", lang="en")


@pytest.mark.parametrize("kind", list(ProgrammeKind), ids=lambda kind: kind.value)
def test_one_event_is_served_only_for_a_public_kind(app, kind):
    day = local_today() + dt.timedelta(days=3)
    occurrence = session(kind, day, community=make_community(), venue=make_venue())
    db.session.commit()
    with app.test_request_context(), force_locale("en"):
        found = one_event(occurrence.uid, "en", _links())
    if not kind.is_public:
        assert found is None
        return
    meta, events, filename = found
    assert filename == f"{kind.value.replace('_', '-')}-{day:%Y-%m-%d}.ics"
    assert meta.key == f"event:{occurrence.uid}" and meta.lang == "en" and meta.description == ""
    assert [event.uid for event in events] == [occurrence.uid] and meta.name == events[0].summary


def test_the_community_feed_names_its_community_and_lists_only_public_events(app):
    community = make_community(slug="east", name_zh="东区社区", name_en="East Community")
    venue = make_venue(community=community)
    day = local_today() + dt.timedelta(days=3)
    shown = {session(kind, day, community=community, venue=venue).uid: kind for kind in ProgrammeKind}
    db.session.commit()
    source = CommunityFeed("east")
    owner = community.id
    with app.test_request_context(), force_locale("en"):
        meta, events = source.build(owner, current_window(public=True), "en", _links())
    assert meta.name == "East Community: public events"
    assert meta.description == "Contact days and other public sessions in East Community."
    assert meta.url == "http://localhost/communities/east?lang=en" and meta.lang == "en"
    assert meta.key == source.cache_key(owner)
    assert sorted(shown[event.uid].value for event in events) == sorted(k.value for k in PUBLIC_PROGRAMME_KINDS)


def test_a_programme_row_answers_the_rule_in_python_as_in_sql(app):
    """`Programme.is_public` on a loaded row (templates and scripts may read it) follows its kind."""
    for kind in ProgrammeKind:
        make_programme(kind)
    db.session.commit()
    for programme in db.session.scalars(sa.select(Programme)):
        assert programme.is_public is (programme.kind in PUBLIC_PROGRAMME_KINDS), programme.kind
    assert not make_programme(ProgrammeKind.PATROL).is_public


def test_a_programme_feeds_probe_follows_its_own_kind_only(app):
    """Built fresh (feeds/views.py builds its feeds at import): other kinds' sessions leave it unchanged."""
    community = make_community()
    venue = make_venue(community=community)
    day = local_today() + dt.timedelta(days=3)
    session(ProgrammeKind.CONTACT_DAY, day, community=community, venue=venue)
    db.session.commit()
    window = current_window(public=True)
    contact = ProgrammeFeed(ProgrammeKind.CONTACT_DAY)
    before = contact.probe(window)
    assert before.owner == "contact_day"
    for kind in set(ProgrammeKind) - {ProgrammeKind.CONTACT_DAY}:
        session(kind, day, community=community, venue=venue)
    db.session.commit()
    assert contact.probe(window) == before
    session(ProgrammeKind.CONTACT_DAY, day + dt.timedelta(days=1), community=community, venue=venue)
    db.session.commit()
    assert contact.probe(window) != before
    # Only the court's feed follows the hearing notices.
    assert "hearing_notices" in str(ProgrammeFeed(ProgrammeKind.HOLIDAY_COURT)._probe.statement)
    assert "hearing_notices" not in str(contact._probe.statement)


def test_one_public_hearing_and_a_chinese_community_feed(app):
    from models import HearingNotice

    community = make_community(slug="east", name_zh="东区社区", name_en="East Community")
    day = local_today() + dt.timedelta(days=4)
    court = session(ProgrammeKind.HOLIDAY_COURT, day, venue=make_venue())
    notice = HearingNotice(
        occurrence_id=court.id,
        case_number="(2026)苏0591民初1号",
        cause_zh="买卖合同纠纷",
        cause_en="Sales contract dispute",
        starts_at=court.starts_at,
        ends_at=court.ends_at,
    )
    same_time = HearingNotice(
        occurrence_id=court.id,
        case_number="(2026)苏0591民初2号",
        cause_zh="借款合同纠纷",
        cause_en="Loan dispute",
        starts_at=court.starts_at,
        ends_at=court.ends_at,
    )
    db.session.add_all([notice, same_time])
    db.session.commit()
    with app.test_request_context(), force_locale("en"):
        meta, events, filename = one_event(notice.uid, "en", _links())
        # The feed's language is the one asked for, not the request's.
        _meta, chinese, _name = one_event(notice.uid, "zh_CN", Links(base_url="http://localhost", lang="zh_CN"))
        _meta, session_zh, _name = one_event(court.uid, "zh_CN", Links(base_url="http://localhost", lang="zh_CN"))
    assert "买卖合同纠纷" in chinese[0].summary and "Sales" not in chinese[0].summary
    assert "假日法庭" in session_zh[0].summary
    assert filename == f"hearing-{day:%Y-%m-%d}.ics"
    assert [event.uid for event in events] == [notice.uid] and "Sales contract dispute" in events[0].summary
    assert meta.key == f"event:{notice.uid}" and meta.lang == "en" and meta.description == ""
    assert meta.name == events[0].summary
    with app.test_request_context(), force_locale("zh_CN"):
        meta, _events = CommunityFeed("east").build(
            community.id, current_window(public=True), "zh_CN", Links(base_url="http://localhost", lang="zh_CN")
        )
    assert "东区社区" in meta.name and "East" not in meta.name and meta.lang == "zh_CN"


def test_the_probe_follows_the_programme_and_window_but_not_other_communities(app):
    community = make_community()
    venue = make_venue(community=community)
    day = local_today() + dt.timedelta(days=3)
    session(ProgrammeKind.CONTACT_DAY, day, community=community, venue=venue)
    db.session.commit()
    window = current_window(public=True)
    contact = ProgrammeFeed(ProgrammeKind.CONTACT_DAY)
    before = contact.probe(window)
    make_community()  # another community, no sessions
    session(ProgrammeKind.CONTACT_DAY, local_today() + dt.timedelta(days=800), community=community, venue=venue)
    db.session.commit()
    assert contact.probe(window) == before  # outside the window, and a community with nothing in it
    programme = db.session.scalar(sa.select(Programme).where(Programme.kind == ProgrammeKind.CONTACT_DAY))
    programme.description_en = "Second Sunday of every month."
    programme.updated_at = programme.updated_at + dt.timedelta(seconds=5)
    db.session.commit()
    assert contact.probe(window) != before  # the feed's name and description come from the programme


def test_public_programmes_come_in_id_order_after_an_edit(app):
    """Without ORDER BY, PostgreSQL returns an updated row last."""
    for kind in ProgrammeKind:
        make_programme(kind)
    db.session.commit()
    first = db.session.scalars(public_programmes()).first()
    first.name_en = first.name_en + " (edited)"
    db.session.commit()
    listed = [p.id for p in db.session.scalars(public_programmes())]
    assert listed == sorted(listed) and listed[0] == first.id


def test_an_edit_of_a_programme_without_sessions_changes_its_probe(app):
    make_programme(ProgrammeKind.CONTACT_DAY)
    db.session.commit()
    window = current_window(public=True)
    contact = ProgrammeFeed(ProgrammeKind.CONTACT_DAY)
    before = contact.probe(window)
    programme = db.session.scalar(sa.select(Programme).where(Programme.kind == ProgrammeKind.CONTACT_DAY))
    programme.updated_at = programme.updated_at + dt.timedelta(seconds=5)
    db.session.commit()
    assert contact.probe(window) != before
