"""Dated occurrences of series: generation, reconciliation after an edit, moving and cancelling by hand.

Identity: an occurrence is created once per (site, rule date) with a random `uid` that never
changes. Every change a calendar client must see goes through `Occurrence.touch()` (SEQUENCE up,
LAST-MODIFIED now).

`moved_by_hand` marks an occurrence the admin has taken out of the rule's hands, by moving or by
cancelling it: reconciliation after a series edit never changes those again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import orm

from models import (
    HearingNotice,
    Occurrence,
    OccurrenceStatus,
    ProgrammeKind,
    Series,
    SeriesPattern,
    SeriesSite,
    db,
    new_uid,
    occurrence_officials,
    record,
    utcnow,
)
from services import clinic, notify_events, resident_notices
from services.errors import RuleViolation
from timeutil import local_today, span_utc, to_local

from .dbutil import chunked, insert_ignoring_conflicts
from .holiday_calendar import CalendarView, calendar_for
from .rules import CALENDAR_MARGIN, Planned, RuleError, plan

log = logging.getLogger(__name__)

# Fields whose change a calendar client or a reader must see (they bump SEQUENCE).
VISIBLE_FIELDS = (
    "starts_at",
    "ends_at",
    "status",
    "venue_id",
    "community_id",
    "title_zh",
    "title_en",
    "note_zh",
    "note_en",
    "capacity",
    "bilingual",
)
# Fields kept up to date silently (the admin's holiday flag).
QUIET_FIELDS = ("on_public_holiday", "holiday_name")


@dataclass
class OccurrenceResult:
    created: int = 0
    skipped: int = 0  # already there
    updated: int = 0
    cancelled: int = 0
    reinstated: int = 0
    # Rule dates on a public holiday among the new occurrences: (date, holiday name), once per date.
    flagged: list[tuple[dt.date, str]] = field(default_factory=list)
    broken_series: list[int] = field(default_factory=list)  # series skipped: their rule cannot be used


def _in_both_languages(render) -> tuple[str, str]:
    """Stored text in Chinese and English: `render(lang)` is called under each locale."""
    with force_locale("zh_CN"):
        zh = render("zh")
    with force_locale("en"):
        en = render("en")
    return zh, en


def _notes(planned: Planned) -> tuple[str, str]:
    if not planned.on_public_holiday or (planned.held and planned.day == planned.rule_date):
        return "", ""
    date = planned.rule_date.isoformat()
    names = {"zh": planned.holiday_zh, "en": planned.holiday_en}
    if not planned.held:
        return _in_both_languages(
            lambda lang: _("Not held: %(date)s is a public holiday (%(holiday)s).", date=date, holiday=names[lang])
        )
    return _in_both_languages(
        lambda lang: _("Moved from %(date)s, a public holiday (%(holiday)s).", date=date, holiday=names[lang])
    )


def _desired(series: Series, site: SeriesSite, planned: Planned) -> dict:
    """The columns an occurrence of `site` on `planned` should have according to the rule."""
    starts_at, ends_at = span_utc(planned.day, site.local_start, site.local_end)
    place = site.community or site.venue
    note_zh, note_en = _notes(planned)
    held = planned.held and series.active and site.active
    return {
        "programme_id": series.programme_id,
        "series_id": series.id,
        "site_id": site.id,
        "community_id": site.community_id,
        "venue_id": site.venue_id,
        "rule_date": planned.rule_date,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "status": OccurrenceStatus.SCHEDULED if held else OccurrenceStatus.CANCELLED,
        "on_public_holiday": planned.on_public_holiday,
        "holiday_name": planned.holiday_zh[:120],
        "title_zh": f"{series.programme.name_zh}·{place.name_zh}"[:200],
        "title_en": f"{series.programme.name_en}: {place.name_en}"[:200],
        "note_zh": note_zh,
        "note_en": note_en,
        "capacity": site.capacity if site.capacity is not None else site.venue.capacity,
        "bilingual": site.bilingual,
    }


def _load_series(series_ids=None) -> list[Series]:
    query = (
        sa.select(Series)
        .options(
            orm.selectinload(Series.sites).selectinload(SeriesSite.officials),
            orm.selectinload(Series.sites).joinedload(SeriesSite.venue),
            orm.selectinload(Series.sites).joinedload(SeriesSite.community),
            orm.joinedload(Series.programme),
        )
        .order_by(Series.id)
    )
    if series_ids is not None:
        query = query.where(Series.id.in_(list(series_ids)))
    return list(db.session.scalars(query))


def generate_occurrences(start: dt.date, until: dt.date, series_ids=None) -> OccurrenceResult:
    """Create the missing occurrences of active series and sites for rule dates in [start, until].

    Idempotent: an occurrence that exists for (site, rule date) is left alone, whatever its state.
    The caller commits.
    """
    result = OccurrenceResult()
    if until < start:
        return result
    calendar = calendar_for(start, until + CALENDAR_MARGIN)
    for series in _load_series(series_ids):
        sites = [site for site in series.sites if site.active] if series.active else []
        if not sites:
            continue
        try:
            planned = plan(series, start, until, calendar)
        except RuleError as exc:  # one broken rule must not stop the others (forms refuse such rules)
            log.error("series %s has an unusable rule %r: %s", series.id, series.rrule, exc)
            result.broken_series.append(series.id)
            continue
        if planned:
            _insert_missing(series, sites, planned, result)
    return result


def _insert_missing(series: Series, sites: list[SeriesSite], planned: list[Planned], result: OccurrenceResult) -> None:
    """Insert the planned occurrences that do not exist yet, with their officials and clinic slots."""
    existing = {
        tuple(row)
        for row in db.session.execute(
            sa.select(Occurrence.site_id, Occurrence.rule_date).where(
                Occurrence.site_id.in_([site.id for site in sites]),
                Occurrence.rule_date.between(planned[0].rule_date, planned[-1].rule_date),
            )
        )
    }
    now = utcnow()
    rows, officials_of = [], {}
    for site in sites:
        for item in planned:
            if (site.id, item.rule_date) in existing:
                result.skipped += 1
                continue
            row = _desired(series, site, item)
            row.update(
                uid=new_uid(), sequence=0, last_modified=now, moved_by_hand=False, created_at=now, updated_at=now
            )
            rows.append(row)
            officials_of[row["uid"]] = [official.id for official in site.officials]
    for batch in chunked(rows, 1000):
        inserted = db.session.execute(
            insert_ignoring_conflicts(Occurrence.__table__, ["site_id", "rule_date"]).returning(
                Occurrence.__table__.c.id, Occurrence.__table__.c.uid
            ),
            batch,
        ).all()
        links = [{"occurrence_id": oid, "user_id": uid_} for oid, uid in inserted for uid_ in officials_of[uid]]
        if links:
            db.session.execute(occurrence_officials.insert(), links)
        result.created += len(inserted)
        result.skipped += len(batch) - len(inserted)
        clinic.sync_slots(oid for oid, _uid in inserted)
        new = {uid for _id, uid in inserted}
        # Court days are meant for holidays; only a rule such as contact days needs the admin's eye.
        flagged = {
            (row["rule_date"], row["holiday_name"])
            for row in batch
            if row["uid"] in new and row["on_public_holiday"] and series.pattern is SeriesPattern.RRULE
        }
        result.flagged = sorted(set(result.flagged) | flagged)


def _sync_officials(occurrence: Occurrence, site: SeriesSite) -> bool:
    wanted = {official.id for official in site.officials}
    had = {official.id for official in occurrence.officials}
    if had == wanted:
        return False
    occurrence.officials = list(site.officials)
    added = [o for o in site.officials if o.id not in had]
    if added and occurrence.status is OccurrenceStatus.SCHEDULED and occurrence.starts_at > utcnow():
        _tell_officials(occurrence, "assigned", added)
    return True


def _tell_officials(occurrence: Occurrence, what: str, officials=None) -> None:
    """Officials of a contact day hear of it being assigned to them, moved or cancelled (services/notify_events)."""
    if occurrence.programme.kind is not ProgrammeKind.CONTACT_DAY:
        return
    notify_events.contact_day(occurrence, list(occurrence.officials if officials is None else officials), what)


def reconcile_series(
    series: Series,
    actor=None,
    calendar: CalendarView | None = None,
    from_day: dt.date | None = None,
    until: dt.date | None = None,
) -> OccurrenceResult:
    """Bring the future occurrences of a series in line with its rule, sites and the holiday calendar.

    Occurrences moved or cancelled by hand and those already started are left alone; changed ones
    are touched (SEQUENCE up) and dates that left the rule are cancelled, never deleted (calendar
    clients must see the cancellation). Missing ones up to `until` (default: the horizon) are created.
    """
    from flask import current_app

    from_day = from_day or local_today()
    until = until or from_day + dt.timedelta(days=current_app.config.get("SCHEDULE_HORIZON_DAYS", 90))
    now = utcnow()
    existing = list(
        db.session.scalars(
            sa.select(Occurrence)
            .where(
                Occurrence.series_id == series.id,
                Occurrence.rule_date >= from_day,
                Occurrence.starts_at > now,
                Occurrence.moved_by_hand.is_(False),
            )
            .options(orm.selectinload(Occurrence.officials))
        )
    )
    result = OccurrenceResult()
    touched: list[int] = []
    last = max([until] + [occ.rule_date for occ in existing if occ.rule_date])
    calendar = calendar or calendar_for(from_day, last + CALENDAR_MARGIN)
    planned = {item.rule_date: item for item in plan(series, from_day, last, calendar)} if series.active else {}
    sites = {site.id: site for site in series.sites}
    for occurrence in existing:
        site = sites.get(occurrence.site_id)
        item = planned.get(occurrence.rule_date)
        if site is None:
            continue
        if item is None:  # the rule no longer produces this date, or the series was switched off
            wanted = {"status": OccurrenceStatus.CANCELLED}
        else:
            wanted = _desired(series, site, item)
        visible = [name for name in VISIBLE_FIELDS if name in wanted and getattr(occurrence, name) != wanted[name]]
        quiet = [name for name in QUIET_FIELDS if name in wanted and getattr(occurrence, name) != wanted[name]]
        officials_changed = item is not None and _sync_officials(occurrence, site)
        if not (visible or quiet or officials_changed):
            continue
        touched.append(occurrence.id)
        before = occurrence.status
        for name in visible + quiet:
            setattr(occurrence, name, wanted[name])
        if visible or officials_changed:
            occurrence.touch()
        if occurrence.status is not before:
            if occurrence.status is OccurrenceStatus.CANCELLED:
                result.cancelled += 1
            else:
                result.reinstated += 1
        else:
            result.updated += 1
    if result.updated or result.cancelled or result.reinstated:
        record(
            actor,
            "series.reconcile",
            "series",
            series.id,
            updated=result.updated,
            cancelled=result.cancelled,
            reinstated=result.reinstated,
        )
    db.session.flush()
    clinic.sync_slots(touched)
    created = generate_occurrences(from_day, until, [series.id])
    result.created, result.skipped, result.flagged = created.created, created.skipped, created.flagged
    return result


def reconcile_all(actor=None, from_day: dt.date | None = None) -> OccurrenceResult:
    """Reconcile every series, e.g. after the holiday calendar changed."""
    total = OccurrenceResult()
    for series in _load_series():
        try:
            part = reconcile_series(series, actor, from_day=from_day)
        except RuleError as exc:
            log.error("series %s has an unusable rule %r: %s", series.id, series.rrule, exc)
            total.broken_series.append(series.id)
            continue
        for name in ("created", "skipped", "updated", "cancelled", "reinstated"):
            setattr(total, name, getattr(total, name) + getattr(part, name))
        total.flagged = sorted(set(total.flagged) | set(part.flagged))
    return total


def move_occurrence(
    occurrence: Occurrence, new_day: dt.date, new_start: dt.time, new_end: dt.time, actor, note: str = ""
) -> Occurrence:
    """Move one occurrence to another date and time by hand; it keeps its uid, its SEQUENCE goes up.

    A cancelled occurrence that is moved takes place again at the new time.
    """
    if new_end <= new_start:
        raise RuleViolation(_("The end time must be after the start time."), "bad_times", 400)
    starts_at, ends_at = span_utc(new_day, new_start, new_end)
    if starts_at <= utcnow():
        raise RuleViolation(_("An occurrence cannot be moved into the past."), "in_past", 400)
    before = (to_local(occurrence.starts_at).isoformat(), occurrence.status.value)
    delta = starts_at - occurrence.starts_at
    occurrence.starts_at, occurrence.ends_at = starts_at, ends_at
    occurrence.status = OccurrenceStatus.SCHEDULED
    occurrence.moved_by_hand = True
    if note:
        occurrence.note_zh = occurrence.note_en = note
    occurrence.touch()
    # Hearings listed for the session move with it.
    for notice in _notices(occurrence):
        notice.starts_at += delta
        notice.ends_at += delta
        _touch_notice(notice)
    record(
        actor,
        "occurrence.move",
        "occurrence",
        occurrence.id,
        uid=occurrence.uid,
        before=before[0],
        before_status=before[1],
        after=to_local(starts_at).isoformat(),
        note=note,
    )
    db.session.flush()
    clinic.sync_slots([occurrence.id])
    if clinic.is_clinic(occurrence):
        resident_notices.session_moved(occurrence, clinic.active_bookings(occurrence.id))
    _tell_officials(occurrence, "moved")
    return occurrence


def cancel_occurrence(occurrence: Occurrence, actor, reason: str = "") -> Occurrence:
    """Cancel one occurrence by hand; it stays (feeds publish STATUS:CANCELLED with a higher SEQUENCE)."""
    if occurrence.status is OccurrenceStatus.CANCELLED:
        raise RuleViolation(_("This occurrence is already cancelled."), "already_cancelled", 409)
    occurrence.status = OccurrenceStatus.CANCELLED
    occurrence.moved_by_hand = True
    if reason:
        occurrence.note_zh = occurrence.note_en = reason
    occurrence.touch()
    for notice in _notices(occurrence):
        if notice.status is not OccurrenceStatus.CANCELLED:
            notice.status = OccurrenceStatus.CANCELLED
            _touch_notice(notice)
    record(actor, "occurrence.cancel", "occurrence", occurrence.id, uid=occurrence.uid, reason=reason)
    db.session.flush()
    # A clinic session's bookings end with it, and each resident is told (services/clinic.py).
    clinic.cancel_session_bookings(occurrence)
    _tell_officials(occurrence, "cancelled")
    return occurrence


def _notices(occurrence: Occurrence) -> list[HearingNotice]:
    return list(db.session.scalars(sa.select(HearingNotice).where(HearingNotice.occurrence_id == occurrence.id)))


def _touch_notice(notice: HearingNotice) -> None:
    notice.sequence = (notice.sequence or 0) + 1
    notice.last_modified = utcnow()
