"""Public pages for residents (no login): what is next, calendars, hearings, clinics, communities, search."""

from __future__ import annotations

import calendar
import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, make_response, render_template, request, send_from_directory
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import orm

import inputs
from i18n import current_language
from models import (
    Community,
    HearingNotice,
    Occurrence,
    OccurrenceStatus,
    Programme,
    ProgrammeKind,
    SeriesSite,
    Subdistrict,
    Venue,
    db,
    utcnow,
)
from services import clinic as clinic_service
from services import search as community_search
from timeutil import LOCAL_TZ, local_today, to_local

from .page_cache import cached_page

bp = Blueprint("public", __name__)

COMMUNITY_COOKIE = "community"
PER_PAGE = 20
SEARCH_MAX = 100


# ---------------------------------------------------------------- template helpers


@bp.app_template_filter("date_words")
def date_words(value: dt.datetime | dt.date) -> str:
    """ "Sunday 10 January" / "1月10日星期日"; the year is added when it is not this year."""
    day = to_local(value).date() if isinstance(value, dt.datetime) else value
    same_year = day.year == local_today().year
    if current_language() == "en":
        pattern = "EEEE d MMMM" if same_year else "EEEE d MMMM y"
    else:
        pattern = "M月d日EEEE" if same_year else "y年M月d日EEEE"
    return format_date(day, pattern)


@bp.app_template_filter("hours")
def hours(item) -> str:
    """Local wall-clock span of anything with starts_at/ends_at: "09:00–11:30"."""
    return f"{to_local(item.starts_at):%H:%M}–{to_local(item.ends_at):%H:%M}"


@bp.app_template_filter("local_day")
def local_day(value: dt.datetime) -> dt.date:
    return to_local(value).date()


def officials_of(occurrence: Occurrence) -> list:
    """Who is expected: the session's own list, else its site's standing list."""
    if occurrence.officials:
        return list(occurrence.officials)
    return list(occurrence.site.officials) if occurrence.site is not None else []


def moved_from(occurrence) -> dt.date | None:
    """The date the rule gave a session that now takes place on another day (moved by hand or by
    the holiday policy), so pages can say "Moved from Sunday 13 December"; None otherwise."""
    rule_date = getattr(occurrence, "rule_date", None)
    if rule_date is None or to_local(occurrence.starts_at).date() == rule_date:
        return None
    return rule_date


@bp.app_context_processor
def public_helpers():
    return {"officials_of": officials_of, "moved_from": moved_from}


# ---------------------------------------------------------------- queries


def occurrence_query(kind: ProgrammeKind, details: bool = True) -> sa.Select:
    """Sessions of `kind` in time order; `details`: with what a session card shows (venue,
    community, officials), loaded in a fixed number of queries."""
    query = sa.select(Occurrence).join(Programme).where(Programme.kind == kind)
    if details:
        query = query.options(
            orm.joinedload(Occurrence.venue),
            orm.joinedload(Occurrence.community).joinedload(Community.subdistrict),
            orm.selectinload(Occurrence.officials),
            orm.selectinload(Occurrence.site).selectinload(SeriesSite.officials),
        )
    return query.order_by(Occurrence.starts_at, Occurrence.id)


def upcoming_query(
    kind: ProgrammeKind,
    community_id: int | None = None,
    subdistrict_id: int | None = None,
    include_cancelled: bool = True,
    details: bool = True,
) -> sa.Select:
    """Sessions not yet over. Cancelled ones stay listed (marked), so nobody travels for nothing."""
    query = occurrence_query(kind, details).where(Occurrence.ends_at >= utcnow())
    if not include_cancelled:
        query = query.where(Occurrence.status == OccurrenceStatus.SCHEDULED)
    if community_id is not None:
        query = query.where(Occurrence.community_id == community_id)
    if subdistrict_id is not None:
        query = query.where(
            Occurrence.community_id.in_(sa.select(Community.id).where(Community.subdistrict_id == subdistrict_id))
        )
    return query


def upcoming(kind: ProgrammeKind, limit: int = 10, community_id: int | None = None) -> list[Occurrence]:
    return list(db.session.scalars(upcoming_query(kind, community_id).limit(limit)))


def _next_day_query(kind: ProgrammeKind) -> tuple[dt.date | None, sa.Select | None]:
    """The next local date with a scheduled session of `kind`, and the query of that date's sessions
    (without loader options: the home page shows times and venues only)."""
    scheduled = upcoming_query(kind, include_cancelled=False, details=False)
    first = db.session.scalar(scheduled.with_only_columns(Occurrence.starts_at).limit(1))
    if first is None:
        return None, None
    day = to_local(first).date()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=LOCAL_TZ)
    return day, scheduled.where(Occurrence.starts_at >= start, Occurrence.starts_at < start + dt.timedelta(days=1))


