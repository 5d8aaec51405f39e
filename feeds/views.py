"""Feed routes: the subscription feeds, a one-event download, and managing private links."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import orm

import inputs
from access import roles_required
from http_cache import GZIP_SUFFIX, etag_matches, wants_gzip
from i18n import current_language, normalise_language
from models import (
    PUBLIC_PROGRAMME_KINDS,
    FeedKind,
    FeedToken,
    PatrolTeam,
    ProgrammeKind,
    Role,
    User,
    db,
)
from services.assignments import coordinated_teams
from services.errors import RuleViolation

from . import sources, tokens
from .cache import body_etag, resolve
from .calendar import render
from .links import base_url, subscription
from .sources import CommunityFeed, Links, OfficialFeed, ProgrammeFeed, TeamFeed, VolunteerFeed

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

# Clients may reuse a response this long without asking; then they revalidate (a cheap 304).
MAX_AGE = 300
_PUBLIC_CACHE = f"public, max-age={MAX_AGE}"
_PRIVATE_CACHE = f"private, max-age={MAX_AGE}"
MAX_TOKEN_LENGTH = 64

_PROGRAMME_FEEDS = {kind: ProgrammeFeed(kind) for kind in PUBLIC_PROGRAMME_KINDS}


def feed_language() -> str:
    """Feeds are Chinese unless the URL says ?lang=en: one URL, one body, whatever the client sends."""
    if not request.query_string:  # what nearly every polling client sends
        return "zh_CN"
    return "en" if normalise_language(request.args.get("lang")) == "en" else "zh_CN"


def _not_modified_check():
    """The request's validator test, or None for an unconditional request.

    If-None-Match wins over If-Modified-Since (RFC 9110, 13.2.2); weak comparison for GET.
    The identity and the gzipped representation carry different ETags (`"tag"`, `"tag:gzip"`);
    either one sent back means the client holds the current content.
    """
    if_none_match = request.environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        return lambda etag, changed_at: etag_matches(etag, if_none_match)
    since = request.if_modified_since
    if since is not None:
        return lambda etag, changed_at: changed_at <= since
    return None


class _NotModified(Response):
    default_mimetype = None  # a 304 has no body, so no Content-Type


def serve(source) -> Response:
    not_modified = _not_modified_check()
    entry = resolve(
        source, sources.current_window(public=not source.private), feed_language(), base_url(), not_modified
    )
    if entry is None:
        abort(404)
    if not source.private:
        g.body_ignores_cookies = True  # no `Vary: Cookie` (see feeds/http.py)
    cache_control = _PRIVATE_CACHE if source.private else _PUBLIC_CACHE
    # The representation this request gets: gzipped when the client accepts it (both are cached per
    # body). 304s carry the ETag a 200 to the same request would carry (RFC 9110, 15.4.5).
    gzipped = wants_gzip()
    etag = f'"{entry.etag}{GZIP_SUFFIX}"' if gzipped else entry.quoted_etag  # precomputed: the hot path
    if not_modified is not None and not_modified(entry.etag, entry.changed_at):
        # What a cache needs to refresh its stored copy (RFC 9110, 15.4.5), and no more.
        return _NotModified(status=304, headers=[("ETag", etag), ("Cache-Control", cache_control)])
    body = entry.body
    headers = [
        ("ETag", etag),
        ("Last-Modified", entry.last_modified),
        ("Cache-Control", cache_control),
        # `inline` (or nothing) keeps browsers and phones subscribing; `attachment` makes them download.
        ("Content-Disposition", f'inline; filename="{source.filename}"'),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if source.private:
        # The token is the credential: keep it out of Referer headers and search engines.
        headers += [("Referrer-Policy", "no-referrer"), ("X-Robots-Tag", "noindex, nofollow")]
    else:
        headers.append(("Access-Control-Allow-Origin", "*"))  # web calendar apps fetch from the browser
    if gzipped:
        # Done here rather than by Flask-Compress: the gzipped bytes are kept with the cached body.
        body = entry.gzipped(current_app.config.get("COMPRESS_LEVEL", 6))
        headers.append(("Content-Encoding", "gzip"))
    return Response(body, status=200, content_type="text/calendar; charset=utf-8", headers=headers)


@bp.get("/contact-days.ics")
def contact_days():
    return serve(_PROGRAMME_FEEDS[ProgrammeKind.CONTACT_DAY])


@bp.get("/holiday-court.ics")
def holiday_court():
    return serve(_PROGRAMME_FEEDS[ProgrammeKind.HOLIDAY_COURT])


@bp.get("/legal-clinic.ics")
def legal_clinic():
    return serve(_PROGRAMME_FEEDS[ProgrammeKind.LEGAL_CLINIC])


@bp.get("/communities/<slug>.ics")
def community(slug: str):
    if len(slug) > 64:
        abort(404)
    return serve(CommunityFeed(slug))


@bp.get("/t/<token>.ics")
def team(token: str):
    if len(token) > MAX_TOKEN_LENGTH:
        abort(404)
    return serve(TeamFeed(token))


@bp.get("/v/<token>.ics")
def volunteer(token: str):
    if len(token) > MAX_TOKEN_LENGTH:
        abort(404)
    return serve(VolunteerFeed(token))


@bp.get("/o/<token>.ics")
def official(token: str):
    if len(token) > MAX_TOKEN_LENGTH:
        abort(404)
    return serve(OfficialFeed(token))


@bp.get("/occurrences/<uid>.ics")
def occurrence_ics(uid: str):
    """One public session (or public hearing) as a file to import: `attachment` is right here."""
    if len(uid) > 64:
        abort(404)
    lang = feed_language()
    with force_locale("en" if lang == "en" else "zh_CN"):
        found = sources.one_event(uid, lang, Links(base_url(), lang))
    if found is None:
        abort(404)
    meta, events, filename = found
    body = render(meta, events)
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = _PUBLIC_CACHE
    response.set_etag(body_etag(body))
    return response.make_conditional(request)


# --- managing private links ------------------------------------------------------------------


def _back(default: str) -> Response:
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return redirect(target)
    return redirect(default)


def my_feed(user) -> FeedToken | None:
    """The user's live token, if any. Pages only read: a token is issued by an explicit POST."""
    return tokens.active_token(user=user)


