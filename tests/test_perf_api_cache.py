"""The public API's reads cached and revalidated like the public pages (app.py wires
views/page_cache.py onto them): ETag/304, a repeat without a query, never stale after a write."""

from __future__ import annotations

import pytest

from models import Role, db
from scheduler import operations
from tests.conftest import count_queries
from tests.factories import make_community, make_user
from tests.test_perf_page_cache import world  # noqa: F401 (fixture)
from views import page_cache

READS = ["/api/v1/occurrences?lang=en", "/api/v1/communities", "/api/v1/venues", "/api/v1/programmes?lang=en"]


@pytest.mark.parametrize("path", READS)
def test_public_reads_are_shareable_and_answer_304(client, world, path):  # noqa: F811
    first = client.get(path)
    assert first.status_code == 200 and first.is_json
    assert first.headers["Cache-Control"] == page_cache.SHARED_CACHE
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_a_repeat_is_answered_from_memory_without_a_query(app, web_app, world):  # noqa: F811
    client = web_app.test_client()
    with web_app.app_context():
        engine = db.engine
    first = client.get("/api/v1/occurrences?lang=en")
    with count_queries(engine) as queries:
        second = client.get("/api/v1/occurrences?lang=en")
    assert second.get_json() == first.get_json() and queries() == 0


def test_no_stale_data_after_a_cancellation(app, client, world):  # noqa: F811
    admin = make_user(Role.ADMIN)
    db.session.commit()
    before = client.get("/api/v1/occurrences?lang=en")
    ids = {item["id"]: item["status"] for item in before.get_json()["items"]}
    assert ids[world["contact"].id] != "cancelled"
    operations.cancel_occurrence(admin, world["contact"], reason="Typhoon warning")
    after = client.get("/api/v1/occurrences?lang=en", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert {item["id"]: item["status"] for item in after.get_json()["items"]}[world["contact"].id] == "cancelled"


def test_a_new_community_shows_at_once(app, client, world):  # noqa: F811
    before = client.get("/api/v1/communities").get_json()
    make_community(slug="hudong", name_zh="湖东社区", name_en="Hudong Community")
    db.session.commit()
    after = client.get("/api/v1/communities").get_json()
    assert {c["slug"] for c in after["items"]} - {c["slug"] for c in before["items"]} == {"hudong"}


def test_errors_are_not_cached(client, world):  # noqa: F811
    first = client.get("/api/v1/occurrences?community=nowhere")
    assert first.status_code == 400
    assert client.get("/api/v1/occurrences?community=nowhere").status_code == 400
    with client.application.app_context():
        assert not any("nowhere" in key[1] for key in page_cache.pages()._entries)


def test_a_caller_with_a_session_cookie_gets_the_same_shared_answer(make_client, world):  # noqa: F811
    """The public API never reads the session: a logged-in caller gets the shared copy."""
    anonymous = make_client().get("/api/v1/occurrences?lang=en")
    client = make_client()
    client.set_cookie("session", "anything")
    response = client.get("/api/v1/occurrences?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == page_cache.SHARED_CACHE
    assert response.headers["ETag"] == anonymous.headers["ETag"]
