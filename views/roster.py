"""Coordinators' rosters for their own teams. Built out by the roster work (issue 5)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from models import MembershipRole, PatrolTeam, Role, TeamMembership, db

from .access import roles_required

bp = Blueprint("roster", __name__, url_prefix="/roster")


def teams_coordinated_by(user) -> list[PatrolTeam]:
    """The teams a user may manage: all for an admin, their own for a coordinator."""
    query = sa.select(PatrolTeam).order_by(PatrolTeam.code)
    if user.role is not Role.ADMIN:
        query = query.join(TeamMembership).where(
            TeamMembership.user_id == user.id, TeamMembership.role == MembershipRole.COORDINATOR
        )
    return list(db.session.scalars(query))


@bp.route("/")
@roles_required(Role.COORDINATOR)
def index():
    return render_template("roster/index.html", teams=teams_coordinated_by(current_user))
