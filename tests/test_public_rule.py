"""One privacy rule: every surface publishes exactly the programme kinds `ProgrammeKind.is_public` allows.

Parametrised over every kind, so a kind added later is checked on every surface the day it exists:
if pages, feeds or the API each kept their own list, one of them would disagree here.
"""

from __future__ import annotations

import datetime as dt

import pytest

import feeds.cache
import feeds.probes
from models import PUBLIC_PROGRAMME_KINDS, Programme, ProgrammeKind, db, public_programmes
from tests.factories import make_community, make_venue
from tests.public_builders import session
from timeutil import local_today


@pytest.fixture(autouse=True)
def _fresh_feed_cache():
    feeds.cache.bodies.clear()
    feeds.probes.reset()
    yield
    feeds.cache.bodies.clear()
    feeds.probes.reset()


def test_patrol_shifts_are_private_and_the_rest_public():
    """The product's statement (SPEC: patrol rosters are the volunteers' own, not public)."""
    assert not ProgrammeKind.PATROL.is_public
    assert set(PUBLIC_PROGRAMME_KINDS) == set(ProgrammeKind) - {ProgrammeKind.PATROL}


def test_sql_and_python_forms_of_the_rule_agree(app):
    for kind in ProgrammeKind:
        session(kind, local_today() + dt.timedelta(days=3), community=make_community(), venue=make_venue())
    db.session.commit()
    listed = {programme.kind for programme in db.session.scalars(public_programmes())}
    flagged = {p.kind for p in db.session.scalars(db.select(Programme).where(Programme.is_public))}
    assert listed == flagged == {kind for kind in ProgrammeKind if kind.is_public}


@pytest.mark.parametrize("kind", list(ProgrammeKind), ids=lambda kind: kind.value)
def test_every_surface_agrees_with_the_one_rule(app, client, kind):
    community = make_community()
    occurrence = session(
        kind, local_today() + dt.timedelta(days=3), community=community, venue=make_venue(community=community)
    )
    db.session.commit()
    programme_slug, uid, occurrence_id = occurrence.programme.slug, occurrence.uid, occurrence.id

    community_feed = client.get(f"/feeds/communities/{community.slug}.ics")
    assert community_feed.status_code == 200
    programmes = client.get("/api/v1/programmes").get_json()
    occurrences = client.get("/api/v1/occurrences").get_json()
    published = {
        "session page": client.get(f"/sessions/{occurrence_id}").status_code == 200,
        "API programme list": programme_slug in str(programmes),
        "API occurrence list": f'"id": {occurrence_id}' in str(occurrences).replace("'", '"'),
        "API occurrence": client.get(f"/api/v1/occurrences/{occurrence_id}").status_code == 200,
        "event feed": client.get(f"/feeds/occurrences/{uid}.ics").status_code == 200,
        "community feed": uid in community_feed.get_data(as_text=True),
    }
    expected = {surface: kind.is_public for surface in published}
    assert published == expected
