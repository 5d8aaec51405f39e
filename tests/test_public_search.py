"""Finding a community from what residents know: streets, compounds, landmarks, pinyin, English."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from models import AreaKind, Community, CommunityArea, db
from services import search
from tests.factories import make_community


def _results(client, q: str, lang: str = "en") -> list[str]:
    """Community names on the search page, in the order shown."""
    response = client.get("/search", query_string={"q": q, "lang": lang})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    section = html.split('id="h-c"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<a href="/communities/[^"]+">([^<]+)</a>', section)


@pytest.fixture
def communities(app):
    dushu = make_community(slug="dushu", name_zh="独墅社区", name_en="Dushu Community")
    dushu.areas = [
        CommunityArea(kind=AreaKind.LANDMARK, name_zh="独墅湖", name_en="Dushu Lake"),
        CommunityArea(kind=AreaKind.STREET, name_zh="仁爱路", name_en="Ren'ai Road"),
        CommunityArea(kind=AreaKind.COMPOUND, name_zh="月亮湾公寓", name_en="Moon Bay Apartments"),
    ]
    jinhu = make_community(slug="jinhu", name_zh="金湖社区", name_en="Jinhu Community")
    jinhu.areas = [
        CommunityArea(kind=AreaKind.LANDMARK, name_zh="金鸡湖", name_en="Jinji Lake"),
        CommunityArea(kind=AreaKind.STREET, name_zh="星海街", name_en="Xinghai Street"),
    ]
    xinghai = make_community(slug="xinghai", name_zh="星海社区", name_en="Xinghai Community")
    xinghai.areas = [CommunityArea(kind=AreaKind.COMPOUND, name_zh="星海花园", name_en="Xinghai Garden")]
    make_community(slug="lvyuan", name_zh="绿苑社区", name_en="Lüyuan Community")
    db.session.commit()
    return {"dushu": dushu, "jinhu": jinhu, "xinghai": xinghai}


def test_keys_are_computed_when_saved_not_per_request(communities):
    key = db.session.scalar(sa.select(Community.search_key).where(Community.slug == "dushu"))
    assert "|dushushequ|" in key and "|dushuhu|" in key and "|dushulake|" in key and "|renailu|" in key
    area = db.session.scalar(sa.select(CommunityArea).where(CommunityArea.name_zh == "仁爱路"))
    assert area.search_key == "|仁爱路|renailu|renairoad|"
    # Renaming an area updates its community's key on the next save.
    area.name_zh, area.name_en = "仁爱大道", "Ren'ai Avenue"
    db.session.commit()
    key = db.session.scalar(sa.select(Community.search_key).where(Community.slug == "dushu"))
    assert "renaidadao" in key and "renailu" not in key


@pytest.mark.parametrize(
    "q", ["Dushu Lake", "dushu lake", "独墅湖", "dushu", "dú shū", "Dú Shū Hú", "du2 shu4", "DUSHUHU", "独墅"]
)
def test_pinyin_with_and_without_tones_english_and_chinese_names(client, communities, q):
    assert _results(client, q)[0] == "Dushu Community"


@pytest.mark.parametrize(
    "q, expected",
    [
        ("Ren'ai Road", "Dushu Community"),  # street, English
        ("仁爱路", "Dushu Community"),  # street, Chinese
        ("renai", "Dushu Community"),  # street, pinyin
        ("月亮湾", "Dushu Community"),  # compound, partial Chinese
        ("moon bay", "Dushu Community"),  # compound, partial English
        ("Jinji", "Jinhu Community"),  # landmark, partial
        ("金鸡湖", "Jinhu Community"),
    ],
)
def test_streets_compounds_and_landmarks_find_their_community(client, communities, q, expected):
    assert _results(client, q) == [expected]


def test_results_are_ranked_own_name_before_an_area(client, communities):
    # "Xinghai Street" belongs to Jinhu; Xinghai Community is found by its own name and comes first.
    assert _results(client, "xinghai") == ["Xinghai Community", "Jinhu Community"]
    # The street's full name is an exact area match for Jinhu, better than Xinghai's partial one.
    assert _results(client, "xinghai street") == ["Jinhu Community"]
    assert _results(client, "星海街", "zh") == ["金湖社区"]


def test_the_matching_area_is_named_and_the_page_is_chinese(client, communities):
    html = client.get("/search", query_string={"q": "dushu lake", "lang": "en"}).get_data(as_text=True)
    assert "Serves Dushu Lake" in html
    html = client.get("/search", query_string={"q": "独墅湖", "lang": "zh"}).get_data(as_text=True)
    assert "独墅社区" in html and "独墅湖" in html


def test_umlaut_pinyin_and_nonsense(client, communities):
    assert _results(client, "lüyuan") == ["Lüyuan Community"]
    assert _results(client, "lvyuan") == ["Lüyuan Community"]
    assert _results(client, "nowhere at all") == []
    assert _results(client, "%") == []


def test_query_normalisation():
    assert search.query_words("dú shū") == ["du", "shu"]
    assert search.query_words("du2 shu4") == ["du", "shu"]
    assert search.query_words("  Dushu-Lake ") == ["dushulake"]
    assert search.key_for("独墅湖", "Dushu Lake") == "|独墅湖|dushuhu|dushulake|"


def test_search_runs_a_fixed_number_of_queries(app, communities):
    from sqlalchemy import event

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        hits = search.find_communities("湖")
        [h.community.subdistrict.name_en for h in hits]
        [a.name_en for h in hits for a in h.community.areas]
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(hits) == 2
    assert len(statements) <= 2, statements


def test_api_communities_carry_their_areas(client, communities):
    response = client.get("/api/v1/communities?lang=en")
    data = response.get_json()
    assert response.status_code == 200, data
    dushu = next(c for c in data["items"] if c["slug"] == "dushu")
    assert {"kind": "landmark", "name": "Dushu Lake"} in [{k: a[k] for k in ("kind", "name")} for a in dushu["areas"]]
    data = client.get("/api/v1/communities?lang=zh_CN").get_json()
    dushu = next(c for c in data["items"] if c["slug"] == "dushu")
    assert "独墅湖" in [a["name"] for a in dushu["areas"]]


def test_demo_areas_several_per_community_both_languages_once(app):
    from demo import LoadSummary, names
    from demo import public as demo_public

    for slug, zh, pinyin in names.COMMUNITIES[:15]:  # jinhu, xinghai ... dushu
        make_community(slug=slug, name_zh=f"{zh}社区", name_en=f"{pinyin} Community", is_sample=True)
    db.session.commit()
    summary = LoadSummary()
    demo_public.load(summary)
    db.session.commit()
    per_community = dict(
        db.session.execute(
            sa.select(CommunityArea.community_id, sa.func.count()).group_by(CommunityArea.community_id)
        ).all()
    )
    assert len(per_community) == 15 and min(per_community.values()) >= 3
    assert all(a.name_zh and a.name_en for a in db.session.scalars(sa.select(CommunityArea)))
    # The searches find the right sample communities.
    for q, slug in (("Dushu Lake", "dushu"), ("Jinji", "jinhu"), ("xinghai street", "xinghai"), ("dú shū", "dushu")):
        assert search.find_communities(q)[0].community.slug == slug, q
    again = LoadSummary()
    demo_public.load(again)
    assert "community areas" not in again.added


def test_reindex_command_recomputes_stale_keys(app, runner, communities):
    db.session.execute(sa.update(Community).values(search_key=""))
    db.session.commit()
    assert search.find_communities("dushu lake") == []
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0 and "4 communities reindexed." in result.output
    db.session.expire_all()
    assert search.find_communities("dushu lake")[0].community.slug == "dushu"
