"""Recurrence rules of series: which dates a rule produces, and the holiday policy's answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil import rrule as du_rrule

from models import HolidayPolicy, Series, SeriesPattern

from .holiday_calendar import CalendarView

# Generating by the second or minute could produce millions of rows from one typo.
ALLOWED_FREQUENCIES = {du_rrule.YEARLY, du_rrule.MONTHLY, du_rrule.WEEKLY, du_rrule.DAILY}
# How far past a holiday `next_sunday` may look: the longest break (Spring Festival, National Day)
# is nine days, so five weeks is ample; the calendar view must cover this margin.
NEXT_SUNDAY_LOOKAHEAD_WEEKS = 5
CALENDAR_MARGIN = dt.timedelta(weeks=NEXT_SUNDAY_LOOKAHEAD_WEEKS + 1)


class RuleError(ValueError):
    """A recurrence rule that cannot be used. `code` says why (forms translate it); the text is for logs."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code  # "one_line", "invalid" or "frequency"


def normalise_rrule(text: str) -> str:
    """`RRULE:FREQ=MONTHLY;BYDAY=2SU` or `FREQ=MONTHLY;BYDAY=2SU` -> the bare rule, upper case."""
    value = (text or "").strip()
    if value.upper().startswith("RRULE:"):
        value = value[6:]
    return value.strip().upper()


def parse_rrule(text: str, starts_on: dt.date) -> du_rrule.rrule:
    """Parse one RFC 5545 RRULE anchored at `starts_on`; refuse what generation cannot use."""
    value = normalise_rrule(text)
    if not value or "\n" in value or "DTSTART" in value:
        raise RuleError("one_line", "one RRULE line, e.g. FREQ=MONTHLY;BYDAY=2SU")
    try:
        rule = du_rrule.rrulestr(value, dtstart=dt.datetime.combine(starts_on, dt.time()))
    except (ValueError, TypeError) as exc:
        raise RuleError("invalid", f"not a valid RRULE: {exc}") from None
    if not isinstance(rule, du_rrule.rrule):
        raise RuleError("one_line", "one RRULE line, e.g. FREQ=MONTHLY;BYDAY=2SU")
    if rule._freq not in ALLOWED_FREQUENCIES:  # dateutil keeps the frequency only here
        raise RuleError("frequency", "the frequency must be DAILY, WEEKLY, MONTHLY or YEARLY")
    return rule


def series_window(series: Series, start: dt.date, until: dt.date) -> tuple[dt.date, dt.date] | None:
    """The part of [start, until] in which the series runs, or None."""
    lo = max(start, series.starts_on)
    hi = min(until, series.ends_on) if series.ends_on else until
    return (lo, hi) if lo <= hi else None


def rule_dates(series: Series, start: dt.date, until: dt.date, calendar: CalendarView) -> list[dt.date]:
    """The dates the series' rule produces in [start, until] (before any holiday policy)."""
    window = series_window(series, start, until)
    if window is None:
        return []
    lo, hi = window
    if series.pattern is SeriesPattern.COURT_DAYS:
        return [day for day in calendar.days() if lo <= day <= hi and calendar.is_court_day(day)]
    rule = parse_rrule(series.rrule or "", series.starts_on)
    found = rule.between(dt.datetime.combine(lo, dt.time()), dt.datetime.combine(hi, dt.time(23, 59)), inc=True)
    return [moment.date() for moment in found]


@dataclass(frozen=True)
class Planned:
    """What the rule and the holiday policy say about one rule date."""

    rule_date: dt.date
    day: dt.date  # when it actually takes place (differs under `next_sunday`)
    held: bool  # False: skipped because of a public holiday
    on_public_holiday: bool
    holiday_zh: str
    holiday_en: str


def next_ordinary_sunday(day: dt.date, calendar: CalendarView) -> dt.date | None:
    """The first Sunday after `day` that is neither a public holiday nor a make-up working day.

    A make-up working day is skipped too: people work that Sunday, so residents could not come.
    """
    candidate = day + dt.timedelta(days=(6 - day.weekday()) or 7)
    for _ in range(NEXT_SUNDAY_LOOKAHEAD_WEEKS):
        if not calendar.is_public_holiday(candidate) and not calendar.is_makeup_workday(candidate):
            return candidate
        candidate += dt.timedelta(days=7)
    return None


def plan(series: Series, start: dt.date, until: dt.date, calendar: CalendarView) -> list[Planned]:
    """Each rule date of the series in [start, until] with its holiday policy applied.

    `calendar` must cover [start, until + CALENDAR_MARGIN].
    """
    result = []
    for rule_date in rule_dates(series, start, until, calendar):
        holiday = calendar.is_public_holiday(rule_date)
        zh = (calendar.holiday_name(rule_date, "zh_CN") or "") if holiday else ""
        en = (calendar.holiday_name(rule_date, "en") or "") if holiday else ""
        day, held = rule_date, True
        # Court days exist because of holidays; the policy only concerns rules such as contact days.
        if holiday and series.pattern is SeriesPattern.RRULE:
            if series.holiday_policy is HolidayPolicy.SKIP:
                held = False
            elif series.holiday_policy is HolidayPolicy.NEXT_SUNDAY:
                moved = next_ordinary_sunday(rule_date, calendar)
                if moved is None:
                    held = False
                else:
                    day = moved
        result.append(Planned(rule_date, day, held, holiday, zh, en))
    return result
