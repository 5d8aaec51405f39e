"""Administration: programmes, venues, calendar, users and teams. Extended by later issues."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template

from access import admin_required
from models import Community, PatrolTeam, User, Venue, db

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required
def index():
    counts = {
        "communities": db.session.scalar(sa.select(sa.func.count(Community.id))),
        "venues": db.session.scalar(sa.select(sa.func.count(Venue.id))),
        "teams": db.session.scalar(sa.select(sa.func.count(PatrolTeam.id))),
        "users": db.session.scalar(sa.select(sa.func.count(User.id))),
    }
    return render_template("admin/index.html", counts=counts)