def team_feed(team: PatrolTeam) -> FeedToken | None:
    return tokens.active_token(team=team)


def may_have_personal_feed(user) -> bool:
    return user.is_authenticated and user.role in (Role.VOLUNTEER, Role.COORDINATOR, Role.OFFICIAL)


@bp.app_template_global("feed_subscription")
def feed_subscription(endpoint: str, kwargs: dict | None = None, title: str = ""):
    return subscription(endpoint, title=title, lang=current_language(), **(kwargs or {}))


@bp.app_template_global("personal_feed")
def personal_feed(user):
    """(token, subscription, ever_issued) for the volunteer's own feed; (None, None, ...) without a live one."""
    if not may_have_personal_feed(user):
        return None, None, False
    token = my_feed(user)
    if token is None:
        return None, None, tokens.ever_issued(user=user)
    endpoint = "feeds.official" if user.role is Role.OFFICIAL else "feeds.volunteer"
    return token, subscription(endpoint, lang=current_language(), token=token.token), True


def _teams_of(user):
    return coordinated_teams(user).order_by(PatrolTeam.code)


@bp.app_template_global("coordinates_teams")
def coordinates_teams(user) -> bool:
    if not user.is_authenticated or user.role not in (Role.ADMIN, Role.COORDINATOR):
        return False
    return db.session.scalar(sa.select(sa.exists(_teams_of(user).subquery()))) or False


def _token_or_404(token_id: int) -> FeedToken:
    token = db.get_or_404(FeedToken, token_id)
    try:
        tokens.require_manage(current_user, token)
    except RuleViolation:
        abort(403)
    return token


