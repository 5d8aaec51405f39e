"""Public read endpoints: what residents may see without logging in. Patrols are never public."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import jsonify
from flask_babel import gettext as _
from sqlalchemy import orm

from i18n import localized
from models import (
    Community,
    Occurrence,
    Programme,
    Subdistrict,
    Venue,
    VenueKind,
    db,
    public_programmes,
)
from timeutil import local_today, to_local

from . import bp
from .common import ApiError, check_id, choice_arg, date_range, day_start_utc, local_iso, paginated, text_arg

# Published patrol times would tell thieves when streets are unwatched.


def _public(data: dict):
    response = jsonify(data)
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Vary"] = "Accept-Language"
    return response


def programme_json(programme: Programme) -> dict:
    return {
        "id": programme.id,
        "slug": programme.slug,
        "kind": programme.kind.value,
        "name": programme.name,
        "description": localized(programme, "description"),
    }


def community_json(community: Community) -> dict:
    return {
        "id": community.id,
        "slug": community.slug,
        "name": community.name,
        "subdistrict": {"slug": community.subdistrict.slug, "name": community.subdistrict.name},
        # Streets, compounds and landmarks the community serves: what residents know it by.
        "areas": [
            {"kind": area.kind.value, "name": area.name, "name_zh": area.name_zh, "name_en": area.name_en}
            for area in community.areas
        ],
        "is_sample": community.is_sample,
    }


def venue_json(venue: Venue) -> dict:
    return {
        "id": venue.id,
        "slug": venue.slug,
        "kind": venue.kind.value,
        "name": venue.name,
        "address": venue.address,
        "capacity": venue.capacity,
        "community": venue.community.slug if venue.community is not None else None,
        "is_sample": venue.is_sample,
    }


def occurrence_json(occurrence: Occurrence) -> dict:
    community = occurrence.community
    venue = occurrence.venue
    return {
        "id": occurrence.id,
        "uid": occurrence.uid,
        "programme": occurrence.programme.slug,
        "kind": occurrence.programme.kind.value,
        "title": occurrence.title or occurrence.programme.name,
        "local_date": to_local(occurrence.starts_at).date().isoformat(),
        "starts_at": local_iso(occurrence.starts_at),
        "ends_at": local_iso(occurrence.ends_at),
        "status": occurrence.status.value,
        "english_service": occurrence.bilingual,
        "note": occurrence.note,
        "community": {"slug": community.slug, "name": community.name} if community is not None else None,
        "venue": ({"slug": venue.slug, "name": venue.name, "address": venue.address} if venue is not None else None),
        "on_public_holiday": occurrence.on_public_holiday,
        "sequence": occurrence.sequence,
    }


@bp.route("/programmes")
def programmes():
    query = public_programmes()
    return _public(paginated(query, programme_json))


def _slug_id(model, name: str) -> int | None:
    slug = text_arg(name)
    if slug is None:
        return None
    where = [model.slug == slug]
    if model is Programme:
        where.append(Programme.is_public)
    found = db.session.scalar(sa.select(model.id).where(*where))
    if found is None:
        raise ApiError(400, f"unknown_{name}", _("There is no %(name)s %(slug)s.", name=name, slug=slug))
    return found


def _occurrences_query():
    return (
        sa.select(Occurrence)
        .join(Programme, Occurrence.programme_id == Programme.id)
        .where(Programme.is_public)
        .options(
            orm.contains_eager(Occurrence.programme),
            orm.joinedload(Occurrence.venue),
            orm.joinedload(Occurrence.community),
        )
    )


@bp.route("/occurrences")
def occurrences():
    """Sessions, from today on unless `from` says otherwise; `language=en` keeps those with English service."""
    programme_id = _slug_id(Programme, "programme")
    community_id = _slug_id(Community, "community")
    language = choice_arg("language", ("en", "zh_CN"))
    start, end = date_range(default_from=local_today())
    query = _occurrences_query()
    if programme_id is not None:
        query = query.where(Occurrence.programme_id == programme_id)
    if community_id is not None:
        query = query.where(Occurrence.community_id == community_id)
    if language == "en":
        query = query.where(Occurrence.bilingual.is_(True))
    if start is not None:
        query = query.where(Occurrence.starts_at >= day_start_utc(start))
    if end is not None:
        query = query.where(Occurrence.starts_at < day_start_utc(end + dt.timedelta(days=1)))
    query = query.order_by(Occurrence.starts_at, Occurrence.id)
    return _public(paginated(query, occurrence_json))


@bp.route("/occurrences/<id:occurrence_id>")
def occurrence(occurrence_id: int):
    check_id(occurrence_id)
    item = db.session.scalar(_occurrences_query().where(Occurrence.id == occurrence_id))
    if item is None:
        raise ApiError(404, "not_found", _("There is no such session."))
    return _public(occurrence_json(item))


@bp.route("/venues")
def venues():
    community_id = _slug_id(Community, "community")
    kind = choice_arg("kind", [k.value for k in VenueKind])
    query = sa.select(Venue).options(orm.joinedload(Venue.community)).order_by(Venue.slug)
    if community_id is not None:
        query = query.where(Venue.community_id == community_id)
    if kind is not None:
        query = query.where(Venue.kind == VenueKind(kind))
    return _public(paginated(query, venue_json))


@bp.route("/communities")
def communities():
    subdistrict_id = _slug_id(Subdistrict, "subdistrict")
    query = (
        sa.select(Community)
        .options(orm.joinedload(Community.subdistrict), orm.selectinload(Community.areas))
        .order_by(Community.slug)
    )
    if subdistrict_id is not None:
        query = query.where(Community.subdistrict_id == subdistrict_id)
    return _public(paginated(query, community_json))
