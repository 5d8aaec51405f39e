"""Importing a year's official holiday arrangement: read the file, show what changes, then apply.

Two layouts are read:
- holiday-cn's JSON (github.com/NateScarlet/holiday-cn), the widely used machine-readable copy of
  the State Council notice: `{"year": 2027, "days": [{"name": "春节", "date": "2027-02-06",
  "isOffDay": true}, ...]}`; `isOffDay: false` is a make-up working day (调休上班).
- an iCalendar file of holidays: all-day events; a summary with 班 ("上班", "补班") or "work" is a
  make-up working day, any other event a day (or days, DTEND exclusive) off.

Each day of the file becomes an admin override (they always win over the `holidays` package),
the year is marked confirmed, every series is reconciled and the year's sessions generated.
`run(arrangement, apply=False)` does all of it and rolls back: the preview lists exactly the
sessions the real run adds, cancels, moves or confirms.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import orm

from models import (
    HearingNotice,
    HolidayOverride,
    Occurrence,
    OccurrenceStatus,
    OverrideKind,
    Programme,
    db,
    record,
    utcnow,
)
from timeutil import local_today, to_local

from . import holiday_years
from .holiday_calendar import calendar_for
from .occurrences import generate_occurrences, reconcile_all

MAX_FILE_BYTES = 256 * 1024  # a year's arrangement is a few kilobytes
MAX_DAYS = 400


class ArrangementError(ValueError):
    """The file cannot be imported; the message is for the admin (translated)."""


@dataclass(frozen=True)
class ArrangementDay:
    day: dt.date
    off: bool  # False: a make-up working day
    name: str


@dataclass(frozen=True)
class Arrangement:
    year: int
    days: tuple[ArrangementDay, ...]
    source: str  # the file's name

    def to_json(self) -> str:
        """The holiday-cn layout: what the preview form carries to the apply step."""
        return json.dumps(
            {
                "year": self.year,
                "days": [{"name": d.name, "date": d.day.isoformat(), "isOffDay": d.off} for d in self.days],
            },
            ensure_ascii=False,
        )


def _date(value, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ArrangementError(
            _("%(where)s: “%(value)s” is not a date (YYYY-MM-DD).", where=where, value=str(value)[:40])
        ) from None


def _checked(year: int, days: list[ArrangementDay], source: str) -> Arrangement:
    if not 2000 <= year <= 2100:
        raise ArrangementError(_("The year must be between 2000 and 2100."))
    if not days:
        raise ArrangementError(_("The file lists no days."))
    if len(days) > MAX_DAYS:
        raise ArrangementError(_("The file lists more days than a year has."))
    seen: dict[dt.date, ArrangementDay] = {}
    for item in days:
        # holiday-cn lists the days of a break, which may begin in late December of the year before.
        if not dt.date(year - 1, 12, 1) <= item.day <= dt.date(year + 1, 1, 31):
            raise ArrangementError(_("%(date)s is not in %(year)s.", date=item.day.isoformat(), year=year))
        before = seen.get(item.day)
        if before is not None and before.off != item.off:
            raise ArrangementError(
                _("%(date)s is listed both as a day off and as a working day.", date=item.day.isoformat())
            )
        seen[item.day] = item
    return Arrangement(year, tuple(sorted(seen.values(), key=lambda d: d.day)), source[:200])


def parse_json(data: bytes, source: str) -> Arrangement:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ArrangementError(_("The file is not valid JSON.")) from None
    if not isinstance(document, dict) or not isinstance(document.get("days"), list):
        raise ArrangementError(_("The JSON must be an object with “year” and a list of “days”."))
    year = document.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        raise ArrangementError(_("The JSON must be an object with “year” and a list of “days”."))
    days = []
    for number, entry in enumerate(document["days"][: MAX_DAYS + 1], start=1):
        where = _("Day %(number)s", number=number)
        if not isinstance(entry, dict) or not isinstance(entry.get("isOffDay"), bool):
            raise ArrangementError(
                _("%(where)s: each day needs “date”, “name” and “isOffDay” (true or false).", where=where)
            )
        name = entry.get("name") or ""
        if not isinstance(name, str):
            raise ArrangementError(
                _("%(where)s: each day needs “date”, “name” and “isOffDay” (true or false).", where=where)
            )
        days.append(ArrangementDay(_date(entry.get("date"), where), entry["isOffDay"], name.strip()[:120]))
    return _checked(year, days, source)


def _is_workday_summary(summary: str) -> bool:
    return "班" in summary or "work" in summary.lower()


def parse_ics(data: bytes, source: str) -> Arrangement:
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ArrangementError(_("The file is not a valid iCalendar file.")) from None
    days = []
    for event in calendar.walk("VEVENT"):
        summary = str(event.get("SUMMARY", "")).strip()
        start = event.get("DTSTART")
        if start is None:
            raise ArrangementError(_("An event of the iCalendar file has no start date."))
        first = start.dt.date() if isinstance(start.dt, dt.datetime) else start.dt
        end = event.get("DTEND")
        last = first
        if end is not None:
            end_day = end.dt.date() if isinstance(end.dt, dt.datetime) else end.dt
            last = max(first, end_day - dt.timedelta(days=1))  # DTEND of all-day events is exclusive
        if (last - first).days > 31:
            raise ArrangementError(
                _("An event of the iCalendar file lasts more than a month: %(name)s", name=summary[:60])
            )
        day = first
        while day <= last:
            days.append(ArrangementDay(day, not _is_workday_summary(summary), summary[:120]))
            day += dt.timedelta(days=1)
        if len(days) > MAX_DAYS:
            break
    if not days:
        raise ArrangementError(_("The file lists no days."))
    year = Counter(d.day.year for d in days).most_common(1)[0][0]
    return _checked(year, days, source)


def parse(data: bytes, filename: str) -> Arrangement:
    """Read an uploaded or given file; raise ArrangementError with a sentence for the admin."""
    if len(data) > MAX_FILE_BYTES:
        raise ArrangementError(_("The file is too large (at most %(size)s KB).", size=MAX_FILE_BYTES // 1024))
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:20].upper()
    name = (filename or "").lower()
    if name.endswith(".json") or head.startswith(b"{"):
        return parse_json(data, filename)
    if name.endswith(".ics") or head.startswith(b"BEGIN:VCALENDAR"):
        return parse_ics(data, filename)
    raise ArrangementError(_("Unknown file type: upload holiday-cn JSON (.json) or an iCalendar file (.ics)."))


# --- what changes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionChange:
    occurrence_id: int
    programme: str  # in the reader's language
    place: str
    when: dt.datetime  # local start (after the change)
    before: dt.datetime | None  # local start before a move


@dataclass
class ImportReport:
    year: int
    applied: bool
    was_confirmed: bool
    days_off: list[ArrangementDay] = field(default_factory=list)  # overrides written or changed
    workdays: list[ArrangementDay] = field(default_factory=list)
    added: list[SessionChange] = field(default_factory=list)
    cancelled: list[SessionChange] = field(default_factory=list)
    moved: list[SessionChange] = field(default_factory=list)
    confirmed: int = 0  # provisional sessions that become confirmed

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.cancelled) + len(self.moved)


def _snapshot(first: dt.date, last: dt.date) -> dict[int, tuple]:
    rows = db.session.execute(
        sa.select(Occurrence.id, Occurrence.status, Occurrence.starts_at).where(
            Occurrence.rule_date.between(first, last)
        )
    )
    return {row.id: (row.status, row.starts_at) for row in rows}


def _describe(ids: set[int], before: dict[int, tuple] | None = None) -> list[SessionChange]:
    if not ids:
        return []
    found = db.session.scalars(
        sa.select(Occurrence)
        .where(Occurrence.id.in_(ids))
        .options(
            orm.joinedload(Occurrence.programme), orm.joinedload(Occurrence.venue), orm.joinedload(Occurrence.community)
        )
        .order_by(Occurrence.starts_at, Occurrence.id)
    ).all()
    result = []
    for occurrence in found:
        place = occurrence.community or occurrence.venue
        moved_from = to_local(before[occurrence.id][1]) if before and occurrence.id in before else None
        result.append(
            SessionChange(
                occurrence.id,
                occurrence.programme.name,
                place.name if place else "",
                to_local(occurrence.starts_at),
                moved_from,
            )
        )
    return result


def _write_overrides(arrangement: Arrangement, actor, report: ImportReport) -> None:
    """Every day of the file becomes an override; the report lists those the calendar had otherwise."""
    existing = {
        row.day: row
        for row in db.session.scalars(
            sa.select(HolidayOverride).where(HolidayOverride.day.in_([d.day for d in arrangement.days]))
        )
    }
    calendar = calendar_for(arrangement.days[0].day, arrangement.days[-1].day)
    reason_prefix = arrangement.source or str(arrangement.year)
    for item in arrangement.days:
        if item.off and not calendar.is_public_holiday(item.day):
            report.days_off.append(item)
        elif not item.off and (calendar.is_public_holiday(item.day) or calendar.is_court_day(item.day)):
            report.workdays.append(item)
        kind = OverrideKind.HOLIDAY if item.off else OverrideKind.WORKDAY
        reason = f"{item.name} ({reason_prefix})"[:200] if item.name else reason_prefix[:200]
        row = existing.get(item.day)
        if row is not None and row.kind is kind:
            continue
        if row is None:
            row = HolidayOverride(day=item.day, created_by_id=getattr(actor, "id", None))
            db.session.add(row)
        row.kind, row.reason = kind, reason
    db.session.flush()


def run(arrangement: Arrangement, actor=None, apply: bool = False) -> ImportReport:
    """Import the arrangement, reconcile and generate the year; commit only when `apply`.

    The preview (`apply=False`) runs exactly the same steps and rolls the transaction back, so it
    lists exactly what applying will change. Call it with no other change pending in the session.
    """
    year = arrangement.year
    # From the first day of the file (a break may begin in December), never in the past.
    first = max(local_today(), min(dt.date(year, 1, 1), arrangement.days[0].day))
    last = max(dt.date(year, 12, 31), arrangement.days[-1].day)
    report = ImportReport(year=year, applied=apply, was_confirmed=holiday_years.is_confirmed(year))
    try:
        if first <= last:
            # The year's sessions as the current calendar has them, so the comparison below shows
            # only what the arrangement changes, not sessions generated for the first time.
            generate_occurrences(first, last)
            db.session.flush()
        before = _snapshot(first, last)
        _write_overrides(arrangement, actor, report)
        holiday_years.confirm(year, actor, source=arrangement.source or "import")
        db.session.flush()
        reconcile_all(actor, from_day=first)
        if first <= last:
            generate_occurrences(first, last)  # court days the arrangement adds beyond the horizon
        db.session.flush()
        after = _snapshot(first, last)
        scheduled, cancelled = OccurrenceStatus.SCHEDULED, OccurrenceStatus.CANCELLED
        added = {
            i
            for i, (status, _) in after.items()
            if status is scheduled and (i not in before or before[i][0] is cancelled)
        }
        gone = {
            i for i, (status, _) in after.items() if status is cancelled and i in before and before[i][0] is scheduled
        }
        moved = {
            i
            for i, (status, start) in after.items()
            if status is scheduled and i in before and before[i][0] is scheduled and before[i][1] != start
        }
        report.added, report.cancelled = _describe(added), _describe(gone)
        report.moved = _describe(moved, before)
        if not report.was_confirmed:
            report.confirmed = _confirm_sessions(year, first, last, added | gone | moved)
        record(
            actor,
            "holidays.import",
            "holiday_year",
            year,
            source=arrangement.source,
            applied=apply,
            added=len(added),
            cancelled=len(gone),
            moved=len(moved),
            confirmed=report.confirmed,
        )
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
    if apply:
        db.session.commit()
    else:
        db.session.rollback()
    return report


def _confirm_sessions(year: int, first: dt.date, last: dt.date, already: set[int]) -> int:
    """Court and clinic sessions of a newly confirmed year: TENTATIVE -> CONFIRMED is a change that
    calendar clients must pick up, so SEQUENCE goes up (those changed above went up already)."""
    found = db.session.scalars(
        sa.select(Occurrence)
        .join(Programme)
        .where(
            Programme.kind.in_(holiday_years.CALENDAR_KINDS),
            Occurrence.rule_date.between(first, last),
            Occurrence.status == OccurrenceStatus.SCHEDULED,
            Occurrence.starts_at > utcnow(),
        )
    ).all()
    count, confirmed = 0, []
    for occurrence in found:
        if to_local(occurrence.starts_at).year != year:
            continue
        count += 1
        confirmed.append(occurrence.id)
        if occurrence.id not in already:
            occurrence.touch()
    # The hearings listed for those sessions were provisional with them.
    for notice in db.session.scalars(
        sa.select(HearingNotice).where(
            HearingNotice.occurrence_id.in_(confirmed), HearingNotice.status == OccurrenceStatus.SCHEDULED
        )
    ):
        notice.sequence = (notice.sequence or 0) + 1
        notice.last_modified = utcnow()
    return count


def confirm_by_hand(year: int, actor) -> int:
    """An admin confirms the year as the package and the overrides have it; returns the sessions confirmed."""
    if holiday_years.is_confirmed(year):
        return 0
    holiday_years.confirm(year, actor, source="confirmed by hand")
    first, last = max(local_today(), dt.date(year, 1, 1)), dt.date(year, 12, 31)
    count = _confirm_sessions(year, first, last, set()) if first <= last else 0
    record(actor, "holidays.confirm", "holiday_year", year, confirmed=count)
    db.session.commit()
    return count
