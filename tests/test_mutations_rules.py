"""Recurrence-rule and holiday-policy edges that mutation testing (tools/mutation.py rules) showed
undefended: rule parsing refusals by code, window ends, the next-ordinary-Sunday search and its limit."""

from __future__ import annotations

import datetime as dt

import pytest
from dateutil import rrule as du_rrule

from models import HolidayOverride, HolidayPolicy, OverrideKind, Series, SeriesPattern
from scheduler import rules
from scheduler.holiday_calendar import CalendarView

D = dt.date
JAN_1, DEC_31 = D(2026, 1, 1), D(2026, 12, 31)


def view(start=JAN_1, end=DEC_31, holidays=(), workdays=()) -> CalendarView:
    overrides = {day: HolidayOverride(day=day, kind=OverrideKind.HOLIDAY, reason="示例") for day in holidays}
    overrides |= {day: HolidayOverride(day=day, kind=OverrideKind.WORKDAY, reason="") for day in workdays}
    return CalendarView(start, end, overrides)


def series(
    rule="FREQ=MONTHLY;BYDAY=1SU", starts_on=JAN_1, ends_on=None, policy=HolidayPolicy.KEEP, pattern=SeriesPattern.RRULE
) -> Series:
    return Series(pattern=pattern, rrule=rule, starts_on=starts_on, ends_on=ends_on, holiday_policy=policy)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("rrule:freq=monthly;byday=2su", "FREQ=MONTHLY;BYDAY=2SU"),
        ("  RRULE: FREQ=WEEKLY  ", "FREQ=WEEKLY"),
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_rrule(text, expected):
    assert rules.normalise_rrule(text) == expected


@pytest.mark.parametrize(
    "text, code",
    [
        ("", "one_line"),
        ("RRULE:", "one_line"),
        ("FREQ=DAILY\nFREQ=WEEKLY", "one_line"),
        ("FREQ=DAILY;\nCOUNT=2", "one_line"),  # dateutil would call this "invalid": the newline is the reason
        ("EXDATE:20260101T000000", "one_line"),  # parses as a rule *set*, not one rule
        ("RDATE:20260101T000000", "one_line"),
        ("DTSTART:20260101T000000;FREQ=DAILY", "one_line"),
        ("FREQ=SOMETIMES", "invalid"),
        ("BYDAY=2SU", "invalid"),
        ("FREQ=HOURLY", "frequency"),
        ("FREQ=MINUTELY", "frequency"),
        ("FREQ=SECONDLY", "frequency"),
    ],
)
def test_unusable_rules_are_refused_with_a_code(text, code):
    with pytest.raises(rules.RuleError) as refused:
        rules.parse_rrule(text, D(2026, 1, 1))
    assert refused.value.code == code and str(refused.value)


@pytest.mark.parametrize("text", ["FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY;BYDAY=2SU", "FREQ=YEARLY"])
def test_usable_rules_start_at_midnight_of_the_first_day(text):
    rule = rules.parse_rrule(text, D(2026, 3, 4))
    assert isinstance(rule, du_rrule.rrule) and rule._dtstart == dt.datetime(2026, 3, 4)  # noqa: DTZ001 (dateutil's naive)


def test_refusals_carry_a_detail_for_the_log():
    for text in ("", "EXDATE:20260101T000000"):
        with pytest.raises(rules.RuleError) as refused:
            rules.parse_rrule(text, D(2026, 1, 1))
        assert str(refused.value) == "one RRULE line, e.g. FREQ=MONTHLY;BYDAY=2SU"
    with pytest.raises(rules.RuleError) as invalid:
        rules.parse_rrule("FREQ=SOMETIMES", D(2026, 1, 1))
    assert str(invalid.value).startswith("not a valid RRULE: ") and len(str(invalid.value)) > 20
    with pytest.raises(rules.RuleError) as frequency:
        rules.parse_rrule("FREQ=HOURLY", D(2026, 1, 1))
    assert str(frequency.value) == "the frequency must be DAILY, WEEKLY, MONTHLY or YEARLY"


def test_rule_errors_are_value_errors_with_their_detail():
    error = rules.RuleError("invalid", "detail text")
    assert isinstance(error, ValueError) and error.code == "invalid" and str(error) == "detail text"


def test_series_window_ends():
    s = series(starts_on=D(2026, 3, 1), ends_on=D(2026, 3, 31))
    assert rules.series_window(s, D(2026, 1, 1), D(2026, 12, 31)) == (D(2026, 3, 1), D(2026, 3, 31))
    assert rules.series_window(s, D(2026, 3, 10), D(2026, 3, 20)) == (D(2026, 3, 10), D(2026, 3, 20))
    assert rules.series_window(s, D(2026, 3, 31), D(2026, 4, 30)) == (D(2026, 3, 31), D(2026, 3, 31))
    assert rules.series_window(s, D(2026, 4, 1), D(2026, 4, 30)) is None
    assert rules.series_window(s, D(2026, 1, 1), D(2026, 2, 28)) is None
    open_ended = series(starts_on=D(2026, 3, 1), ends_on=None)
    assert rules.series_window(open_ended, D(2026, 1, 1), D(2027, 1, 1)) == (D(2026, 3, 1), D(2027, 1, 1))


def test_rule_dates_include_both_ends_of_the_window():
    daily = series("FREQ=DAILY", starts_on=D(2026, 3, 1))
    assert rules.rule_dates(daily, D(2026, 3, 2), D(2026, 3, 4), view()) == [
        D(2026, 3, 2),
        D(2026, 3, 3),
        D(2026, 3, 4),
    ]
    assert rules.rule_dates(series("FREQ=DAILY", starts_on=D(2026, 5, 1)), D(2026, 3, 1), D(2026, 3, 4), view()) == []


