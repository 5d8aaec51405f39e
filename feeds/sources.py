"""What each feed contains, read straight from the database rows the scheduler wrote.

Every source answers two questions:
- `probe(window)`: one aggregate query (run by feeds/probes.py, skipped while nothing at all
  has been committed) that says whether the feed exists (a live token, a known community) and
  fingerprints the database state its body depends on. The cache and the HTTP validators hang
  off this fingerprint, so it must change whenever the body would:
  rows entering or leaving the window (count, sum of ids), moves and cancellations
  (`last_modified`, `sequence`), any edit of the rows or of the venues, communities, teams,
  programmes and officials shown with them (`updated_at`), and officials added or removed.
- `build(owner, window, lang, links)`: the calendar's metadata and its events.

Privacy is decided here. Public sources read occurrences of the three public programmes and
public hearing notices only, never shifts, and name nobody but the officials attending a contact
day. The team source shows its shifts with area and head count, nobody's name or phone; the
volunteer source shows that volunteer's own assigned shifts.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _

from i18n import localized, pick
from models import (
    Assignment,
    AssignmentStatus,
    Community,
    FeedKind,
    FeedToken,
    HearingNotice,
    Occurrence,
    OccurrenceStatus,
    PatrolTeam,
    Programme,
    ProgrammeKind,
    Shift,
    ShiftStatus,
    User,
    Venue,
    db,
    occurrence_officials,
    public_kind,
)
from scheduler.holiday_years import ConfirmedYears
from timeutil import LOCAL_TZ, local_today, to_local

from .calendar import CANCELLED, CONFIRMED, TENTATIVE, FeedEvent, FeedMeta
from .probes import ProbeStatement

DAYS_BACK = 30
# No session or shift lasts this long. Bounding start times on both sides lets every window
# query use a (…, starts_at) index range instead of reading the whole history.
SPAN_LIMIT = dt.timedelta(days=2)


def _format_version() -> str:
    """Changes with the code, library and catalogues that write the feeds: validators stored
    before a deploy that changes the output must stop matching (no 304 for an old format)."""
    import holidays
    import icalendar

    # The holidays package decides which years are confirmed (STATUS:TENTATIVE or CONFIRMED).
    digest = hashlib.sha256(f"{icalendar.__version__}|{holidays.__version__}".encode())
    here = Path(__file__).resolve().parent
    for path in sorted(
        [here / "calendar.py", here / "sources.py", *(here.parent / "translations").glob("*/LC_MESSAGES/messages.mo")]
    ):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


FORMAT_VERSION = _format_version()

o = Occurrence.__table__
p = Programme.__table__
v = Venue.__table__
c = Community.__table__
oo = occurrence_officials
u = User.__table__
h = HearingNotice.__table__
s = Shift.__table__
t = PatrolTeam.__table__
a = Assignment.__table__
ft = FeedToken.__table__
_public_programmes = Programme.__table__.alias("public_programmes")


@dataclass(frozen=True)
class Window:
    """From local midnight DAYS_BACK days ago to the end of the scheduling horizon (UTC bounds)."""

    start: dt.datetime
    end: dt.datetime
    params: dict = field(init=False, compare=False, repr=False)  # bind parameters of the window
    tag: str = field(init=False, compare=False, repr=False)  # goes into every fingerprint

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "params",
            {"ws": self.start, "we": self.end, "ws_early": self.start - SPAN_LIMIT, "we_late": self.end + SPAN_LIMIT},
        )
        object.__setattr__(self, "tag", f"{self.start.isoformat()}/{self.end.isoformat()}")

    @classmethod
    @functools.lru_cache(maxsize=16)  # the same window all day long
    def around(cls, today: dt.date, horizon_days: int) -> Window:
        first = today - dt.timedelta(days=DAYS_BACK)
        last = today + dt.timedelta(days=horizon_days + 1)
        return cls(
            dt.datetime.combine(first, dt.time(0), tzinfo=LOCAL_TZ).astimezone(dt.UTC),
            dt.datetime.combine(last, dt.time(0), tzinfo=LOCAL_TZ).astimezone(dt.UTC),
        )


def today() -> dt.date:
    """The local date the window is centred on (tests pin it)."""
    return local_today()


def current_window(public: bool = False) -> Window:
    """Private feeds (shifts) end at the scheduling horizon; public ones cover every session generated
    up to FEEDS_PUBLIC_DAYS_AHEAD (a year's programme is generated and published far beyond the horizon)."""
    horizon = current_app.config.get("SCHEDULE_HORIZON_DAYS", 90)
    if public:
        horizon = max(horizon, current_app.config.get("FEEDS_PUBLIC_DAYS_AHEAD", 400))
    return Window.around(today(), horizon)


@dataclass(frozen=True)
class Probe:
    owner: int | str  # whose feed it is: a programme kind, a community, team or user id
    fingerprint: str


class Links:
    """Absolute URLs on the public address, in the feed's language."""

    def __init__(self, base_url: str, lang: str):
        self.base = base_url.rstrip("/")
        self.lang = lang

    def page(self, endpoint: str, **values) -> str:
        if self.lang == "en":
            values["lang"] = "en"
        return self.base + url_for(endpoint, **values)


def _fingerprint(row: tuple, window: Window) -> str:
    return hashlib.sha256(f"{FORMAT_VERSION}|{window.tag}|{row!r}".encode()).hexdigest()


# --- window conditions, shared by the probes (bind parameters) and the loads (values) ----------

_ws = sa.bindparam("ws", type_=Occurrence.starts_at.type)
_we = sa.bindparam("we", type_=Occurrence.starts_at.type)
_ws_early = sa.bindparam("ws_early", type_=Occurrence.starts_at.type)
_we_late = sa.bindparam("we_late", type_=Occurrence.starts_at.type)


def _overlaps(table, start=_ws, end=_we, early=_ws_early):
    """Rows of `table` (starts_at, ends_at) that overlap the window."""
    return sa.and_(table.c.starts_at > early, table.c.starts_at < end, table.c.ends_at > start)


def _overlaps_window(table, window: Window):
    return _overlaps(table, window.start, window.end, window.start - SPAN_LIMIT)


# --- occurrences (public) -------------------------------------------------------------------


def _occurrence_aggregates() -> list:
    return [
        sa.func.count(o.c.id),
        sa.func.sum(o.c.id),
        sa.func.sum(o.c.sequence),
        sa.func.max(o.c.last_modified),
        sa.func.max(o.c.updated_at),
        sa.func.max(v.c.updated_at),
        sa.func.max(c.c.updated_at),
        sa.func.max(p.c.updated_at),
        # Which official attends which session: no timestamp changes when only that changes.
        sa.func.sum(o.c.id * oo.c.user_id),
        sa.func.max(u.c.updated_at),
    ]


def _with_details(joined):
    return (
        joined.outerjoin(v, v.c.id == o.c.venue_id)
        .outerjoin(oo, oo.c.occurrence_id == o.c.id)
        .outerjoin(u, u.c.id == oo.c.user_id)
    )


def _hearing_aggregates() -> list:
    """Scalar subqueries: they hold even when no court session is in the window."""
    aggregates = [
        sa.func.count(h.c.id),
        sa.func.sum(h.c.id),
        sa.func.sum(h.c.sequence),
        sa.func.max(h.c.last_modified),
        sa.func.max(h.c.updated_at),
        sa.func.max(v.c.updated_at),
    ]
    joined = h.outerjoin(v, v.c.id == h.c.courtroom_id)
    return [sa.select(agg).select_from(joined).where(_overlaps(h)).scalar_subquery() for agg in aggregates]


def _official_titles(occurrence_ids: list[int], lang: str) -> dict[int, list[str]]:
    if not occurrence_ids:
        return {}
    rows = db.session.execute(
        sa.select(oo.c.occurrence_id, u.c.title_zh, u.c.title_en, u.c.name, u.c.name_en)
        .select_from(oo.join(u, u.c.id == oo.c.user_id))
        .where(oo.c.occurrence_id.in_(occurrence_ids))
        .order_by(oo.c.occurrence_id, u.c.id)
    )
    found: dict[int, list[str]] = {}
    for occurrence_id, title_zh, title_en, name_zh, name_en in rows:
        # Public officials at a public event, by title (and name): the only people a public feed names.
        title = pick(title_zh, title_en, lang)
        name = pick(name_zh, name_en, lang)
        found.setdefault(occurrence_id, []).append(f"{title} {name}".strip())
    return found


_OCCURRENCE_COLUMNS = (
    o.c.id,
    o.c.uid,
    o.c.starts_at,
    o.c.ends_at,
    o.c.status,
    o.c.sequence,
    o.c.last_modified,
    o.c.updated_at,
    o.c.title_zh,
    o.c.title_en,
    o.c.note_zh,
    o.c.note_en,
    o.c.bilingual,
    p.c.kind,
    p.c.name_zh.label("programme_zh"),
    p.c.name_en.label("programme_en"),
    v.c.name_zh.label("venue_zh"),
    v.c.name_en.label("venue_en"),
    v.c.address_zh,
    v.c.address_en,
    v.c.is_sample.label("venue_sample"),
    v.c.latitude,
    v.c.longitude,
    c.c.slug.label("community_slug"),
    c.c.name_zh.label("community_zh"),
    c.c.name_en.label("community_en"),
    c.c.is_sample.label("community_sample"),
)


def load_occurrences(window: Window | None, *where) -> list:
    """Occurrence rows with what an event shows; all of them matching `where` when `window` is None."""
    if window is not None:
        where = (_overlaps_window(o, window), *where)
    statement = (
        sa.select(*_OCCURRENCE_COLUMNS)
        .select_from(
            o.join(p, p.c.id == o.c.programme_id)
            .outerjoin(v, v.c.id == o.c.venue_id)
            .outerjoin(c, c.c.id == o.c.community_id)
        )
        .where(*where)
        .order_by(o.c.starts_at, o.c.id)
    )
    return list(db.session.execute(statement))


def _location(lang: str, name_zh, name_en, address_zh, address_en) -> str:
    name = pick(name_zh, name_en, lang)
    address = pick(address_zh, address_en, lang)
    if name and address:
        return f"{name}, {address}"
    return name or address


def _geo(latitude, longitude) -> tuple[float, float] | None:
    if latitude is None or longitude is None:
        return None
    return (round(latitude, 6), round(longitude, 6))


def _summary(title: str, place: str) -> str:
    """The title, followed by the place unless the title names it already (stored titles often do)."""
    if not place or place in title:
        return title
    return f"{title} · {place}"


def _status(kind, starts_at: dt.datetime, cancelled: bool, years: ConfirmedYears) -> str:
    if cancelled:
        return CANCELLED
    if years.provisional(kind, to_local(starts_at).date()):
        return TENTATIVE  # the year's holiday arrangement is not published: the date may change
    return CONFIRMED


def _provisional_line() -> str:
    return _("Provisional: this year's public holidays are not confirmed yet, so this date may still change.")


def _changed(*stamps: dt.datetime | None) -> dt.datetime:
    return max(stamp for stamp in stamps if stamp is not None)


_PUBLIC_PAGES = {
    "contact_day": "public.contact_days",
    "holiday_court": "public.holiday_court",
    "legal_clinic": "public.legal_clinic",
}


def _row_event(row, cancelled: bool, status: str | None = None, **fields) -> FeedEvent:
    """An event with what every feed takes from its row alike (identity, times, change, status).

    `updated_at` counts as a change too: a head count or a venue edit must reach clients.
    """
    return FeedEvent(
        uid=row.uid,
        start=row.starts_at,
        end=row.ends_at,
        sequence=row.sequence,
        last_modified=_changed(row.last_modified, row.updated_at),
        status=status or (CANCELLED if cancelled else CONFIRMED),
        **fields,
    )


def occurrence_events(rows, lang: str, links: Links) -> list[FeedEvent]:
    officials = _official_titles([row.id for row in rows if ProgrammeKind(row.kind) is ProgrammeKind.CONTACT_DAY], lang)
    years = ConfirmedYears()
    events = []
    for row in rows:
        kind = ProgrammeKind(row.kind)
        programme = localized(row, "programme", lang)
        community = localized(row, "community", lang)
        venue = localized(row, "venue", lang)
        title = localized(row, "title", lang) or programme
        place = community if kind is ProgrammeKind.CONTACT_DAY and community else venue
        summary = _summary(title, place)
        cancelled = OccurrenceStatus(row.status) is OccurrenceStatus.CANCELLED
        status = _status(row.kind, row.starts_at, cancelled, years)
        if cancelled:
            summary = _("Cancelled: %(title)s", title=summary)
        lines = []
        if status == TENTATIVE:
            lines.append(_provisional_line())
        note = localized(row, "note", lang)
        if note:
            lines.append(note)
        if officials.get(row.id):
            lines.append(_("Officials attending: %(names)s", names="; ".join(officials[row.id])))
        if row.bilingual:
            lines.append(_("Service in Chinese and English."))
        if row.venue_sample or row.community_sample:
            lines.append(_("Sample data: not a real session."))
        events.append(
            _row_event(
                row,
                cancelled,
                status=status,
                summary=summary,
                location=_location(lang, row.venue_zh, row.venue_en, row.address_zh, row.address_en),
                description="\n".join(lines),
                url=links.page("public.session", occurrence_id=row.id),  # the session's own page
                categories=(programme,),
                geo=_geo(row.latitude, row.longitude),
            )
        )
    return events


def hearing_events(window: Window, lang: str, links: Links, *where) -> list[FeedEvent]:
    rows = db.session.execute(
        sa.select(
            h.c.uid,
            h.c.case_number,
            h.c.cause_zh,
            h.c.cause_en,
            h.c.starts_at,
            h.c.ends_at,
            h.c.bilingual,
            h.c.status,
            h.c.sequence,
            h.c.last_modified,
            h.c.updated_at,
            h.c.occurrence_id,
            v.c.name_zh,
            v.c.name_en,
            v.c.address_zh,
            v.c.address_en,
            v.c.is_sample,
            v.c.latitude,
            v.c.longitude,
        )
        .select_from(h.outerjoin(v, v.c.id == h.c.courtroom_id))
        .where(_overlaps_window(h, window), *where)
        .order_by(h.c.starts_at, h.c.id)
    )
    court_page = links.page("public.holiday_court")
    category = _("Public hearing")
    years = ConfirmedYears()
    events = []
    for row in rows:
        cancelled = OccurrenceStatus(row.status) is OccurrenceStatus.CANCELLED
        status = _status(ProgrammeKind.HOLIDAY_COURT, row.starts_at, cancelled, years)
        summary = _("Public hearing: %(case)s, %(cause)s", case=row.case_number, cause=localized(row, "cause", lang))
        if cancelled:
            summary = _("Cancelled: %(title)s", title=summary)
        lines = [_("Case number: %(case)s", case=row.case_number)]
        if status == TENTATIVE:
            lines.append(_provisional_line())
        if row.bilingual:
            lines.append(_("Service in Chinese and English."))
        if row.is_sample:
            lines.append(_("Sample data: not a real case."))
        events.append(
            _row_event(
                row,
                cancelled,
                status=status,
                summary=summary,
                location=_location(lang, row.name_zh, row.name_en, row.address_zh, row.address_en),
                description="\n".join(lines),
                # The court session's page lists the hearing; a notice without a session has the court's page.
                url=links.page("public.session", occurrence_id=row.occurrence_id) if row.occurrence_id else court_page,
                categories=(category,),
                geo=_geo(row.latitude, row.longitude),
            )
        )
    return events


def one_event(uid: str, lang: str, links: Links) -> tuple[FeedMeta, list[FeedEvent], str] | None:
    """A single public session or public hearing, whatever its date: (meta, [event], file name).

    Never a patrol shift: only occurrences of the public programmes and hearing notices match.
    """
    rows = load_occurrences(None, o.c.uid == uid, public_kind(p.c.kind))
    if rows:
        events = occurrence_events(rows, lang, links)
        name = ProgrammeKind(rows[0].kind).value.replace("_", "-")
    else:
        notice = db.session.execute(sa.select(h.c.starts_at, h.c.ends_at).where(h.c.uid == uid)).first()
        if notice is None:
            return None
        events = hearing_events(Window(notice.starts_at, notice.ends_at), lang, links, h.c.uid == uid)
        name = "hearing"
    meta = FeedMeta(key=f"event:{uid}", lang=lang, name=events[0].summary, description="")
    return meta, events, f"{name}-{to_local(events[0].start):%Y-%m-%d}.ics"


def _sorted(events: list[FeedEvent]) -> list[FeedEvent]:
    return sorted(events, key=lambda e: (e.start, e.uid))


class ProgrammeFeed:
    """Contact days, holiday court (sessions and public hearing notices) or legal clinic."""

    private = False

    def __init__(self, kind: ProgrammeKind):
        if not kind.is_public:
            raise ValueError(f"{kind} is not a public programme")
        self.kind = kind
        meta = sa.select(sa.func.max(p.c.updated_at)).where(p.c.kind == kind).scalar_subquery()
        occurrences = (
            sa.select(*_occurrence_aggregates(), meta)
            .select_from(_with_details(o.join(p, p.c.id == o.c.programme_id).outerjoin(c, c.c.id == o.c.community_id)))
            .where(p.c.kind == kind, _overlaps(o))
        )
        if kind is ProgrammeKind.HOLIDAY_COURT:
            occurrences = occurrences.add_columns(*_hearing_aggregates())
        self._probe = ProbeStatement(occurrences)

    @property
    def filename(self) -> str:
        return {"contact_day": "contact-days", "holiday_court": "holiday-court", "legal_clinic": "legal-clinic"}[
            self.kind.value
        ] + ".ics"

    def cache_key(self, owner) -> str:
        return f"programme:{self.kind.value}"

    @property
    def memo_key(self) -> tuple:
        return ("programme", self.kind.value)

    def probe(self, window: Window) -> Probe:
        row = self._probe.run(window.params)
        return Probe(self.kind.value, _fingerprint(row, window))

    def build(self, owner, window: Window, lang: str, links: Links) -> tuple[FeedMeta, list[FeedEvent]]:
        programme = db.session.execute(
            sa.select(p.c.name_zh, p.c.name_en, p.c.description_zh, p.c.description_en)
            .where(p.c.kind == self.kind)
            .order_by(p.c.id)
            .limit(1)
        ).first()
        fallback = {
            ProgrammeKind.CONTACT_DAY: _("Contact days"),
            ProgrammeKind.HOLIDAY_COURT: _("Holiday court"),
            ProgrammeKind.LEGAL_CLINIC: _("Legal clinic"),
        }[self.kind]
        name = localized(programme, "name", lang) if programme else fallback
        description = localized(programme, "description", lang) if programme else ""
        events = occurrence_events(load_occurrences(window, p.c.kind == self.kind), lang, links)
        if self.kind is ProgrammeKind.HOLIDAY_COURT:
            events = _sorted(events + hearing_events(window, lang, links))
        meta = FeedMeta(
            key=self.cache_key(owner),
            lang=lang,
            name=_("SIP %(name)s", name=name),
            description=description,
            url=links.page(_PUBLIC_PAGES[self.kind.value]),
        )
        return meta, events


class _KeyedFeed:
    """A feed of one owner named by a key in its URL (a community's slug, a secret token).

    Subclasses set `prefix` (the cache namespace), `param` (the probe's bind parameter) and `_probe`,
    a statement whose first column is the owner's id (no row: unknown key, 404).
    """

    prefix: str
    param: str
    _probe: ProbeStatement

    def __init__(self, key: str):
        self.key = key

    def cache_key(self, owner) -> str:
        return f"{self.prefix}:{owner}"

    @property
    def memo_key(self) -> tuple:
        return (self.prefix, self.key)

    def probe(self, window: Window) -> Probe | None:
        row = self._probe.run({**window.params, self.param: self.key})
        if row is None:
            return None
        return Probe(row[0], _fingerprint(row, window))


class CommunityFeed(_KeyedFeed):
    """Every public event held in one community."""

    private = False
    filename = "community.ics"
    prefix = "community"
    param = "slug"

    # One row per community (none for an unknown slug), its public occurrences in the window joined.
    _probe = ProbeStatement(
        sa.select(c.c.id, *_occurrence_aggregates())
        .select_from(
            _with_details(
                c.outerjoin(
                    o,
                    sa.and_(
                        o.c.community_id == c.c.id,
                        _overlaps(o),
                        o.c.programme_id.in_(
                            sa.select(_public_programmes.c.id).where(public_kind(_public_programmes.c.kind))
                        ),
                    ),
                ).outerjoin(p, p.c.id == o.c.programme_id)
            )
        )
        .where(c.c.slug == sa.bindparam("slug"))
        .group_by(c.c.id)
    )

    def build(self, owner, window: Window, lang: str, links: Links) -> tuple[FeedMeta, list[FeedEvent]]:
        community = db.session.execute(sa.select(c.c.name_zh, c.c.name_en).where(c.c.id == owner)).one()
        name = localized(community, "name", lang)
        rows = load_occurrences(window, o.c.community_id == owner, public_kind(p.c.kind))
        meta = FeedMeta(
            key=self.cache_key(owner),
            lang=lang,
            name=_("%(community)s: public events", community=name),
            description=_("Contact days and other public sessions in %(community)s.", community=name),
            url=links.page("public.community", slug=self.key),
        )
        return meta, occurrence_events(rows, lang, links)


def _live_token(kind: FeedKind):
    """Join condition: the live token of this kind named in the URL (no row: a 404)."""
    return sa.and_(ft.c.token == sa.bindparam("token"), ft.c.kind == kind, ft.c.revoked_at.is_(None))


def _team_lines(lang: str, team) -> list[str]:
    """The description lines of a shift that come from its team (name, leading police station, sample)."""
    lines = [_("Team: %(team)s", team=localized(team, "name", lang))]
    station = localized(team, "police_station", lang)
    if station:
        lines.append(_("Led by: %(station)s", station=station))
    if team.is_sample:
        lines.append(_("Sample data: not a real shift."))
    return lines


class _ShiftText:
    """Per-build memo of the shift titles: a team feed repeats a few areas hundreds of times."""

    def __init__(self, lang: str):
        self.lang = lang
        self._summaries: dict[tuple, str] = {}

    def summary(self, team_zh, team_en, area_zh, area_en, cancelled: bool) -> str:
        key = (team_zh, team_en, area_zh, area_en, cancelled)
        found = self._summaries.get(key)
        if found is None:
            area = pick(area_zh, area_en, self.lang)
            team = pick(team_zh, team_en, self.lang)
            found = _("Patrol: %(area)s", area=area) if area else _("Patrol shift")
            found = f"{found} · {team}"
            if cancelled:
                found = _("Cancelled: %(title)s", title=found)
            self._summaries[key] = found
        return found


class TeamFeed(_KeyedFeed):
    """A team's patrol shifts, with area and head count: for whoever holds the team's token."""

    private = True
    filename = "team.ics"
    prefix = "team"
    param = "token"

    _probe = ProbeStatement(
        sa.select(
            ft.c.team_id,
            sa.func.count(s.c.id),
            sa.func.sum(s.c.id),
            sa.func.sum(s.c.sequence),
            sa.func.sum(s.c.assigned_count),
            sa.func.max(s.c.last_modified),
            sa.func.max(s.c.updated_at),
            sa.func.max(t.c.updated_at),
        )
        .select_from(
            ft.join(t, t.c.id == ft.c.team_id).outerjoin(s, sa.and_(s.c.team_id == ft.c.team_id, _overlaps(s)))
        )
        .where(_live_token(FeedKind.TEAM))
        .group_by(ft.c.team_id)
    )

    def build(self, owner, window: Window, lang: str, links: Links) -> tuple[FeedMeta, list[FeedEvent]]:
        team = db.session.execute(
            sa.select(t.c.name_zh, t.c.name_en, t.c.police_station_zh, t.c.police_station_en, t.c.is_sample).where(
                t.c.id == owner
            )
        ).one()
        rows = db.session.execute(
            sa.select(
                s.c.uid,
                s.c.starts_at,
                s.c.ends_at,
                s.c.area_zh,
                s.c.area_en,
                s.c.status,
                s.c.sequence,
                s.c.last_modified,
                s.c.updated_at,
                s.c.min_volunteers,
                s.c.max_volunteers,
                s.c.assigned_count,
            )
            .where(s.c.team_id == owner, _overlaps_window(s, window))
            .order_by(s.c.starts_at, s.c.id)
        )
        team_name = localized(team, "name", lang)
        # The volunteer's own shifts page: the team's feed page needs a coordinator's login.
        url = links.page("volunteer.index")
        category = _("Patrol")
        common = _team_lines(lang, team)
        titles = _ShiftText(lang)
        staffing = _("Volunteers: %(count)s signed up (needs %(min)s to %(max)s)")  # formatted per shift below
        events = []
        for row in rows:
            cancelled = ShiftStatus(row.status) is ShiftStatus.CANCELLED
            staffed = staffing % {"count": row.assigned_count, "min": row.min_volunteers, "max": row.max_volunteers}
            events.append(
                _row_event(
                    row,
                    cancelled,
                    summary=titles.summary(team.name_zh, team.name_en, row.area_zh, row.area_en, cancelled),
                    location=localized(row, "area", lang),
                    description="\n".join([staffed, *common]),
                    url=url,
                    categories=(category,),
                )
            )
        meta = FeedMeta(
            key=self.cache_key(owner),
            lang=lang,
            name=_("%(team)s: patrol shifts", team=team_name),
            description=_("Private calendar of the team's patrol shifts. Do not share this link."),
            url=url,
        )
        return meta, events


def _assigned_near(early, late) -> list:
    """Live assignments whose copied times are near the window: the (volunteer_id, starts_at) index
    does the work; the shift's own times then decide exactly."""
    return [a.c.status == AssignmentStatus.ASSIGNED, a.c.starts_at > early, a.c.starts_at < late]


class VolunteerFeed(_KeyedFeed):
    """One volunteer's own assigned shifts: for whoever holds that volunteer's token."""

    private = True
    filename = "my-shifts.ics"
    prefix = "volunteer"
    param = "token"

    _probe = ProbeStatement(
        sa.select(
            ft.c.user_id,
            sa.func.count(s.c.id),
            sa.func.sum(s.c.id),
            sa.func.sum(s.c.sequence),
            sa.func.max(s.c.last_modified),
            sa.func.max(s.c.updated_at),
            sa.func.max(t.c.updated_at),
        )
        .select_from(
            # A deactivated account's feed stops with the account.
            ft.join(u, sa.and_(u.c.id == ft.c.user_id, u.c.active.is_(True)))
            .outerjoin(a, sa.and_(a.c.volunteer_id == ft.c.user_id, *_assigned_near(_ws_early, _we_late)))
            .outerjoin(s, sa.and_(s.c.id == a.c.shift_id, _overlaps(s)))
            .outerjoin(t, t.c.id == s.c.team_id)
        )
        .where(_live_token(FeedKind.VOLUNTEER))
        .group_by(ft.c.user_id)
    )

    def build(self, owner, window: Window, lang: str, links: Links) -> tuple[FeedMeta, list[FeedEvent]]:
        rows = db.session.execute(
            sa.select(
                s.c.uid,
                s.c.starts_at,
                s.c.ends_at,
                s.c.area_zh,
                s.c.area_en,
                s.c.status,
                s.c.sequence,
                s.c.last_modified,
                s.c.updated_at,
                t.c.name_zh,
                t.c.name_en,
                t.c.police_station_zh,
                t.c.police_station_en,
                t.c.is_sample,
            )
            .select_from(a.join(s, s.c.id == a.c.shift_id).join(t, t.c.id == s.c.team_id))
            .where(
                a.c.volunteer_id == owner,
                *_assigned_near(window.start - SPAN_LIMIT, window.end + SPAN_LIMIT),
                _overlaps_window(s, window),
            )
            .order_by(s.c.starts_at, s.c.id)
        )
        url = links.page("volunteer.index")
        category = _("Patrol")
        titles = _ShiftText(lang)
        descriptions: dict[tuple, str] = {}
        events = []
        for row in rows:
            cancelled = ShiftStatus(row.status) is ShiftStatus.CANCELLED
            key = (row.name_zh, row.name_en, row.police_station_zh, row.police_station_en, row.is_sample)
            if key not in descriptions:
                descriptions[key] = "\n".join(_team_lines(lang, row))
            events.append(
                _row_event(
                    row,
                    cancelled,
                    summary=titles.summary(row.name_zh, row.name_en, row.area_zh, row.area_en, cancelled),
                    location=localized(row, "area", lang),
                    description=descriptions[key],
                    url=url,
                    categories=(category,),
                )
            )
        meta = FeedMeta(
            key=self.cache_key(owner),
            lang=lang,
            name=_("My patrol shifts"),
            description=_("Your own patrol shifts. Private: do not share this link."),
            url=url,
        )
        return meta, events


class OfficialFeed(_KeyedFeed):
    """The contact days one official is assigned to: for whoever holds that official's personal token.

    The same token as a volunteer's own feed (one personal link per user, issued, re-issued and
    revoked by feeds/tokens.py); this source reads the official's occurrences instead of shifts.
    """

    private = True
    filename = "my-contact-days.ics"
    prefix = "official"
    param = "token"

    _probe = ProbeStatement(
        sa.select(
            ft.c.user_id,
            sa.func.count(o.c.id),
            sa.func.sum(o.c.id),
            sa.func.sum(o.c.sequence),
            sa.func.max(o.c.last_modified),
            sa.func.max(o.c.updated_at),
            sa.func.max(v.c.updated_at),
            sa.func.max(c.c.updated_at),
            sa.func.max(u.c.updated_at),
        )
        .select_from(
            # A deactivated account's feed stops with the account.
            ft.join(u, sa.and_(u.c.id == ft.c.user_id, u.c.active.is_(True)))
            .outerjoin(oo, oo.c.user_id == ft.c.user_id)
            .outerjoin(o, sa.and_(o.c.id == oo.c.occurrence_id, _overlaps(o)))
            .outerjoin(v, v.c.id == o.c.venue_id)
            .outerjoin(c, c.c.id == o.c.community_id)
        )
        .where(_live_token(FeedKind.VOLUNTEER))
        .group_by(ft.c.user_id)
    )

    def build(self, owner, window: Window, lang: str, links: Links) -> tuple[FeedMeta, list[FeedEvent]]:
        mine = sa.select(oo.c.occurrence_id).where(oo.c.user_id == owner)
        rows = load_occurrences(window, o.c.id.in_(mine))
        meta = FeedMeta(
            key=self.cache_key(owner),
            lang=lang,
            name=_("My contact days"),
            description=_("The contact days you attend. Private: do not share this link."),
            url=links.page("official.index"),
        )
        # The same events (UID, SEQUENCE) as the public feeds publish for these sessions.
        return meta, occurrence_events(rows, lang, links)
