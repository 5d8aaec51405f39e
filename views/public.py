"""Public pages for residents (no login). Extended by the public-pages work (issue 6)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_babel import gettext as _
from sqlalchemy import orm

from models import Community, Occurrence, OccurrenceStatus, Programme, ProgrammeKind, db, utcnow

bp = Blueprint("public", __name__)


def upcoming(kind: ProgrammeKind, limit: int = 10, community_id: int | None = None) -> list[Occurrence]:
    query = (
        sa.select(Occurrence)
        .join(Programme)
        .where(
            Programme.kind == kind,
            Occurrence.ends_at >= utcnow(),
            Occurrence.status == OccurrenceStatus.SCHEDULED,
        )
        .options(orm.joinedload(Occurrence.venue), orm.joinedload(Occurrence.community))
        .order_by(Occurrence.starts_at, Occurrence.id)
        .limit(limit)
    )
    if community_id is not None:
        query = query.where(Occurrence.community_id == community_id)
    return list(db.session.scalars(query))


@bp.route("/")
def index():
    return render_template(
        "public/index.html",
        contact_days=upcoming(ProgrammeKind.CONTACT_DAY, 5),
        court_days=upcoming(ProgrammeKind.HOLIDAY_COURT, 5),
        clinic_days=upcoming(ProgrammeKind.LEGAL_CLINIC, 5),
    )


def _feed(endpoint: str, title: str, **kwargs) -> dict:
    """What feeds/_public_subscribe.html needs to offer the page's calendar feed."""
    return {"endpoint": endpoint, "kwargs": kwargs, "title": title}


@bp.route("/contact-days")
def contact_days():
    return render_template("public/list.html", kind="contact_day", occurrences=upcoming(ProgrammeKind.CONTACT_DAY, 50),
                           subscribe_feed=_feed("feeds.contact_days", _("Contact days")))


@bp.route("/holiday-court")
def holiday_court():
    return render_template("public/list.html", kind="holiday_court", occurrences=upcoming(ProgrammeKind.HOLIDAY_COURT, 50),
                           subscribe_feed=_feed("feeds.holiday_court", _("Holiday court")))


@bp.route("/legal-clinic")
def legal_clinic():
    return render_template("public/list.html", kind="legal_clinic", occurrences=upcoming(ProgrammeKind.LEGAL_CLINIC, 50),
                           subscribe_feed=_feed("feeds.legal_clinic", _("Legal clinic")))


@bp.route("/communities/<slug>")
def community(slug: str):
    item = db.first_or_404(sa.select(Community).where(Community.slug == slug))
    return render_template(
        "public/community.html",
        community=item,
        contact_days=upcoming(ProgrammeKind.CONTACT_DAY, 12, community_id=item.id),
        subscribe_feed=_feed("feeds.community", item.name, slug=item.slug),
    )