def test_court_day_series_take_the_calendar_within_the_window():
    court = series(None, starts_on=D(2026, 3, 1), ends_on=D(2026, 3, 8), pattern=SeriesPattern.COURT_DAYS)
    calendar = view(D(2026, 2, 1), D(2026, 3, 31))
    assert rules.rule_dates(court, D(2026, 1, 1), D(2026, 12, 31), calendar) == [
        D(2026, 3, 1),
        D(2026, 3, 7),
        D(2026, 3, 8),
    ]


def test_next_ordinary_sunday_from_each_weekday():
    calendar = view()
    assert rules.next_ordinary_sunday(D(2026, 3, 7), calendar) == D(2026, 3, 8)  # Saturday: the next day
    assert rules.next_ordinary_sunday(D(2026, 3, 8), calendar) == D(2026, 3, 15)  # Sunday: a week on
    assert rules.next_ordinary_sunday(D(2026, 3, 9), calendar) == D(2026, 3, 15)  # Monday


def test_next_ordinary_sunday_skips_holidays_and_makeup_sundays():
    assert rules.next_ordinary_sunday(D(2026, 3, 29), view()) == D(2026, 4, 12)  # 5 April is a holiday
    assert rules.next_ordinary_sunday(D(2026, 9, 13), view()) == D(2026, 9, 27)  # 20 Sept is worked


def test_next_ordinary_sunday_looks_five_weeks_and_no_further():
    sundays = [D(2027, 3, 7) + dt.timedelta(weeks=n) for n in range(6)]
    four_blocked = view(D(2027, 1, 1), D(2027, 12, 31), holidays=sundays[:4])
    assert rules.next_ordinary_sunday(D(2027, 3, 6), four_blocked) == sundays[4]  # the fifth week
    five_blocked = view(D(2027, 1, 1), D(2027, 12, 31), holidays=sundays[:5])
    assert rules.next_ordinary_sunday(D(2027, 3, 6), five_blocked) is None
    assert rules.CALENDAR_MARGIN > dt.timedelta(weeks=rules.NEXT_SUNDAY_LOOKAHEAD_WEEKS)


@pytest.mark.parametrize(
    "policy, day, held",
    [
        (HolidayPolicy.KEEP, D(2026, 4, 5), True),
        (HolidayPolicy.SKIP, D(2026, 4, 5), False),
        (HolidayPolicy.NEXT_SUNDAY, D(2026, 4, 12), True),
    ],
)
def test_the_holiday_policy_on_a_holiday_rule_date(policy, day, held):
    planned = rules.plan(series(policy=policy), D(2026, 4, 1), D(2026, 4, 30), view())
    assert len(planned) == 1
    (only,) = planned
    assert (only.rule_date, only.day, only.held, only.on_public_holiday) == (D(2026, 4, 5), day, held, True)
    assert only.holiday_zh == "清明节" and only.holiday_en == "Tomb-Sweeping Day"


def test_an_ordinary_rule_date_is_held_as_is_without_holiday_names():
    (only,) = rules.plan(series(policy=HolidayPolicy.SKIP), D(2026, 3, 1), D(2026, 3, 31), view())
    assert (only.rule_date, only.day, only.held, only.on_public_holiday) == (D(2026, 3, 1), D(2026, 3, 1), True, False)
    assert only.holiday_zh == "" and only.holiday_en == ""


def test_next_sunday_with_nowhere_to_go_is_not_held():
    sundays = [D(2027, 3, 7) + dt.timedelta(weeks=n) for n in range(7)]
    calendar = view(D(2027, 1, 1), D(2027, 12, 31), holidays=sundays)
    (only,) = rules.plan(
        series(policy=HolidayPolicy.NEXT_SUNDAY, starts_on=D(2027, 1, 1)), D(2027, 3, 1), D(2027, 3, 31), calendar
    )
    assert only.rule_date == D(2027, 3, 7) and only.held is False and only.day == D(2027, 3, 7)
    assert only.holiday_zh == "示例" and only.holiday_en == "示例"


def test_court_days_ignore_the_holiday_policy():
    court = series(
        None,
        starts_on=D(2026, 4, 1),
        ends_on=D(2026, 4, 6),
        pattern=SeriesPattern.COURT_DAYS,
        policy=HolidayPolicy.SKIP,
    )
    planned = rules.plan(court, D(2026, 4, 1), D(2026, 4, 30), view())
    assert [(p.day, p.held, p.on_public_holiday) for p in planned] == [
        (D(2026, 4, 4), True, False),
        (D(2026, 4, 5), True, True),
        (D(2026, 4, 6), True, True),
    ]


def test_a_rule_series_without_its_rule_is_refused_as_empty():
    with pytest.raises(rules.RuleError) as refused:
        rules.rule_dates(series(None), D(2026, 3, 1), D(2026, 3, 31), view())
    assert refused.value.code == "one_line"


def test_the_last_day_counts_until_its_last_minute():
    late = series("FREQ=DAILY;BYHOUR=23;BYMINUTE=30", starts_on=D(2026, 3, 1))
    assert rules.rule_dates(late, D(2026, 3, 2), D(2026, 3, 3), view()) == [D(2026, 3, 2), D(2026, 3, 3)]


def test_a_holiday_without_a_name_has_empty_names():
    calendar = CalendarView(
        JAN_1, DEC_31, {D(2026, 3, 1): HolidayOverride(day=D(2026, 3, 1), kind=OverrideKind.HOLIDAY, reason="")}
    )
    (only,) = rules.plan(series(), D(2026, 3, 1), D(2026, 3, 31), calendar)
    assert only.on_public_holiday and (only.holiday_zh, only.holiday_en) == ("", "")