def next_day(kind: ProgrammeKind) -> tuple[dt.date | None, list[Occurrence]]:
    """The next local date with a scheduled session of `kind`, and its sessions with their venues."""
    day, query = _next_day_query(kind)
    if query is None:
        return None, []
    return day, list(db.session.scalars(query.options(orm.joinedload(Occurrence.venue))))


def next_day_count(kind: ProgrammeKind) -> tuple[dt.date | None, int]:
    """The next local date with a scheduled session of `kind`, and how many sessions it has."""
    day, query = _next_day_query(kind)
    if query is None:
        return None, 0
    return day, db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))


def subdistricts_with_communities() -> list[Subdistrict]:
    return list(
        db.session.scalars(
            sa.select(Subdistrict).options(orm.selectinload(Subdistrict.communities)).order_by(Subdistrict.id)
        )
    )


def _by_slug(model, slug: str | None):
    """A row by slug from a filter; an unknown slug is a 404 (a stale or mistyped link)."""
    if not slug:
        return None
    item = db.session.scalar(sa.select(model).where(model.slug == slug))
    if item is None:
        abort(404)
    return item


def _page_number() -> int:
    return inputs.page_arg()


# ---------------------------------------------------------------- pages


@bp.route("/favicon.ico")
def favicon():
    """Browsers and crawlers ask for /favicon.ico whatever the page links; a 404 is a console error."""
    response = send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=7 * 24 * 3600
    )
    return response


@bp.route("/")
@cached_page(cookies=(COMMUNITY_COOKIE,))
def index():
    chosen_slug = request.args.get("community") or request.cookies.get(COMMUNITY_COOKIE)
    chosen = None
    if chosen_slug:
        chosen = db.session.scalar(sa.select(Community).where(Community.slug == chosen_slug))
        if chosen is None and request.args.get("community"):
            abort(404)
    next_in_community = None
    changed_before: list[Occurrence] = []
    if chosen is not None:
        next_in_community = db.session.scalar(
            upcoming_query(ProgrammeKind.CONTACT_DAY, community_id=chosen.id, include_cancelled=False).limit(1)
        )
        # A cancelled session before the next one is said, not skipped silently.
        changed_before = [
            o
            for o in db.session.scalars(upcoming_query(ProgrammeKind.CONTACT_DAY, community_id=chosen.id).limit(3))
            if o.status is OccurrenceStatus.CANCELLED
            and (next_in_community is None or o.starts_at < next_in_community.starts_at)
        ]
    contact_day, contact_count = next_day_count(ProgrammeKind.CONTACT_DAY)
    court_day, court_sessions = next_day(ProgrammeKind.HOLIDAY_COURT)
    clinic_day, clinic_sessions = next_day(ProgrammeKind.LEGAL_CLINIC)
    response = make_response(
        render_template(
            "public/index.html",
            subdistricts=subdistricts_with_communities(),
            chosen=chosen,
            next_in_community=next_in_community,
            changed_before=changed_before,
            contact_day=contact_day,
            contact_count=contact_count,
            court_day=court_day,
            court_sessions=court_sessions,
            clinic_day=clinic_day,
            clinic_sessions=clinic_sessions,
        )
    )
    if chosen is not None and request.args.get("community") and request.cookies.get(COMMUNITY_COOKIE) != chosen.slug:
        # "My community" is remembered like the language, so the home page opens on it next time
        # (set once: a response without a cookie may come from the page cache).
        response.set_cookie(COMMUNITY_COOKIE, chosen.slug, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@bp.route("/contact-days")
@cached_page()
def contact_days():
    subdistrict = _by_slug(Subdistrict, request.args.get("subdistrict"))
    community = _by_slug(Community, request.args.get("community"))
    view = request.args.get("view", "list")
    if view not in ("list", "month"):
        abort(404)
    context = {
        "subdistricts": subdistricts_with_communities(),
        "subdistrict": subdistrict,
        "community": community,
        "view": view,
        "filter_args": {k: v.slug for k, v in (("subdistrict", subdistrict), ("community", community)) if v},
        "subscribe_feed": {"endpoint": "feeds.contact_days", "kwargs": {}, "title": _("Contact days")},
    }
    if community is not None:
        context["subscribe_feed"] = {
            "endpoint": "feeds.community",
            "kwargs": {"slug": community.slug},
            "title": community.name,
        }
    if view == "month":
        return _month_view(context, subdistrict, community)
    page = db.paginate(
        upcoming_query(
            ProgrammeKind.CONTACT_DAY,
            community_id=community.id if community else None,
            subdistrict_id=subdistrict.id if subdistrict else None,
        ),
        page=_page_number(),
        per_page=PER_PAGE,
    )
    return render_template("public/contact_days.html", page=page, **context)


def _month_view(context: dict, subdistrict, community):
    month_arg = request.args.get("month")
    if month_arg:
        parsed = inputs.parse_month(month_arg)
        if parsed is None:
            return render_template(
                "public/contact_days.html",
                error=_("Please give the month as year and month, e.g. 2027-01."),
                page=None,
                **context,
            ), 400
        first = dt.date(*parsed, 1)
    else:
        first = local_today().replace(day=1)
    last = dt.date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
    start = dt.datetime.combine(first, dt.time(0), tzinfo=LOCAL_TZ)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL_TZ)
    query = occurrence_query(ProgrammeKind.CONTACT_DAY).where(Occurrence.starts_at >= start, Occurrence.starts_at < end)
    if community is not None:
        query = query.where(Occurrence.community_id == community.id)
    if subdistrict is not None:
        query = query.where(
            Occurrence.community_id.in_(sa.select(Community.id).where(Community.subdistrict_id == subdistrict.id))
        )
    by_day: dict[dt.date, list[Occurrence]] = {}
    for occurrence in db.session.scalars(query):
        by_day.setdefault(to_local(occurrence.starts_at).date(), []).append(occurrence)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = last + dt.timedelta(days=1)
    return render_template(
        "public/contact_days.html",
        page=None,
        month=first,
        month_title=format_date(first, "LLLL y" if current_language() == "en" else "y年M月"),
        weekdays=weeks[0],
        weeks=weeks,
        by_day=by_day,
        previous_month=f"{previous:%Y-%m}",
        next_month=f"{following:%Y-%m}",
        today=local_today(),
        **context,
    )