def _default_page(token: FeedToken) -> str:
    if token.kind is FeedKind.TEAM:
        return url_for("feeds.team_page", team_id=token.team_id)
    if token.user_id == current_user.id:
        return url_for("official.index" if current_user.role is Role.OFFICIAL else "volunteer.index")
    return url_for("feeds.token_list")


@bp.post("/me/issue")
@roles_required(Role.VOLUNTEER, Role.COORDINATOR, Role.OFFICIAL)
def issue_mine():
    tokens.get_or_issue(user=current_user)
    flash(_("Your calendar link is ready."), "success")
    return _back(url_for("official.index" if current_user.role is Role.OFFICIAL else "volunteer.index"))


@bp.post("/teams/<id:team_id>/issue")
@roles_required(Role.COORDINATOR)
def issue_team(team_id: int):
    item = db.get_or_404(PatrolTeam, team_id)
    if not tokens.may_manage_team(current_user, item):
        abort(403)
    tokens.get_or_issue(team=item)
    flash(_("The team's calendar link is ready."), "success")
    return _back(url_for("feeds.team_page", team_id=item.id))


@bp.post("/tokens/<id:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = _token_or_404(token_id)
    tokens.revoke(token, current_user)
    flash(_("The calendar link was turned off. Calendars subscribed to it stop updating."), "success")
    return _back(_default_page(token))


@bp.post("/tokens/<id:token_id>/reissue")
@login_required
def reissue_token(token_id: int):
    token = _token_or_404(token_id)
    if not token.is_active:
        flash(_("This link was already turned off."), "warning")
        return _back(_default_page(token))
    tokens.reissue(token, current_user)
    flash(
        _("A new calendar link was created. The old link no longer works: subscribe again with the new one."), "success"
    )
    return _back(_default_page(token))


@bp.get("/teams")
@roles_required(Role.COORDINATOR)
def team_list():
    page = db.paginate(_teams_of(current_user), page=inputs.page_arg(), per_page=30, max_per_page=100)
    return render_template("feeds/teams.html", page=page)


@bp.get("/teams/<id:team_id>")
@roles_required(Role.COORDINATOR)
def team_page(team_id: int):
    item = db.get_or_404(PatrolTeam, team_id)
    if not tokens.may_manage_team(current_user, item):
        abort(403)
    token = team_feed(item)
    ever_issued = token is not None or tokens.ever_issued(team=item)
    link = None
    if token is not None:
        link = subscription("feeds.team", title=item.name, lang=current_language(), token=token.token)
    return render_template(
        "feeds/team.html",
        team=item,
        token=token,
        link=link,
        ever_issued=ever_issued,
        replaced_at=tokens.reissue_notice(item),
    )


@bp.get("/tokens")
@roles_required(Role.ADMIN)
def token_list():
    """Admin: every live private link, to turn one off (a lost phone, a volunteer who left)."""
    query = (
        sa.select(FeedToken)
        .outerjoin(User, User.id == FeedToken.user_id)
        .outerjoin(PatrolTeam, PatrolTeam.id == FeedToken.team_id)
        .where(FeedToken.revoked_at.is_(None))
        .options(orm.selectinload(FeedToken.team), orm.selectinload(FeedToken.user))
        .order_by(FeedToken.kind, PatrolTeam.code, User.email)
    )
    search = (request.args.get("q") or "").strip().lower()[:100]
    if search:
        query = query.where(
            sa.or_(
                User.email.contains(search, autoescape=True),
                sa.func.lower(PatrolTeam.code).contains(search, autoescape=True),
            )
        )
    page = db.paginate(query, page=inputs.page_arg(), per_page=50, max_per_page=100)
    return render_template("feeds/tokens.html", page=page, search=search)


if os.environ.get("BENCH_BARE_ROUTE") == "1":
    # Only for bench/feeds.py: the cheapest possible Flask route, measured beside the feeds.
    @bp.get("/_bare")
    def bare():
        return Response("ok", content_type="text/plain")
