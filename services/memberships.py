"""Leaving a team. Removing the membership re-issues the team's calendar link (feeds/tokens.py:
the old link may be known to the person who left) and is audited."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from models import PatrolTeam, TeamMembership, User, db, member_label, record

from .errors import RuleViolation


def leave(team_id: int, user_id: int, actor: User | None) -> None:
    """End `user_id`'s membership of `team_id` (the caller commits)."""
    membership = db.session.scalar(
        sa.select(TeamMembership).where(TeamMembership.team_id == team_id, TeamMembership.user_id == user_id)
    )
    if membership is None:
        raise RuleViolation(_("This person is not in the team."), "not_a_member", 404)
    db.session.delete(membership)  # the flush re-issues the team link
    record(actor, "team_membership.remove", "team", team_id, user_id=user_id)
    db.session.flush()


def member_labels(team_id: int) -> dict[int, str]:
    """Every member's number in one team, by user id (one query): T001-007."""
    rows = db.session.execute(
        sa.select(TeamMembership.user_id, TeamMembership.member_number, PatrolTeam.code)
        .join(PatrolTeam, PatrolTeam.id == TeamMembership.team_id)
        .where(TeamMembership.team_id == team_id)
    ).all()
    return {user_id: member_label(code, number) for user_id, number, code in rows}