SITTINGS_SHOWN = 12
MONTH_MAX = 400  # a month of sittings in every courtroom, with room to spare: never cut silently


class BadWindow(ValueError):
    """A month or date filter that cannot be read; the page answers 400 with a message."""


def _window() -> dict:
    """Which stretch of sessions a list shows: `month=YYYY-MM` (that whole month),
    `from=YYYY-MM-DD` (from that day on), else from today on. Both bounded to 2000-2100."""
    month_arg, from_arg = request.args.get("month"), request.args.get("from")
    today = local_today()
    if month_arg:
        parsed = inputs.parse_month(month_arg)
        if parsed is None:
            raise BadWindow(_("Please give the month as year and month, e.g. 2027-01."))
        first, last = inputs.month_bounds(*parsed)
        start, end, mode = first, last + dt.timedelta(days=1), "month"
    elif from_arg:
        start = inputs.parse_date(from_arg)
        if start is None:
            raise BadWindow(_("Please give the date as year-month-day, e.g. 2027-01-31."))
        first, end, mode = start.replace(day=1), None, "from"
    else:
        start, first, end, mode = today, today.replace(day=1), None, "upcoming"
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return {
        "mode": mode,
        "start": start,
        "end": end,
        "month": first,
        "month_title": format_date(first, "LLLL y" if current_language() == "en" else "y年M月"),
        "previous_month": f"{previous:%Y-%m}",
        "next_month": f"{following:%Y-%m}",
        "from_value": start.isoformat() if mode == "from" else "",
    }


def _in_window(query: sa.Select, model, window: dict) -> sa.Select:
    start = dt.datetime.combine(window["start"], dt.time(0), tzinfo=LOCAL_TZ)
    # Today's list keeps sessions still running; a chosen day or month starts at its midnight.
    query = (
        query.where(model.ends_at >= utcnow())
        if window["mode"] == "upcoming"
        else query.where(model.starts_at >= start)
    )
    if window["end"] is not None:
        query = query.where(model.starts_at < dt.datetime.combine(window["end"], dt.time(0), tzinfo=LOCAL_TZ))
    return query


def _bad_window(template: str, message: str, **context):
    return render_template(template, window_error=message, window=None, **context), 400


