"""An official's own pages: the contact days they are assigned to, and their private calendar link."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import orm

import inputs
from access import roles_required
from models import Occurrence, Role, db, occurrence_officials, utcnow

bp = Blueprint("official", __name__, url_prefix="/official")
PER_PAGE = 20


def _mine(user_id: int):
    """The user's own occurrences only: the join on occurrence_officials is the access rule."""
    return (
        sa.select(Occurrence)
        .join(occurrence_officials, occurrence_officials.c.occurrence_id == Occurrence.id)
        .where(occurrence_officials.c.user_id == user_id)
        .options(orm.joinedload(Occurrence.venue), orm.joinedload(Occurrence.community))
    )


@bp.get("/")
@roles_required(Role.OFFICIAL)
def index():
    """Upcoming contact days first (soonest first), then past ones (latest first), paginated."""
    now = utcnow()
    upcoming = Occurrence.ends_at >= now
    query = _mine(current_user.id).order_by(
        sa.case((upcoming, 0), else_=1),
        sa.case((upcoming, Occurrence.starts_at)),
        Occurrence.starts_at.desc(),
        Occurrence.id,
    )
    page = db.paginate(query, page=inputs.page_arg(), per_page=PER_PAGE, max_per_page=100)
    return render_template("official/index.html", page=page, now=now)
