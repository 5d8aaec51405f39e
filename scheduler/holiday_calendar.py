"""China's calendar of public holidays and make-up working days, corrected by admin overrides.

The default comes from the `holidays` package: statutory days off (including the weekdays given
off in exchange for a worked weekend) and the make-up working days (调休上班日). The State
Council publishes each year's arrangement late in the previous year, so an admin can add a
holiday or a working day for any date (`HolidayOverride`); an override always wins.

Court days (holiday court, legal clinic) are every Saturday, Sunday and public holiday, except
make-up working days.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import holidays
import sqlalchemy as sa
from babel.dates import format_date

from models import HolidayOverride, OverrideKind, db

_LANGUAGES = {"zh_CN": "zh_CN", "zh": "zh_CN", "en": "en_US", "en_US": "en_US"}


@functools.lru_cache(maxsize=64)
def _china(year: int, language: str = "zh_CN") -> holidays.HolidayBase:
    """China's calendar for one year, built once per year and language."""
    return holidays.China(years=year, language=language)


_US_DATE = re.compile(r"\b(\d{2})/(\d{2})/(\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def localise_dates(name: str, language: str) -> str:
    """The package writes dates inside names as 01/04/2026 (en_US) or 2026-01-04 (zh_CN): write them
    as people of the page's language read them, "4 January 2026" / "2026年1月4日" (Babel)."""
    if language.startswith("en"):
        return _US_DATE.sub(
            lambda m: format_date(dt.date(int(m[3]), int(m[1]), int(m[2])), "d MMMM y", locale="en"), name
        )
    localised = _ISO_DATE.sub(
        lambda m: format_date(dt.date(int(m[1]), int(m[2]), int(m[3])), "y年M月d日", locale="zh_CN"), name
    )
    # Chinese sets no spaces around a date between characters: "由2026年1月4日调休".
    return re.sub(r"(?<=由) | (?=调休)", "", localised)


def _package_holiday_name(day: dt.date, language: str) -> str | None:
    name = _china(day.year, language).get(day)
    return localise_dates(name, language) if name else name


def _package_makeup_workday(day: dt.date) -> bool:
    # A make-up day is registered with the holiday it pays for, which may fall in the next year
    # (a Sunday worked in late December for a day off in January).
    return any(day in _china(year).weekend_workdays for year in (day.year, day.year + 1))


def is_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


@dataclass
class CalendarView:
    """The calendar for one date range with its overrides read in one query.

    Use `calendar_for(start, end)` for ranges; the one-date functions below build a view of one day.
    """

    start: dt.date
    end: dt.date
    overrides: dict[dt.date, HolidayOverride] = field(default_factory=dict)

    def _covers(self, day: dt.date) -> None:
        if not self.start <= day <= self.end:
            raise ValueError(f"{day} is outside the loaded range {self.start}..{self.end}")

    def is_public_holiday(self, day: dt.date) -> bool:
        self._covers(day)
        override = self.overrides.get(day)
        if override is not None:
            return override.kind is OverrideKind.HOLIDAY
        return _package_holiday_name(day, "zh_CN") is not None

    def is_makeup_workday(self, day: dt.date) -> bool:
        """A weekend day people work (调休上班), by the package or by an admin's working-day override."""
        self._covers(day)
        override = self.overrides.get(day)
        if override is not None:
            return override.kind is OverrideKind.WORKDAY and is_weekend(day)
        return _package_makeup_workday(day)

    def is_court_day(self, day: dt.date) -> bool:
        self._covers(day)
        override = self.overrides.get(day)
        if override is not None:
            return override.kind is OverrideKind.HOLIDAY
        if _package_makeup_workday(day):
            return False
        return is_weekend(day) or _package_holiday_name(day, "zh_CN") is not None

    def holiday_name(self, day: dt.date, lang: str = "zh_CN") -> str | None:
        self._covers(day)
        override = self.overrides.get(day)
        if override is not None:
            if override.kind is OverrideKind.WORKDAY:
                return None
            # The admin's reason names the day; fall back to the package's name if it has one.
            return override.reason or _package_holiday_name(day, _LANGUAGES.get(lang, "zh_CN")) or ""
        return _package_holiday_name(day, _LANGUAGES.get(lang, "zh_CN"))

    def days(self) -> Iterator[dt.date]:
        day = self.start
        while day <= self.end:
            yield day
            day += dt.timedelta(days=1)

    def court_days(self) -> list[dt.date]:
        return [day for day in self.days() if self.is_court_day(day)]


def calendar_for(start: dt.date, end: dt.date) -> CalendarView:
    """A calendar view of [start, end] with the overrides in that range read in one query."""
    if end < start:
        return CalendarView(start, end)
    rows = db.session.scalars(sa.select(HolidayOverride).where(HolidayOverride.day.between(start, end)))
    return CalendarView(start, end, {row.day: row for row in rows})


def is_public_holiday(day: dt.date) -> bool:
    return calendar_for(day, day).is_public_holiday(day)


def holiday_name(day: dt.date, lang: str = "zh_CN") -> str | None:
    """The holiday's name in Chinese (`zh_CN`) or English (`en`), or None on an ordinary day."""
    return calendar_for(day, day).holiday_name(day, lang)


def is_makeup_workday(day: dt.date) -> bool:
    return calendar_for(day, day).is_makeup_workday(day)


def is_court_day(day: dt.date) -> bool:
    """Does the holiday court (and the legal clinic) sit on this date?"""
    return calendar_for(day, day).is_court_day(day)


def court_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every court day in [start, end], in order."""
    return calendar_for(start, end).court_days()


@dataclass(frozen=True)
class PackageDay:
    day: dt.date
    kind: str  # "holiday" or "workday"
    name_zh: str
    name_en: str


def package_days(year: int) -> list[PackageDay]:
    """What the `holidays` package says about one year, for the admin's calendar page."""
    zh, en = _china(year, "zh_CN"), _china(year, "en_US")
    result = [PackageDay(day, "holiday", name, en.get(day, name)) for day, name in zh.items() if day.year == year]
    workdays = {day for y in (year, year + 1) for day in _china(y).weekend_workdays if day.year == year}
    result += [PackageDay(day, "workday", "", "") for day in workdays]  # the page names these
    return sorted(result, key=lambda item: item.day)