@bp.route("/holiday-court")
@cached_page()
def holiday_court():
    feed = {"endpoint": "feeds.holiday_court", "kwargs": {}, "title": _("Holiday court")}
    notices = db.paginate(
        sa.select(HearingNotice)
        .where(HearingNotice.ends_at >= utcnow())
        .options(orm.joinedload(HearingNotice.courtroom), orm.joinedload(HearingNotice.occurrence))
        .order_by(HearingNotice.starts_at, HearingNotice.id),
        page=_page_number(),
        per_page=25,
    )
    try:
        window = _window()
    except BadWindow as error:
        return _bad_window(
            "public/holiday_court.html", str(error), notices=notices, sittings=[], later=None, subscribe_feed=feed
        )
    # A month is shown whole; otherwise the next sitting days and a link to the ones after them.
    limit = MONTH_MAX if window["mode"] == "month" else SITTINGS_SHOWN
    sittings = list(
        db.session.scalars(
            _in_window(occurrence_query(ProgrammeKind.HOLIDAY_COURT), Occurrence, window).limit(limit + 1)
        )
    )
    later = None
    if window["mode"] != "month" and len(sittings) > limit:
        sittings = sittings[:limit]
        later = (to_local(sittings[-1].starts_at).date() + dt.timedelta(days=1)).isoformat()
    return render_template(
        "public/holiday_court.html",
        notices=notices,
        sittings=sittings[:limit],
        window=window,
        later=later,
        subscribe_feed=feed,
    )


@bp.route("/legal-clinic")
@cached_page()
def legal_clinic():
    feed = {"endpoint": "feeds.legal_clinic", "kwargs": {}, "title": _("Legal clinic")}
    try:
        window = _window()
    except BadWindow as error:
        return _bad_window("public/legal_clinic.html", str(error), page=None, free={}, subscribe_feed=feed)
    page = db.paginate(
        _in_window(occurrence_query(ProgrammeKind.LEGAL_CLINIC), Occurrence, window),
        page=_page_number(),
        per_page=PER_PAGE,
    )
    return render_template(
        "public/legal_clinic.html",
        page=page,
        window=window,
        free=clinic_service.free_places(page.items),
        subscribe_feed=feed,
    )


@bp.route("/sessions/<id:occurrence_id>")
@cached_page()
def session(occurrence_id: int):
    occurrence = db.session.scalar(
        sa.select(Occurrence)
        .join(Programme)
        .where(Occurrence.id == occurrence_id, Programme.is_public)
        .options(orm.joinedload(Occurrence.venue), orm.joinedload(Occurrence.community))
    )
    if occurrence is None:  # patrol shifts and unknown ids alike: nothing to see here
        abort(404)
    notices = []
    if occurrence.programme.kind is ProgrammeKind.HOLIDAY_COURT:
        notices = list(
            db.session.scalars(
                sa.select(HearingNotice)
                .where(HearingNotice.occurrence_id == occurrence.id)
                .order_by(HearingNotice.starts_at, HearingNotice.id)
            )
        )
    return render_template(
        "public/session.html",
        occurrence=occurrence,
        notices=notices,
        is_past=occurrence.ends_at < utcnow(),
    )


@bp.route("/communities")
@cached_page()
def communities():
    return render_template("public/communities.html", subdistricts=subdistricts_with_communities())


@bp.route("/communities/<slug>")
@cached_page()
def community(slug: str):
    item = db.first_or_404(
        sa.select(Community).where(Community.slug == slug).options(orm.selectinload(Community.venues))
    )
    return render_template(
        "public/community.html",
        community=item,
        contact_days=upcoming(ProgrammeKind.CONTACT_DAY, 6, community_id=item.id),
        subscribe_feed={"endpoint": "feeds.community", "kwargs": {"slug": item.slug}, "title": item.name},
    )


@bp.route("/search")
def search():
    q = (request.args.get("q") or "").strip()
    if len(q) > SEARCH_MAX:
        return render_template(
            "public/search.html",
            q=q[:SEARCH_MAX],
            error=_("Please search with at most %(max)d characters.", max=SEARCH_MAX),
            hits=[],
            venues=None,
        ), 400
    hits = []
    venues = None
    if q:
        hits = community_search.find_communities(q)
        venues = db.paginate(
            sa.select(Venue)
            .where(
                sa.or_(
                    *(
                        column.icontains(q, autoescape=True)
                        for column in (Venue.name_zh, Venue.name_en, Venue.address_zh, Venue.address_en)
                    )
                )
            )
            .options(orm.joinedload(Venue.community))
            .order_by(Venue.slug),
            page=_page_number(),
            per_page=PER_PAGE,
        )
    return render_template("public/search.html", q=q, hits=hits, venues=venues, error=None)
