"""Token checks that mutation testing showed no test would defend: who owns a feed token, who may
manage one, what a revoke or re-issue records, the re-issue when someone leaves a team; and the API
token's bearer parsing, its revocation, its owner's account, its usage stamp and the CLI."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_login import AnonymousUserMixin

import api.tokens as api_tokens
from feeds import tokens
from models import ApiToken, AuditLog, FeedKind, FeedToken, MembershipRole, Role, TeamMembership, db, utcnow
from services.errors import RuleViolation
from tests.factories import make_team, make_user


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


def audit(action: str) -> list[AuditLog]:
    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


# --- feed tokens: owners ----------------------------------------------------------------------


def test_a_token_belongs_to_exactly_one_team_or_one_user(app):
    user, team = make_user(), make_team()
    for owner in ({}, {"team": team, "user": user}):
        with pytest.raises(ValueError, match="^a feed token belongs to exactly one team or one user$"):
            tokens.active_token(**owner)
        with pytest.raises(ValueError, match="exactly one team or one user"):
            tokens.ever_issued(**owner)
        with pytest.raises(ValueError, match="exactly one team or one user"):
            tokens.get_or_issue(**owner)
    assert db.session.scalar(sa.select(sa.func.count(FeedToken.id))) == 0


def test_issue_sets_the_owner_and_kind_and_is_audited(app):
    coordinator = make_user(Role.COORDINATOR)
    team = make_team(coordinator=coordinator)
    volunteer = make_user()
    assert tokens.ever_issued(team=team) is False and tokens.ever_issued(user=volunteer) is False
    team_token = tokens.get_or_issue(team=team)
    own_token = tokens.get_or_issue(user=volunteer)
    db.session.commit()
    assert (team_token.kind, team_token.team_id, team_token.user_id) == (FeedKind.TEAM, team.id, None)
    assert (own_token.kind, own_token.user_id, own_token.team_id) == (FeedKind.VOLUNTEER, volunteer.id, None)
    assert tokens.active_token(team=team).id == team_token.id
    assert tokens.active_token(user=volunteer).id == own_token.id
    assert tokens.active_token(user=coordinator) is None and tokens.ever_issued(user=coordinator) is False
    entries = audit("feed_token.issue")
    assert [(e.actor_id, e.entity, e.entity_id, e.detail) for e in entries] == [
        (None, "feed_token", str(team_token.id), {"kind": "team", "team_id": team.id, "user_id": None}),
        (None, "feed_token", str(own_token.id), {"kind": "volunteer", "team_id": None, "user_id": volunteer.id}),
    ]


def test_revoke_is_recorded_once_with_its_actor(app):
    admin = make_user(Role.ADMIN)
    volunteer = make_user()
    token = tokens.get_or_issue(user=volunteer)
    db.session.commit()
    tokens.revoke(token, admin)
    db.session.commit()
    first = token.revoked_at
    assert first is not None and tokens.active_token(user=volunteer) is None
    tokens.revoke(token, admin)  # already revoked: nothing changes, nothing recorded
    db.session.commit()
    assert token.revoked_at == first
    entries = audit("feed_token.revoke")
    assert [(e.actor_id, e.entity, e.entity_id, e.detail) for e in entries] == [
        (admin.id, "feed_token", str(token.id), {"kind": "volunteer", "team_id": None, "user_id": volunteer.id})
    ]
    assert tokens.ever_issued(user=volunteer) is True


def test_reissue_records_what_it_replaces(app):
    coordinator = make_user(Role.COORDINATOR)
    team = make_team(coordinator=coordinator)
    old = tokens.get_or_issue(team=team)
    db.session.commit()
    fresh = tokens.reissue(old, coordinator)
    db.session.commit()
    [entry] = audit("feed_token.reissue")
    assert (entry.actor_id, entry.entity, entry.entity_id) == (coordinator.id, "feed_token", str(fresh.id))
    assert entry.detail == {"replaces": old.id, "kind": "team", "team_id": team.id, "user_id": None}
    assert (fresh.kind, fresh.team_id) == (FeedKind.TEAM, team.id)


# --- feed tokens: who may manage them ---------------------------------------------------------


def test_who_may_manage_which_token(app):
    coordinator = make_user(Role.COORDINATOR)
    member_coordinator = make_user(Role.COORDINATOR)  # a coordinator elsewhere, a plain member here
    volunteer, other = make_user(), make_user()
    admin = make_user(Role.ADMIN)
    team = make_team(coordinator=coordinator, members=[volunteer, member_coordinator])
    make_team(coordinator=member_coordinator)
    # A volunteer recorded as the team's coordinator is still no coordinator (the role decides).
    volunteer_as_coordinator = make_user()
    db.session.add(TeamMembership(team=team, user=volunteer_as_coordinator, role=MembershipRole.COORDINATOR))
    team_token = tokens.get_or_issue(team=team)
    own_token = tokens.get_or_issue(user=volunteer)
    db.session.commit()

    assert tokens.may_manage(AnonymousUserMixin(), own_token) is False
    assert tokens.may_manage(AnonymousUserMixin(), team_token) is False
    assert tokens.may_manage_team(AnonymousUserMixin(), team) is False
    assert tokens.may_manage(admin, own_token) is True and tokens.may_manage(admin, team_token) is True
    assert tokens.may_manage_team(admin, team) is True
    assert tokens.may_manage(volunteer, own_token) is True
    assert tokens.may_manage(other, own_token) is False
    assert tokens.may_manage(volunteer, team_token) is False
    assert tokens.may_manage(coordinator, team_token) is True and tokens.may_manage_team(coordinator, team) is True
    assert tokens.may_manage(coordinator, own_token) is False  # a member's own link is theirs
    assert tokens.may_manage(member_coordinator, team_token) is False
    assert tokens.may_manage_team(member_coordinator, team) is False
    assert tokens.coordinates(member_coordinator, team.id) is False
    assert tokens.coordinates(coordinator, team.id) is True
    assert tokens.coordinates(volunteer_as_coordinator, team.id) is True
    assert tokens.may_manage(volunteer_as_coordinator, team_token) is False
    assert tokens.may_manage_team(volunteer_as_coordinator, team) is False

    tokens.require_manage(volunteer, own_token)
    with pytest.raises(RuleViolation) as refused:
        tokens.require_manage(other, own_token)
    assert (refused.value.code, refused.value.status) == ("feed_token_forbidden", 403)
    assert refused.value.message == "You may only manage your own calendar links."


# --- feed tokens: leaving a team re-issues its link ---------------------------------------------


def _live_team_tokens(team) -> list[FeedToken]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(FeedToken).where(FeedToken.team_id == team.id, FeedToken.revoked_at.is_(None)))
    )


def test_a_member_leaving_reissues_only_that_teams_link(app):
    coordinator = make_user(Role.COORDINATOR)
    leaver = make_user()
    team = make_team(coordinator=coordinator, members=[leaver])
    other_team = make_team(coordinator=coordinator)
    old = tokens.get_or_issue(team=team)
    other_old = tokens.get_or_issue(team=other_team)
    db.session.commit()
    assert tokens.reissue_notice(team) is None
    membership = db.session.scalar(sa.select(TeamMembership).where(TeamMembership.user_id == leaver.id))
    db.session.delete(membership)
    db.session.commit()
    [fresh] = _live_team_tokens(team)
    assert fresh.id != old.id and fresh.kind is FeedKind.TEAM
    assert db.session.get(FeedToken, old.id).revoked_at is not None
    assert [t.id for t in _live_team_tokens(other_team)] == [other_old.id]
    [entry] = audit("feed_token.reissue")
    assert (entry.entity, entry.entity_id) == ("feed_token", str(old.id))
    assert entry.detail == {"replaces": old.id, "kind": "team", "team_id": team.id, "reason": "member_left"}
    assert tokens.reissue_notice(team) == entry.at
    assert tokens.reissue_notice(other_team) is None


def test_deactivation_reissues_but_reactivation_and_other_edits_do_not(app):
    coordinator = make_user(Role.COORDINATOR)
    member = make_user()
    team = make_team(coordinator=coordinator, members=[member])
    old = tokens.get_or_issue(team=team)
    db.session.commit()
    member.name_en = "Renamed"
    db.session.commit()
    assert [t.id for t in _live_team_tokens(team)] == [old.id]
    member.active = False
    db.session.commit()
    [fresh] = _live_team_tokens(team)
    assert fresh.id != old.id
    member.active = True
    db.session.commit()
    assert [t.id for t in _live_team_tokens(team)] == [fresh.id]


def test_a_plain_reissue_is_no_leaving_notice(app):
    coordinator = make_user(Role.COORDINATOR)
    team = make_team(coordinator=coordinator)
    tokens.reissue(tokens.get_or_issue(team=team), coordinator)
    db.session.commit()
    assert tokens.reissue_notice(team) is None


def test_leaving_a_team_without_a_live_link_issues_none(app):
    coordinator = make_user(Role.COORDINATOR)
    leaver = make_user()
    team = make_team(coordinator=coordinator, members=[leaver])
    db.session.commit()
    db.session.delete(db.session.scalar(sa.select(TeamMembership).where(TeamMembership.user_id == leaver.id)))
    db.session.commit()
    assert _live_team_tokens(team) == [] and audit("feed_token.reissue") == []


# --- API tokens -----------------------------------------------------------------------------


def bearer(token: str, scheme: str = "Bearer") -> dict:
    return {"Authorization": f"{scheme} {token}"}


def test_issue_keeps_a_prefixed_token_its_label_and_date(app):
    user = make_user(Role.COORDINATOR)
    token = api_tokens.issue_token(user, "x" * 150)
    db.session.commit()
    stored = db.session.scalar(sa.select(ApiToken))
    assert token.startswith("sip_") and len(token) > 40
    assert stored.user_id == user.id and stored.label == "x" * 100 and stored.created_at is not None
    assert stored.revoked_at is None and stored.last_used_at is None


def test_revoke_counts_only_the_users_live_tokens(app):
    user, other = make_user(Role.COORDINATOR), make_user(Role.COORDINATOR)
    api_tokens.issue_token(user)
    api_tokens.issue_token(user)
    kept = api_tokens.issue_token(other)
    db.session.commit()
    assert api_tokens.revoke_tokens(user) == 2
    db.session.commit()
    assert api_tokens.revoke_tokens(user) == 0
    live = db.session.scalars(sa.select(ApiToken).where(ApiToken.revoked_at.is_(None))).all()
    assert [t.token_sha256 for t in live] == [ApiToken.digest(kept)]


def test_the_scheme_is_case_blind_and_the_token_trimmed(client, app):
    user = make_user(Role.COORDINATOR, email="case@test.example")
    token = api_tokens.issue_token(user)
    db.session.commit()
    for headers in (bearer(token, "bearer"), bearer(token, "BEARER"), bearer(f" {token}  ")):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 200, headers
        assert response.get_json()["email"] == "case@test.example"


@pytest.mark.parametrize("state", ["revoked", "inactive owner", "unknown", "no token", "other scheme"])
def test_each_refusal_says_why_in_a_401(client, app, state):
    user = make_user(Role.COORDINATOR)
    token = api_tokens.issue_token(user)
    db.session.commit()
    headers = bearer(token)
    if state == "revoked":
        api_tokens.revoke_tokens(user)
    elif state == "inactive owner":
        user.active = False
    elif state == "unknown":
        headers = bearer("sip_" + "x" * 43)
    elif state == "no token":
        headers = {"Authorization": "Bearer    "}
    else:
        headers = {"Authorization": f"Token {token}"}
    db.session.commit()
    response = client.get("/api/v1/me?lang=en", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    error = response.get_json()["error"]
    assert (error["status"], error["code"]) == (401, "unauthorized")
    if state in ("no token", "other scheme"):
        assert error["message"] == "Authentication is required: send a valid API token."
    else:
        assert error["message"] == "This API token is not valid or has been revoked."


def _stamp(value):
    db.session.execute(sa.update(ApiToken).values(last_used_at=value))
    db.session.commit()


def _last_used():
    db.session.expire_all()
    return db.session.scalar(sa.select(ApiToken.last_used_at))


def test_the_usage_stamp_is_written_every_five_minutes(client, app):
    user = make_user(Role.COORDINATOR)
    token = api_tokens.issue_token(user)
    db.session.commit()
    recent = utcnow() - dt.timedelta(minutes=4)
    _stamp(recent)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert abs(_last_used() - recent) < dt.timedelta(seconds=1)  # under five minutes: left alone
    old = utcnow() - dt.timedelta(minutes=5, seconds=30)
    _stamp(old)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert _last_used() > utcnow() - dt.timedelta(minutes=1)


def test_views_behind_a_token_are_marked_for_the_openapi_check(app):
    wrapped = api_tokens.token_required(lambda: "ok")
    assert wrapped.token_required is True


def test_cli_refuses_an_inactive_user_and_reports_revocations(app, runner):
    make_user(Role.COORDINATOR, email="gone@test.example", active=False)
    active = make_user(Role.COORDINATOR, email="here@test.example")
    api_tokens.issue_token(active)
    db.session.commit()
    refused = runner.invoke(args=["users", "api-token", "gone@test.example"])
    assert refused.exit_code != 0 and "gone@test.example is not active" in refused.output
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 1
    unknown = runner.invoke(args=["users", "api-token", "nobody@test.example"])
    assert unknown.exit_code != 0 and "no user with email nobody@test.example" in unknown.output
    revoked = runner.invoke(args=["users", "api-token", "here@test.example", "--revoke"])
    assert revoked.exit_code == 0 and revoked.stdout.strip() == "revoked 1 token(s) of here@test.example"
    issued = runner.invoke(args=["users", "api-token", "here@test.example"])
    assert issued.exit_code == 0 and issued.stdout.strip().startswith("sip_")
    assert "API token for here@test.example (coordinator); it is shown only now" in issued.stderr
    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiToken.label).where(ApiToken.revoked_at.is_(None))) == ""


def test_the_notice_is_the_latest_leaving(app):
    coordinator = make_user(Role.COORDINATOR)
    first, second = make_user(), make_user()
    team = make_team(coordinator=coordinator, members=[first, second])
    tokens.get_or_issue(team=team)
    db.session.commit()
    first.active = False
    db.session.commit()
    earlier = tokens.reissue_notice(team)
    second.active = False
    db.session.commit()
    entries = audit("feed_token.reissue")
    assert len(entries) == 2 and entries[1].at > earlier
    assert tokens.reissue_notice(team) == entries[1].at


def test_only_leaving_people_reissue_and_every_team_they_left(app):
    coordinator = make_user(Role.COORDINATOR)
    leaver, deactivated, stays = make_user(), make_user(), make_user()
    left_team = make_team(coordinator=coordinator, members=[leaver])
    deactivated_team = make_team(coordinator=coordinator, members=[deactivated])
    other_team = make_team(coordinator=coordinator, members=[stays])
    old = {team.id: tokens.get_or_issue(team=team) for team in (left_team, deactivated_team, other_team)}
    db.session.commit()
    # One flush: a membership deleted and another person deactivated; both teams get new links.
    db.session.delete(db.session.scalar(sa.select(TeamMembership).where(TeamMembership.user_id == leaver.id)))
    deactivated.active = False
    db.session.flush()
    assert old[left_team.id].revoked_at is not None  # the loaded objects see it before the commit
    assert old[deactivated_team.id].revoked_at is not None and old[other_team.id].revoked_at is None
    db.session.commit()
    for team in (left_team, deactivated_team):
        [fresh] = _live_team_tokens(team)
        assert fresh.id != old[team.id].id
    assert [t.id for t in _live_team_tokens(other_team)] == [old[other_team.id].id]


def test_deleting_a_teams_shift_is_nobody_leaving(app):
    from tests.factories import make_shift

    coordinator = make_user(Role.COORDINATOR)
    team = make_team(coordinator=coordinator)
    shift = make_shift(team, utcnow() + dt.timedelta(days=3))
    old = tokens.get_or_issue(team=team)
    db.session.commit()
    db.session.delete(shift)
    db.session.commit()
    assert [t.id for t in _live_team_tokens(team)] == [old.id]
