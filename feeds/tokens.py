"""Secret tokens of the private feeds: issue, re-issue, revoke, and who may do so.

A token is the whole credential (calendar clients cannot log in), so it is random (192 bits),
never written to the audit log, and a revoked one stops working at once: the feed's probe
query only accepts tokens whose `revoked_at` is NULL, and nothing caches a token's validity.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import orm

from models import (
    AuditLog,
    FeedKind,
    FeedToken,
    MembershipRole,
    PatrolTeam,
    Role,
    TeamMembership,
    User,
    db,
    record,
    utcnow,
)
from services.errors import RuleViolation
from services.transactions import unit_of_work


def _owner_filter(team: PatrolTeam | None, user: User | None):
    if (team is None) == (user is None):
        raise ValueError("a feed token belongs to exactly one team or one user")
    if team is not None:
        return FeedToken.kind == FeedKind.TEAM, FeedToken.team_id == team.id
    return FeedToken.kind == FeedKind.VOLUNTEER, FeedToken.user_id == user.id


def active_token(team: PatrolTeam | None = None, user: User | None = None) -> FeedToken | None:
    return db.session.scalar(sa.select(FeedToken).where(*_owner_filter(team, user), FeedToken.revoked_at.is_(None)))


def ever_issued(team: PatrolTeam | None = None, user: User | None = None) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(*_owner_filter(team, user)))) or False


@unit_of_work
def get_or_issue(team: PatrolTeam | None = None, user: User | None = None) -> FeedToken:
    """The owner's live token, created if there is none (committed).

    Two requests issuing at once cannot both win: a partial unique index allows one live
    token per owner, and the loser reads the winner's token.
    """
    _owner_filter(team, user)
    existing = active_token(team, user)
    if existing is not None:
        return existing
    token = FeedToken(
        kind=FeedKind.TEAM if team is not None else FeedKind.VOLUNTEER,
        team_id=team.id if team is not None else None,
        user_id=user.id if user is not None else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(token)
    except sa.exc.IntegrityError:
        existing = active_token(team, user)
        if existing is None:
            raise
        return existing
    record(
        None,
        "feed_token.issue",
        "feed_token",
        token.id,
        kind=token.kind.value,
        team_id=token.team_id,
        user_id=token.user_id,
    )
    return token


@unit_of_work
def revoke(token: FeedToken, actor: User | None) -> None:
    """Stop the token at once (its URL answers 404 from the next request on)."""
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    db.session.flush()
    record(
        actor,
        "feed_token.revoke",
        "feed_token",
        token.id,
        kind=token.kind.value,
        team_id=token.team_id,
        user_id=token.user_id,
    )


@unit_of_work
def reissue(token: FeedToken, actor: User | None) -> FeedToken:
    """Revoke `token` and issue a new one for the same owner, in one unit of work."""
    revoke(token, actor)
    fresh = get_or_issue(team=token.team, user=token.user)
    record(
        actor,
        "feed_token.reissue",
        "feed_token",
        fresh.id,
        replaces=token.id,
        kind=fresh.kind.value,
        team_id=fresh.team_id,
        user_id=fresh.user_id,
    )
    return fresh


def coordinates(user: User, team_id: int) -> bool:
    return bool(
        db.session.scalar(
            sa.select(
                sa.exists().where(
                    TeamMembership.team_id == team_id,
                    TeamMembership.user_id == user.id,
                    TeamMembership.role == MembershipRole.COORDINATOR,
                )
            )
        )
    )


def may_manage_team(user: User, team: PatrolTeam) -> bool:
    if not user.is_authenticated:
        return False
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.COORDINATOR and coordinates(user, team.id)


def may_manage(user: User, token: FeedToken) -> bool:
    """The volunteer for their own token, a coordinator for their own teams' tokens, admin for any."""
    if not user.is_authenticated:
        return False
    if user.role is Role.ADMIN:
        return True
    if token.kind is FeedKind.VOLUNTEER:
        return token.user_id == user.id
    return user.role is Role.COORDINATOR and coordinates(user, token.team_id)


def require_manage(user: User, token: FeedToken) -> None:
    if not may_manage(user, token):
        raise RuleViolation(_("You may only manage your own calendar links."), "feed_token_forbidden", 403)


# --- leaving a team ---------------------------------------------------------------------------
#
# A team's link is shared by its coordinators with the members (one link per team, so that a
# group chat can subscribe). Anyone who was in the team may therefore know it, so when someone
# leaves (their membership is deleted, or their account deactivated), the link is re-issued: the
# old URL answers 404 from the next request, and the team's coordinators see on the team's link
# page that the link changed and must be passed on again (reissue_notice).

REASON_MEMBER_LEFT = "member_left"


def _teams_left(session: orm.Session) -> set[int]:
    teams = {m.team_id for m in session.deleted if isinstance(m, TeamMembership) and m.team_id is not None}
    for user in session.dirty:
        if isinstance(user, User) and user.id is not None:
            history = sa.inspect(user).attrs["active"].history
            if history.has_changes() and not user.active:
                teams |= set(
                    session.execute(
                        sa.select(TeamMembership.team_id).where(TeamMembership.user_id == user.id)
                    ).scalars()
                )
    return teams


def _reissue_team_links_when_someone_leaves(session: orm.Session, flush_context, instances) -> None:
    with session.no_autoflush:
        teams = _teams_left(session)
        if not teams:
            return
        connection = session.connection()
        live = connection.execute(
            sa.select(FeedToken.__table__.c.id, FeedToken.__table__.c.team_id).where(
                FeedToken.__table__.c.team_id.in_(teams), FeedToken.__table__.c.revoked_at.is_(None)
            )
        ).all()
        if not live:
            return
        now = utcnow()
        # Revoked first (a Core UPDATE, run now), so the one-live-token index admits the new ones.
        connection.execute(
            sa.update(FeedToken.__table__)
            .where(FeedToken.__table__.c.id.in_([row.id for row in live]))
            .values(revoked_at=now)
        )
        revoked = {row.id for row in live}
        for loaded in list(session.identity_map.values()):
            if isinstance(loaded, FeedToken) and loaded.id in revoked:
                orm.attributes.set_committed_value(loaded, "revoked_at", now)
        for row in live:
            fresh = FeedToken(kind=FeedKind.TEAM, team_id=row.team_id)
            session.add(fresh)
            session.add(
                AuditLog(
                    action="feed_token.reissue",
                    entity="feed_token",
                    entity_id=str(row.id),
                    detail={"replaces": row.id, "kind": "team", "team_id": row.team_id, "reason": REASON_MEMBER_LEFT},
                )
            )


def reissue_notice(team: PatrolTeam):
    """When the team's link was last re-issued because someone left, or None."""
    return db.session.scalar(
        sa.select(AuditLog.at)
        .where(AuditLog.action == "feed_token.reissue", AuditLog.entity == "feed_token")
        .where(
            AuditLog.detail["team_id"].as_integer() == team.id,
            AuditLog.detail["reason"].as_string() == REASON_MEMBER_LEFT,
        )
        .order_by(AuditLog.at.desc())
        .limit(1)
    )


if not sa.event.contains(orm.Session, "before_flush", _reissue_team_links_when_someone_leaves):
    sa.event.listen(orm.Session, "before_flush", _reissue_team_links_when_someone_leaves)
